"""Marking an open position: leg mids and signed deltas from current quotes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Final

import numpy as np

from config.enums import PricingModel, Right
from config.instruments import Contract, instrument
from config.model import Config
from execution.types import Position, Quote
from greeks import black76_price_one
from strategies.quotes import (
    EXPIRY_CLOCK,
    MIN_T_YEARS,
    quote_ok,
    solve_greeks,
    solve_iv,
    year_fraction,
)
from strategies.types import LegMark, PositionMark

DeltaLevel = Callable[[Position], float | None]
"""Per position, the |delta| from which its legs' deltas matter: None for none (no deltas are
solved), 0.0 for every delta."""


_EPOCH_DT = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)
_US_PER_YEAR = float(timedelta(days=365) // _MICROSECOND)


def _seconds(when: datetime) -> int:
    """Whole seconds from the epoch (naive times), rounded down as ``datetime64[s]`` does."""
    return (when - _EPOCH_DT) // _SECOND


def _micros(when: datetime) -> int:
    """Microseconds from the epoch (naive times)."""
    return (when - _EPOCH_DT) // _MICROSECOND


class MarkPlan:
    """Marks of a fixed set of positions, per unit at the legs' mids, again and again.

    Each quote is validated as in SPEC §11 (a zero bid is allowed: the position may hold a
    worthless option; the quotes of a book are few, so they are checked one by one with
    :func:`strategies.quotes.quote_ok`); implied vols are solved from the mids and signed deltas
    computed with :mod:`greeks`, one array call per pricing model. A mark is ``valid=False``
    when any of its legs has no usable quote, no underlying price, or an implied vol that cannot
    be solved (its delta is then NaN); ``net_mid`` = Σ ratio × mid in points.

    With ``delta_level`` given, a position's legs get deltas as far as an exit rule can read
    them (an exit pass solves vols only where a rule compares a delta with a level):

    - level None: no leg's vol is solved; deltas are NaN and validity rests on the quotes alone;
    - level L: every delta with |delta| >= L is solved exactly. A leg whose |delta| is below L
      whatever its vol (the threshold-price screen, :func:`_below_level`) keeps a NaN delta; it
      is valid when its mid lies inside the no-arbitrage bounds, i.e. some vol reproduces it.
      Level 0.0 solves every delta, as does no ``delta_level`` at all.

    Positions are immutable (the ledger replaces one that changes), so while the book holds the
    same position objects everything but the quotes stays the same: the legs' contracts (each
    looked up once, in :attr:`contracts` order), strikes, rights, pricing models, close-of-expiry
    times, ratios, and the delta level of each position (asked once per position).
    """

    __slots__ = ("_close_us", "_contracts", "_is_call", "_leg_contract", "_level", "_ratios",
                 "_solve", "_spans", "_strike", "_underlying_legs", "contracts", "positions")

    def __init__(self, positions: Sequence[Position],
                 delta_level: DeltaLevel | None = None) -> None:
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
        # Per position: its id, leg rows [start, stop), whether it wants deltas, the contract
        # row of its first leg and (ratio, contract row) per leg; per leg, its position's delta
        # level (0.0: solve exactly).
        self._spans: list[tuple[str, int, int, bool, int, tuple[tuple[int, int], ...]]] = []
        self._level: list[float] = []
        wanted: list[bool] = []
        start = 0
        for p in self.positions:
            level = 0.0 if delta_level is None else delta_level(p)
            stop = start + len(p.legs)
            pairs = tuple(zip(self._ratios[start:stop], self._leg_contract[start:stop],
                              strict=True))
            self._spans.append((p.position_id, start, stop, level is not None,
                                self._leg_contract[start] if stop > start else -1, pairs))
            self._level.extend([level or 0.0] * len(p.legs))
            wanted.extend([level is not None] * len(p.legs))
            start = stop
        models = [_model(leg.contract.root) if leg.contract.right is not None else None
                  for leg in legs]
        # Legs whose deltas are wanted, one ascending list per pricing model.
        self._solve: list[tuple[PricingModel, list[int]]] = []
        for model in (PricingModel.BSM, PricingModel.BLACK76):
            rows = [i for i in range(n) if wanted[i] and models[i] is model]
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
        ``contracts[i]`` (``underlying`` is the price of the leg's underlying: the futures
        contract for a futures option)."""
        data = cfg.data
        now_s = _seconds(now)
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
                    s = seconds[q.time] = _seconds(q.time)
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
        settled = [False] * n  # delta solved, or screened below its position's level
        for i in self._underlying_legs:
            if ok_c[lc[i]]:
                delta[i] = 1.0  # an underlying leg: delta one per unit of the underlying
                settled[i] = True
        if self._solve:
            now_us = _micros(now)
            r = cfg.risk_free_rate
            for model, rows in self._solve:
                idx = [i for i in rows if ok_c[lc[i]]]
                if not idx:
                    continue
                at = np.array(idx, dtype=np.intp)
                t = np.maximum((self._close_us[at] - now_us).astype(np.float64)
                               / _US_PER_YEAR, MIN_T_YEARS)
                mids = [mid_c[lc[i]] for i in idx]
                unds = [und_c[lc[i]] for i in idx]
                levels = [self._level[i] for i in idx]
                if any(levels):
                    below = _below_level(model, levels, mids, unds, self._strike[at].tolist(),
                                         t.tolist(), r, self._is_call[at].tolist())
                    if any(below):
                        keep = [j for j, b in enumerate(below) if not b]
                        for i, b in zip(idx, below, strict=True):
                            settled[i] = b
                        idx = [idx[j] for j in keep]
                        at, t = at[keep], t[keep]
                        mids = [mids[j] for j in keep]
                        unds = [unds[j] for j in keep]
                if idx:
                    g = solve_greeks(model, np.array(mids), np.array(unds), self._strike[at], t,
                                     r, self._is_call[at])
                    for i, d in zip(idx, g.delta.tolist(), strict=True):
                        delta[i] = d
                        settled[i] = math.isfinite(d)
        leg_marks = list(map(LegMark, self._contracts, self._ratios, [bid_c[c] for c in lc],
                             [ask_c[c] for c in lc], delta))
        leg_ok = [ok_c[c] for c in lc]
        out: dict[str, PositionMark] = {}
        for pid, start, stop, want, first, pairs in self._spans:
            if start == stop:
                out[pid] = PositionMark(pid, (), math.nan, math.nan, False, now)
                continue
            # Invalid when a leg is unusable or, where deltas are wanted, has none.
            ok = False not in leg_ok[start:stop] and (not want or False not in settled[start:stop])
            if stop - start == 1:  # fsum of one value is the value, with -0.0 as 0.0
                net = pairs[0][0] * mid_c[first] + 0.0
            else:
                net = math.fsum([ratio * mid_c[c] for ratio, c in pairs])
            out[pid] = PositionMark(pid, tuple(leg_marks[start:stop]), net, und_c[first], ok, now)
        return out


_NORMAL: Final = NormalDist()
SCREEN_MARGIN: Final = 1e-9
"""A mid must clear a threshold price of the delta screen by this fraction of itself; a mid
closer than that is solved exactly, so the screen never decides what the last digits of an
implied-vol solve would."""


def _calm_ranges(call: bool, m: float, z: float | None) -> tuple[tuple[float, float], ...]:
    """Total vols ``x = sigma sqrt(t)`` (open ranges, ``0 <= lo < hi <= inf``) at which
    ``N(phi d1) < p``, with ``d1 = m / x + x / 2`` and ``z = N^-1(p)`` (None: p >= 1).

    Calls: ``d1 >= z`` iff ``x^2/2 - z x + m >= 0``; puts: ``-d1 >= z`` iff ``x^2/2 + z x + m
    <= 0``. Both quadratics have the discriminant ``z^2 - 2m``.
    """
    if z is None:
        return ((0.0, math.inf),)
    disc = z * z - 2.0 * m
    if call:
        if disc <= 0.0:
            return ()
        root = math.sqrt(disc)
        lo, hi = max(z - root, 0.0), z + root
        return ((lo, hi),) if hi > lo else ()
    if disc < 0.0:
        return ((0.0, math.inf),)
    root = math.sqrt(disc)
    lo, hi = -z - root, -z + root
    if hi <= 0.0:
        return ((0.0, math.inf),)
    if lo <= 0.0:
        return ((hi, math.inf),)
    return ((0.0, lo), (hi, math.inf))


def _below_level(model: PricingModel, level: Sequence[float], mid: Sequence[float],
                 und: Sequence[float], strike: Sequence[float], t: Sequence[float], r: float,
                 call: Sequence[bool]) -> list[bool]:
    """Per leg: whether ``|delta| < level`` at the vol that reproduces ``mid``, decided without
    solving it, and that such a vol exists (``mid`` strictly inside the no-arbitrage bounds).

    With ``F`` the forward (Black-76: the futures price; BSM with zero yield: ``S e^{rt}``) and
    ``x = sigma sqrt(t)``, ``|delta| = c N(phi d1)`` with ``d1 = ln(F/K) / x + x / 2`` and
    ``c = e^{-rt}`` (Black-76) or 1 (BSM). The vols at which ``|delta| < level`` form at most two
    ranges of ``x`` (:func:`_calm_ranges`); the price rises with ``x``, from the discounted
    intrinsic value at ``x = 0`` to the discounted forward (call) or strike (put) as ``x`` grows,
    so a range maps to the open price range between the prices at its ends (a BSM option with
    zero yield is the Black-76 option on its forward). False (solve exactly) for a level of 0
    and where ``mid`` is within :data:`SCREEN_MARGIN` of a threshold price.
    """
    out: list[bool] = []
    black = model is PricingModel.BLACK76
    for lv, v, u, k, tj, c in zip(level, mid, und, strike, t, call, strict=True):
        if lv <= 0.0:
            out.append(False)
            continue
        d = math.exp(-r * tj)
        f = u if black else u / d
        p = lv / d if black else lv
        margin = SCREEN_MARGIN * v
        calm = False
        for lo, hi in _calm_ranges(c, math.log(f / k), None if p >= 1.0 else _NORMAL.inv_cdf(p)):
            low = (black76_price_one(f, k, tj, r, lo / math.sqrt(tj), c) if lo > 0.0
                   else d * max(f - k if c else k - f, 0.0))
            if not low + margin < v:
                continue
            high = (black76_price_one(f, k, tj, r, hi / math.sqrt(tj), c) if hi < math.inf
                    else d * (f if c else k))
            if v < high - margin:
                calm = True
                break
        out.append(calm)
    return out


def legs_iv(contracts: Sequence[Contract], quotes: Mapping[Contract, Quote | None],
            underlying: Mapping[Contract, float | None], now: datetime,
            cfg: Config) -> dict[Contract, float]:
    """Implied vols of many option contracts from their mids in one implied-vol solve per model.

    Contracts without a usable quote (SPEC §11; a zero bid is allowed), a positive underlying
    price, or a solvable vol are left out of the result.
    """
    data = cfg.data
    now_s = _seconds(now)
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
            s = seconds[q.time] = _seconds(q.time)
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
