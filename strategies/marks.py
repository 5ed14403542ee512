"""Marking an open position: leg mids and signed deltas from current quotes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import numpy as np

from config.enums import PricingModel, Right
from config.instruments import Contract, instrument
from config.model import Config
from execution.types import Position, Quote
from strategies.quotes import quote_exclusions, solve_greeks, year_fraction
from strategies.types import LegMark, PositionMark


def mark_position(position: Position, quotes: Mapping[Contract, Quote | None],
                  underlying: Mapping[Contract, float | None], now: datetime,
                  cfg: Config) -> PositionMark:
    """Mark ``position`` per unit at the legs' mids (see :func:`mark_positions`)."""
    return mark_positions((position,), quotes, underlying, now, cfg)[position.position_id]


def mark_positions(positions: Sequence[Position], quotes: Mapping[Contract, Quote | None],
                   underlying: Mapping[Contract, float | None], now: datetime,
                   cfg: Config,
                   need_delta: Callable[[Position], bool] | None = None
                   ) -> dict[str, PositionMark]:
    """Mark every position per unit at the legs' mids, in one greeks call per pricing model.

    ``quotes`` and ``underlying`` are keyed by leg contract (``underlying`` gives the price of the
    leg's underlying: the futures contract for a futures option). Each quote is validated as in
    SPEC §11 (a zero bid is allowed: the position may hold a worthless option); the implied vol is
    solved from the mid and the signed delta computed with :mod:`greeks`.

    A mark is ``valid=False`` when any of its legs has no usable quote, no underlying price, or
    an implied vol that cannot be solved (its delta is then NaN); ``net_mid`` = Σ ratio × mid in
    points (NaN when a leg has no mid). With ``need_delta`` given, only positions for which it is
    true get implied vols and deltas (the others' deltas are NaN and their validity rests on the
    quotes alone): an exit pass then solves vols only where an exit rule reads a delta.
    """
    legs = [leg for p in positions for leg in p.legs]
    wants = [need_delta is None or need_delta(p) for p in positions]
    want_leg = np.array([w for p, w in zip(positions, wants, strict=True) for _ in p.legs],
                        dtype=np.bool_)
    n = len(legs)
    bid = np.full(n, np.nan)
    ask = np.full(n, np.nan)
    qtime = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    und = np.full(n, np.nan)
    strike = np.zeros(n)
    t = np.zeros(n)
    is_call = np.zeros(n, dtype=np.bool_)
    models: list[PricingModel | None] = []
    for i, leg in enumerate(legs):
        c = leg.contract
        q = quotes.get(c)
        if q is not None:
            bid[i], ask[i] = q.bid, q.ask
            qtime[i] = np.datetime64(q.time, "s")
        u = underlying.get(c)
        if u is not None:
            und[i] = u
        strike[i] = c.strike
        t[i] = year_fraction(c.expiry, now)
        is_call[i] = c.right is Right.CALL
        models.append(_model(c.root) if c.right is not None else None)
    bad, _ = quote_exclusions(bid, ask, qtime, now, cfg.data)
    with np.errstate(invalid="ignore"):
        bad |= ~(np.isfinite(und) & (und > 0.0))
    mid = 0.5 * (bid + ask)
    delta = np.full(n, np.nan)
    for i, leg in enumerate(legs):
        if leg.contract.right is None and not bad[i]:
            delta[i] = 1.0  # an underlying leg: delta one per unit of the underlying
    for model in (PricingModel.BSM, PricingModel.BLACK76):
        of_model = np.array([m is model for m in models], dtype=np.bool_).reshape(n)
        idx = np.flatnonzero(~bad & want_leg.reshape(n) & of_model)
        if idx.size:
            g = solve_greeks(model, mid[idx], und[idx], strike[idx], t[idx],
                             cfg.risk_free_rate, is_call[idx])
            delta[idx] = g.delta
    out: dict[str, PositionMark] = {}
    bid_l, ask_l, mid_l = bid.tolist(), ask.tolist(), mid.tolist()
    delta_l, und_l, bad_l = delta.tolist(), und.tolist(), bad.tolist()
    start = 0
    for p, want in zip(positions, wants, strict=True):
        k = len(p.legs)
        rows = range(start, start + k)
        start += k
        ok = k > 0 and not any(bad_l[i] for i in rows) and (
            not want or all(math.isfinite(delta_l[i]) for i in rows))
        leg_marks = tuple(LegMark(leg.contract, leg.ratio, bid_l[i], ask_l[i], delta_l[i])
                          for i, leg in zip(rows, p.legs, strict=True))
        net = math.fsum(leg.ratio * mid_l[i] for i, leg in zip(rows, p.legs, strict=True)) \
            if k else math.nan
        und_price = und_l[rows[0]] if k else math.nan
        out[p.position_id] = PositionMark(p.position_id, leg_marks, net, und_price, ok, now)
    return out


def legs_iv(contracts: Sequence[Contract], quotes: Mapping[Contract, Quote | None],
            underlying: Mapping[Contract, float | None], now: datetime,
            cfg: Config) -> dict[Contract, float]:
    """Implied vols of many option contracts from their mids in one greeks call per model.

    Contracts without a usable quote (SPEC §11; a zero bid is allowed), a positive underlying
    price, or a solvable vol are left out of the result.
    """
    opts = [c for c in dict.fromkeys(contracts) if c.right is not None]
    n = len(opts)
    bid = np.full(n, np.nan)
    ask = np.full(n, np.nan)
    qtime = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    und = np.full(n, np.nan)
    for i, c in enumerate(opts):
        q = quotes.get(c)
        if q is not None:
            bid[i], ask[i] = q.bid, q.ask
            qtime[i] = np.datetime64(q.time, "s")
        u = underlying.get(c)
        if u is not None:
            und[i] = u
    bad, _ = quote_exclusions(bid, ask, qtime, now, cfg.data)
    with np.errstate(invalid="ignore"):
        bad |= ~(np.isfinite(und) & (und > 0.0))
    models = [_model(c.root) for c in opts]
    strike = np.array([c.strike for c in opts], dtype=np.float64)
    t = np.array([year_fraction(c.expiry, now) for c in opts], dtype=np.float64)
    is_call = np.array([c.right is Right.CALL for c in opts], dtype=np.bool_)
    mid = 0.5 * (bid + ask)
    out: dict[Contract, float] = {}
    for model in (PricingModel.BSM, PricingModel.BLACK76):
        idx = np.flatnonzero(~bad & np.array([m is model for m in models], dtype=np.bool_))
        if idx.size:
            g = solve_greeks(model, mid[idx], und[idx], strike[idx], t[idx],
                             cfg.risk_free_rate, is_call[idx])
            for j, iv in zip(idx, g.iv, strict=True):
                if math.isfinite(iv):
                    out[opts[int(j)]] = float(iv)
    return out


def leg_iv(contract: Contract, quote: Quote, underlying: float, now: datetime,
           cfg: Config) -> float | None:
    """Implied vol (annualised fraction) of ``contract`` from ``quote``'s mid, or None when the
    quote is unusable (SPEC §11; a zero bid is allowed), the underlying price is not positive,
    the contract is not an option, or no vol reproduces the mid."""
    if contract.right is None or not (math.isfinite(underlying) and underlying > 0):
        return None
    model = _model(contract.root)
    if model is None:
        return None
    bad, _ = quote_exclusions(np.array([quote.bid]), np.array([quote.ask]),
                              np.array([np.datetime64(quote.time, "s")]), now, cfg.data)
    if bad[0]:
        return None
    g = solve_greeks(model, np.array([quote.mid]), np.array([underlying]),
                     np.array([contract.strike]), np.array([year_fraction(contract.expiry, now)]),
                     cfg.risk_free_rate, np.array([contract.right is Right.CALL]))
    iv = float(g.iv[0])
    return iv if math.isfinite(iv) else None


def _model(root: str) -> PricingModel | None:
    try:
        return instrument(root).pricing_model
    except KeyError:
        return None
