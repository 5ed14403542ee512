"""Marking an open position: leg mids and signed deltas from current quotes."""

from __future__ import annotations

import math
from collections.abc import Mapping
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
    """Mark ``position`` per unit at the legs' mids.

    ``quotes`` and ``underlying`` are keyed by leg contract (``underlying`` gives the price of the
    leg's underlying: the futures contract for a futures option). Each quote is validated as in
    SPEC §11 (a zero bid is allowed: the position may hold a worthless option); the implied vol is
    solved from the mid and the signed delta computed with :mod:`greeks`.

    The mark is ``valid=False`` when any leg has no usable quote, no underlying price, or an
    implied vol that cannot be solved (its delta is then NaN); ``net_mid`` = Σ ratio × mid in
    points (NaN when a leg has no mid).
    """
    legs = position.legs
    n = len(legs)
    bid = np.full(n, np.nan)
    ask = np.full(n, np.nan)
    qtime = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    und = np.full(n, np.nan)
    for i, leg in enumerate(legs):
        q = quotes.get(leg.contract)
        if q is not None:
            bid[i], ask[i] = q.bid, q.ask
            qtime[i] = np.datetime64(q.time, "s")
        u = underlying.get(leg.contract)
        if u is not None:
            und[i] = u
    bad, _ = quote_exclusions(bid, ask, qtime, now, cfg.data)
    with np.errstate(invalid="ignore"):
        bad |= ~(np.isfinite(und) & (und > 0.0))
    mid = 0.5 * (bid + ask)
    delta = np.full(n, np.nan)
    for i, leg in enumerate(legs):
        c = leg.contract
        if bad[i] or c.right is None:
            if c.right is None and not bad[i]:
                delta[i] = 1.0  # an underlying leg: delta one per unit of the underlying
            continue
        model = _model(c.root)
        if model is None:
            continue
        t = np.array([year_fraction(c.expiry, now)])
        g = solve_greeks(model, mid[i:i + 1], und[i:i + 1], np.array([c.strike]), t,
                         cfg.risk_free_rate, np.array([c.right is Right.CALL]))
        delta[i] = g.delta[0]
    valid = n > 0 and not bool(bad.any()) and bool(np.isfinite(delta).all())
    leg_marks = tuple(
        LegMark(leg.contract, leg.ratio, float(bid[i]), float(ask[i]), float(delta[i]))
        for i, leg in enumerate(legs)
    )
    net = float(sum(leg.ratio * float(mid[i]) for i, leg in enumerate(legs))) if n else math.nan
    und_price = float(und[0]) if n else math.nan
    return PositionMark(position.position_id, leg_marks, net, und_price, valid, now)


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
