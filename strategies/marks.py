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
    quote_ok,
    solve_greeks,
    solve_iv,
    year_fraction,
)
from strategies.types import LegMark, PositionMark


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


def _micros(when: datetime) -> int:
    """Microseconds from the epoch (naive times)."""
    return (when - _EPOCH_DT) // _MICROSECOND


class MarkPlan:
    """The leg layout of a fixed set of positions, for marking them again and again.

    Positions are immutable (the ledger replaces one that changes), so while the book holds the
    same position objects everything but the quotes stays the same: the legs' contracts (each
    looked up once, in :attr:`contracts` order), strikes, rights, pricing models, close-of-expiry
    times, ratios, and which legs get implied vols (``need_delta``, asked once per position).
    :meth:`mark` gives exactly what :func:`mark_positions` gives for the same quotes: the quotes
    of a book are few, so they are checked one by one (:func:`strategies.quotes.quote_ok`) and
    only the implied vols are solved on arrays.
    """

    __slots__ = ("_close_us", "_contracts", "_is_call", "_leg_contract", "_ratios", "_solve",
                 "_spans", "_strike", "_underlying_legs", "contracts", "positions")

    def __init__(self, positions: Sequence[Position],
                 need_delta: Callable[[Position], bool] | None = None) -> None:
        self.positions: tuple[Position, ...] = tuple(positions)
        legs = [leg for p in self.positions for leg in p.legs]
        index: dict[Contract, int] = {}
        self._leg_contract = [index.setdefault(leg.contract, len(index)) for leg in legs]
        self.contracts: tuple[Contract, ...] = tuple(index)
        """Every leg's contract once, in first-seen order: the order :meth:`mark` reads quotes."""
        n = len(legs)
        self._contracts = [leg.contract for leg in legs]
        self._ratios = [leg.ratio for leg in legs]
        self._strike = np.array([leg.contract.strike for leg in legs],
                                dtype=np.float64).reshape(n)
        self._is_call = np.array([leg.contract.right is Right.CALL for leg in legs],
                                 dtype=np.bool_).reshape(n)
        self._close_us = np.array(
            [_micros(datetime.combine(leg.contract.expiry, EXPIRY_CLOCK)) for leg in legs],
            dtype=np.int64).reshape(n)
        self._underlying_legs = [i for i, leg in enumerate(legs) if leg.contract.right is None]
        # Per position: its leg rows [start, stop), whether it wants deltas, and the contract
        # row of its first leg.
        self._spans: list[tuple[int, int, bool, int]] = []
        want_leg: list[bool] = []
        start = 0
        for p in self.positions:
            want = need_delta is None or need_delta(p)
            stop = start + len(p.legs)
            self._spans.append((start, stop, want,
                                self._leg_contract[start] if stop > start else -1))
            want_leg.extend([want] * len(p.legs))
            start = stop
        models = [_model(leg.contract.root) if leg.contract.right is not None else None
                  for leg in legs]
        # Legs whose implied vols are solved, one ascending list per pricing model.
        self._solve: list[tuple[PricingModel, list[int]]] = []
        for model in (PricingModel.BSM, PricingModel.BLACK76):
            rows = [i for i in range(n) if want_leg[i] and models[i] is model]
            if rows:
                self._solve.append((model, rows))

    def same_book(self, positions: Sequence[Position]) -> bool:
        """Whether ``positions`` are the very position objects this plan was built for."""
        mine = self.positions
        return len(positions) == len(mine) and all(
            a is b for a, b in zip(positions, mine, strict=True))

    def mark(self, quotes: Sequence[Quote | None], underlying: Sequence[float | None],
             now: datetime, cfg: Config) -> dict[str, PositionMark]:
        """Marks keyed by position id; ``quotes[i]`` and ``underlying[i]`` belong to
        ``contracts[i]`` (see :func:`mark_positions`)."""
        data = cfg.data
        now_s = int(np.datetime64(now, "s").astype(np.int64))
        seconds: dict[datetime, int] = {}  # quotes of one pass mostly share their time
        bid_c: list[float] = []
        ask_c: list[float] = []
        mid_c: list[float] = []
        und_c: list[float] = []
        ok_c: list[bool] = []
        for q, u in zip(quotes, underlying, strict=True):
            if q is None:
                bid = ask = math.nan
                ok = False
            else:
                bid, ask = float(q.bid), float(q.ask)
                s = seconds.get(q.time)
                if s is None:
                    s = seconds[q.time] = int(np.datetime64(q.time, "s").astype(np.int64))
                ok = quote_ok(bid, ask, now_s - s, data)
            und = math.nan if u is None else float(u)
            bid_c.append(bid)
            ask_c.append(ask)
            mid_c.append(0.5 * (bid + ask))
            und_c.append(und)
            ok_c.append(ok and math.isfinite(und) and und > 0.0)
        lc = self._leg_contract
        n = len(lc)
        delta = [math.nan] * n
        for i in self._underlying_legs:
            if ok_c[lc[i]]:
                delta[i] = 1.0  # an underlying leg: delta one per unit of the underlying
        if self._solve:
            now_us = _micros(now)
            for model, rows in self._solve:
                idx = [i for i in rows if ok_c[lc[i]]]
                if idx:
                    at = np.array(idx, dtype=np.intp)
                    t = np.maximum((self._close_us[at] - now_us).astype(np.float64)
                                   / _US_PER_YEAR, MIN_T_YEARS)
                    g = solve_greeks(model, np.array([mid_c[lc[i]] for i in idx]),
                                     np.array([und_c[lc[i]] for i in idx]), self._strike[at],
                                     t, cfg.risk_free_rate, self._is_call[at])
                    for i, d in zip(idx, g.delta.tolist(), strict=True):
                        delta[i] = d
        leg_marks = list(map(LegMark, self._contracts, self._ratios, [bid_c[c] for c in lc],
                             [ask_c[c] for c in lc], delta))
        leg_ok = [ok_c[c] for c in lc]
        out: dict[str, PositionMark] = {}
        for p, (start, stop, want, first) in zip(self.positions, self._spans, strict=True):
            if start == stop:
                out[p.position_id] = PositionMark(p.position_id, (), math.nan, math.nan, False,
                                                  now)
                continue
            # Invalid when a leg is unusable or, where deltas are wanted, has none.
            ok = False not in leg_ok[start:stop] and (
                not want or all(math.isfinite(d) for d in delta[start:stop]))
            if stop - start == 1:  # fsum of one value is the value, with -0.0 as 0.0
                net = self._ratios[start] * mid_c[first] + 0.0
            else:
                net = math.fsum([r * mid_c[c] for r, c in zip(self._ratios[start:stop],
                                                             lc[start:stop], strict=True)])
            out[p.position_id] = PositionMark(p.position_id, tuple(leg_marks[start:stop]), net,
                                              und_c[first], ok, now)
        return out


def legs_iv(contracts: Sequence[Contract], quotes: Mapping[Contract, Quote | None],
            underlying: Mapping[Contract, float | None], now: datetime,
            cfg: Config) -> dict[Contract, float]:
    """Implied vols of many option contracts from their mids in one implied-vol solve per model.

    Contracts without a usable quote (SPEC §11; a zero bid is allowed), a positive underlying
    price, or a solvable vol are left out of the result.
    """
    data = cfg.data
    now_s = int(np.datetime64(now, "s").astype(np.int64))
    seconds: dict[datetime, int] = {}
    usable: dict[PricingModel, list[tuple[Contract, float, float]]] = {
        PricingModel.BSM: [], PricingModel.BLACK76: []}
    for c in dict.fromkeys(contracts):
        if c.right is None:
            continue
        q = quotes.get(c)
        if q is None:
            continue
        bid, ask = float(q.bid), float(q.ask)
        s = seconds.get(q.time)
        if s is None:
            s = seconds[q.time] = int(np.datetime64(q.time, "s").astype(np.int64))
        u = underlying.get(c)
        und = math.nan if u is None else float(u)
        model = _model(c.root)
        if model is not None and quote_ok(bid, ask, now_s - s, data) and math.isfinite(und) \
                and und > 0.0:
            usable[model].append((c, 0.5 * (bid + ask), und))
    out: dict[Contract, float] = {}
    for model, rows in usable.items():
        if rows:
            cs = [c for c, _, _ in rows]
            ivs = solve_iv(model, np.array([mid for _, mid, _ in rows], dtype=np.float64),
                           np.array([und for _, _, und in rows], dtype=np.float64),
                           np.array([c.strike for c in cs], dtype=np.float64),
                           np.array([year_fraction(c.expiry, now) for c in cs],
                                    dtype=np.float64),
                           cfg.risk_free_rate,
                           np.array([c.right is Right.CALL for c in cs], dtype=np.bool_))
            for c, iv in zip(cs, ivs.tolist(), strict=True):
                if math.isfinite(iv):
                    out[c] = iv
    return out


def _model(root: str) -> PricingModel | None:
    try:
        return instrument(root).pricing_model
    except KeyError:
        return None
