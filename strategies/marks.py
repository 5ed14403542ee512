"""Marking an open position: leg mids and signed deltas from current quotes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from config.enums import PricingModel, Right
from config.instruments import Contract, instrument
from config.model import Config
from execution.types import Position, Quote
from strategies.quotes import (
    EXPIRY_CLOCK,
    MIN_T_YEARS,
    quote_bad,
    quote_exclusions,
    solve_greeks,
    year_fraction,
)
from strategies.types import BoolArray, LegMark, PositionMark


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

    Equal to ``MarkPlan(positions, need_delta).mark(...)`` with the quotes of
    :attr:`MarkPlan.contracts`; a caller marking the same book repeatedly keeps the plan.
    """
    plan = MarkPlan(positions, need_delta)
    return plan.mark([quotes.get(c) for c in plan.contracts],
                     [underlying.get(c) for c in plan.contracts], now, cfg)


_EPOCH_DT = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_US_PER_YEAR = float(timedelta(days=365) // _MICROSECOND)
_NAT = np.iinfo(np.int64).min  # int64 value of datetime64 NaT


def _micros(when: datetime) -> int:
    """Microseconds from the epoch (naive times)."""
    return (when - _EPOCH_DT) // _MICROSECOND


class MarkPlan:
    """The leg layout of a fixed set of positions, for marking them again and again.

    Positions are immutable (the ledger replaces one that changes), so while the book holds the
    same position objects everything but the quotes stays the same: the legs' contracts (each
    looked up once, in :attr:`contracts` order), strikes, rights, pricing models, close-of-expiry
    times, ratios, and which legs get implied vols (``need_delta``, asked once per position).
    :meth:`mark` gives exactly what :func:`mark_positions` gives for the same quotes.
    """

    __slots__ = ("_bounds", "_close_us", "_contracts", "_first_contract", "_is_call",
                 "_leg_contract", "_ratio", "_ratios", "_segment", "_solve", "_starts",
                 "_strike", "_underlying_legs", "_want_leg", "contracts", "positions")

    def __init__(self, positions: Sequence[Position],
                 need_delta: Callable[[Position], bool] | None = None) -> None:
        self.positions: tuple[Position, ...] = tuple(positions)
        legs = [leg for p in self.positions for leg in p.legs]
        index: dict[Contract, int] = {}
        leg_contract = [index.setdefault(leg.contract, len(index)) for leg in legs]
        self.contracts: tuple[Contract, ...] = tuple(index)
        """Every leg's contract once, in first-seen order: the order :meth:`mark` reads quotes."""
        n = len(legs)
        self._leg_contract = np.array(leg_contract, dtype=np.intp).reshape(n)
        wants = [need_delta is None or need_delta(p) for p in self.positions]
        self._want_leg = np.array([w for p, w in zip(self.positions, wants, strict=True)
                                   for _ in p.legs], dtype=np.bool_).reshape(n)
        self._strike = np.array([leg.contract.strike for leg in legs],
                                dtype=np.float64).reshape(n)
        self._is_call = np.array([leg.contract.right is Right.CALL for leg in legs],
                                 dtype=np.bool_).reshape(n)
        self._close_us = np.array(
            [_micros(datetime.combine(leg.contract.expiry, EXPIRY_CLOCK)) for leg in legs],
            dtype=np.int64).reshape(n)
        self._ratio = np.array([leg.ratio for leg in legs], dtype=np.float64).reshape(n)
        self._contracts = [leg.contract for leg in legs]
        self._ratios = [leg.ratio for leg in legs]
        models = [_model(leg.contract.root) if leg.contract.right is not None else None
                  for leg in legs]
        self._solve: list[tuple[PricingModel, BoolArray]] = []
        for model in (PricingModel.BSM, PricingModel.BLACK76):
            rows = self._want_leg & np.array([m is model for m in models],
                                             dtype=np.bool_).reshape(n)
            if rows.any():
                self._solve.append((model, rows))
        self._underlying_legs = [i for i, leg in enumerate(legs) if leg.contract.right is None]
        # Per position: leg rows [start, stop), its segment among the positions with legs and
        # the contract row of its first leg.
        self._bounds: list[tuple[int, int]] = []
        self._segment: list[int] = []
        self._first_contract: list[int] = []
        starts: list[int] = []
        start = 0
        for p in self.positions:
            stop = start + len(p.legs)
            self._bounds.append((start, stop))
            self._segment.append(len(starts))
            self._first_contract.append(leg_contract[start] if stop > start else -1)
            if stop > start:
                starts.append(start)
            start = stop
        self._starts = np.array(starts, dtype=np.intp)

    def same_book(self, positions: Sequence[Position]) -> bool:
        """Whether ``positions`` are the very position objects this plan was built for."""
        mine = self.positions
        return len(positions) == len(mine) and all(
            a is b for a, b in zip(positions, mine, strict=True))

    def mark(self, quotes: Sequence[Quote | None], underlying: Sequence[float | None],
             now: datetime, cfg: Config) -> dict[str, PositionMark]:
        """Marks keyed by position id; ``quotes[i]`` and ``underlying[i]`` belong to
        ``contracts[i]`` (see :func:`mark_positions`)."""
        m = len(self.contracts)
        bid_c = [math.nan] * m
        ask_c = [math.nan] * m
        qt_c = [_NAT] * m
        seconds: dict[datetime, int] = {}  # quotes of one pass mostly share their time
        for i, q in enumerate(quotes):
            if q is not None:
                bid_c[i] = q.bid
                ask_c[i] = q.ask
                s = seconds.get(q.time)
                if s is None:
                    s = seconds[q.time] = int(np.datetime64(q.time, "s").astype(np.int64))
                qt_c[i] = s
        und_c = [math.nan if u is None else u for u in underlying]
        bid_a = np.array(bid_c, dtype=np.float64).reshape(m)
        ask_a = np.array(ask_c, dtype=np.float64).reshape(m)
        und_a = np.array(und_c, dtype=np.float64).reshape(m)
        qt_a = np.array(qt_c, dtype=np.int64).reshape(m).view("datetime64[s]")
        bad_c = quote_bad(bid_a, ask_a, qt_a, now, cfg.data) | ~(np.isfinite(und_a)
                                                                   & (und_a > 0.0))
        mid_c = 0.5 * (bid_a + ask_a)
        lc = self._leg_contract
        bad = bad_c[lc]
        n = int(lc.shape[0])
        delta = np.full(n, np.nan)
        for i in self._underlying_legs:
            if not bad[i]:
                delta[i] = 1.0  # an underlying leg: delta one per unit of the underlying
        if self._solve:
            mid = mid_c[lc]
            und = und_a[lc]
            t = np.maximum((self._close_us - _micros(now)).astype(np.float64) / _US_PER_YEAR,
                           MIN_T_YEARS)
            for model, rows in self._solve:
                idx = np.flatnonzero(rows & ~bad)
                if idx.size:
                    g = solve_greeks(model, mid[idx], und[idx], self._strike[idx], t[idx],
                                     cfg.risk_free_rate, self._is_call[idx])
                    delta[idx] = g.delta
        # A position is invalid when a leg is unusable or, where deltas are wanted, has none.
        leg_fail = bad | (self._want_leg & ~np.isfinite(delta))
        fail_l = np.logical_or.reduceat(leg_fail, self._starts).tolist() if n else []
        leg_marks = list(map(LegMark, self._contracts, self._ratios, bid_a[lc].tolist(),
                             ask_a[lc].tolist(), delta.tolist()))
        und_l = und_a.tolist()
        value_l = (self._ratio * mid_c[lc]).tolist()
        out: dict[str, PositionMark] = {}
        for p, (start, stop), seg, first in zip(self.positions, self._bounds, self._segment,
                                                self._first_contract, strict=True):
            if start == stop:
                out[p.position_id] = PositionMark(p.position_id, (), math.nan, math.nan, False,
                                                  now)
                continue
            # fsum of one value is the value, with -0.0 as 0.0
            net = value_l[start] + 0.0 if stop - start == 1 else math.fsum(value_l[start:stop])
            out[p.position_id] = PositionMark(p.position_id, tuple(leg_marks[start:stop]), net,
                                              und_l[first], not fail_l[seg], now)
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
