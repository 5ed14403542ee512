"""Validated option chain of one root with greeks, and vectorised strike selection.

:meth:`ChainSnapshot.build` turns a :class:`strategies.types.RawChain` into numpy columns with
implied vol and greeks (from :mod:`greeks`, Black-76 for futures options, BSM with q = 0
otherwise; r from the config; time to 16:00 on the expiry day, floored so 0DTE works intraday).
Contracts with unusable quotes (SPEC §11) are counted in :attr:`ChainSnapshot.excluded` and never
selected. Selection follows the SPEC §8 delta rule: the strike nearest the target |delta| among
strikes inside the allowed range, or nothing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from config.enums import Right
from config.instruments import Contract, Instrument, instrument
from config.model import Config
from strategies.quotes import (
    BAD_STRIKE,
    IV_UNSOLVABLE,
    NO_UNDERLYING,
    Exclusions,
    apply_quote_checks,
    solve_greeks,
    years_to_expiry,
)
from strategies.types import BoolArray, DateArray, FloatArray, IdeaLeg, RawChain

IntArray = npt.NDArray[np.intp]

_EMPTY_F: FloatArray = np.empty(0, dtype=np.float64)
_EMPTY_I: IntArray = np.empty(0, dtype=np.intp)


@dataclass(slots=True, eq=False)
class _Side:
    """Row indices of one (expiry, right) group sorted two ways (by |delta| and by strike; the
    listed-rows sides keep the strike order only)."""

    absdelta: FloatArray
    by_delta: IntArray
    strikes: FloatArray
    by_strike: IntArray
    delta_list: list[float] | None = None
    """``absdelta`` as Python floats, made on the side's first delta search: ``bisect`` on a list
    costs about 0.1 us where ``np.searchsorted`` with a scalar costs about 1.2 us."""

    def sorted_deltas(self) -> list[float]:
        """``absdelta`` (ascending) as a list."""
        if self.delta_list is None:
            self.delta_list = self.absdelta.tolist()
        return self.delta_list


_NO_SIDE = _Side(_EMPTY_F, _EMPTY_I, _EMPTY_F, _EMPTY_I)


def _by_group(keys_exp: npt.NDArray[np.int64], keys_call: BoolArray, rows: IntArray,
              sort_val: FloatArray) -> IntArray:
    """``rows`` (ascending) ordered by (expiry day number, is_call, ``sort_val``), ties in
    ``rows`` order: the order of ``lexsort((sort_val, is_call, expiry))`` over ``rows``.

    Chains usually list their rows by expiry, right and strike, already in this order for
    ``sort_val`` = strike: that is checked first. Otherwise two stable sorts: by ``sort_val``,
    then by a small-integer (expiry, right) key, which numpy sorts in linear time.
    """
    m = int(rows.shape[0])
    if m == 0:
        return rows
    e = keys_exp[rows]
    lo, hi = int(e.min()), int(e.max())
    v = sort_val[rows]
    if hi - lo >= 2**14:  # expiries too far apart for the small key
        order = np.lexsort((v, keys_call[rows], e))
        out: IntArray = rows[order]
        return out
    key = ((e - lo) * 2 + keys_call[rows]).astype(np.int16)
    if m > 1:
        step = key[1:] - key[:-1]
        if bool(np.all((step > 0) | ((step == 0) & (v[1:] >= v[:-1])))):
            return rows
    by_v = np.argsort(v, kind="stable")
    out = rows[by_v[np.argsort(key[by_v], kind="stable")]]
    return out


def _groups(keys_exp: npt.NDArray[np.int64], keys_call: BoolArray,
            rows: IntArray) -> list[tuple[tuple[int, bool], int, int]]:
    """``((expiry day, is_call), start, stop)`` of each run of ``rows`` (ordered by group)."""
    if rows.shape[0] == 0:
        return []
    e, c = keys_exp[rows], keys_call[rows]
    starts = (np.flatnonzero((e[1:] != e[:-1]) | (c[1:] != c[:-1])) + 1).tolist()
    bounds = [0, *starts]
    stops = [*starts, int(rows.shape[0])]
    return [((d, k), s, t) for d, k, s, t in zip(e[bounds].tolist(), c[bounds].tolist(),
                                                  bounds, stops, strict=True)]


Key = tuple[int, bool]


class _Sides(dict[Key, _Side]):
    """The rows of one row set in (expiry day number, is_call) groups, by strike and (unless
    ``by_delta`` is None) by |delta|; ``sides[key]`` cuts a group's :class:`_Side` out on first
    use (an empty side when the set has no row in the group)."""

    __slots__ = ("_absdelta", "_bounds", "_by_delta", "_by_strike", "_call", "_exp", "_strike")

    def __init__(self, keys_exp: npt.NDArray[np.int64], keys_call: BoolArray, by_strike: IntArray,
                 strike: FloatArray, by_delta: IntArray | None = None,
                 absdelta: FloatArray | None = None,
                 groups: list[tuple[Key, int, int]] | None = None) -> None:
        super().__init__()
        self._exp, self._call = keys_exp, keys_call
        self._by_strike, self._strike = by_strike, strike
        self._by_delta, self._absdelta = by_delta, absdelta
        self._bounds: dict[Key, tuple[int, int]] | None = None
        if groups is not None:
            self._bounds = {key: (lo, hi) for key, lo, hi in groups}

    def __missing__(self, key: Key) -> _Side:
        if self._bounds is None:
            self._bounds = {k: (lo, hi) for k, lo, hi in _groups(self._exp, self._call,
                                                                  self._by_strike)}
        span = self._bounds.get(key)
        side = _NO_SIDE
        if span is not None:
            lo, hi = span
            k_rows = self._by_strike[lo:hi]
            if self._by_delta is None or self._absdelta is None:
                side = _Side(_EMPTY_F, _EMPTY_I, self._strike[k_rows], k_rows)
            else:
                d_rows = self._by_delta[lo:hi]
                side = _Side(self._absdelta[d_rows], d_rows, self._strike[k_rows], k_rows)
        self[key] = side
        return side


_EPOCH = date(1970, 1, 1)


def _text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"


def _day(d: date) -> int:
    return (d - _EPOCH).days


@dataclass(frozen=True, slots=True, eq=False)
class ChainSnapshot:
    """Option chain of ``root`` at ``now`` as numpy columns (one row per contract).

    Attributes
    ----------
    expiry : datetime64[D] array
    dte : int array
        Calendar days from ``now.date()`` to expiry.
    strike, bid, ask, mid : float arrays
        Strike in underlying points; prices in option points (NaN where missing).
    is_call : bool array
    quote_time : datetime64[s] array
    iv : float array
        Implied vol (annualised fraction) from the mid; NaN when excluded.
    delta, gamma, theta, vega : float arrays
        Signed delta, gamma per point, theta per calendar day, vega per vol point; NaN when
        excluded.
    underlying : float array
        Price of each row's underlying (the futures contract for futures options).
    usable : bool array
        Row passes SPEC §11 validation and has greeks: it may be bought.
    sellable : bool array
        ``usable`` and ``bid > 0``: it may be sold.
    excluded : dict[str, int]
        Unusable rows counted under the first failing reason code.
    stale_underlying : bool
        The underlying price is older than ``data.max_underlying_age_minutes``: no entries.
    """

    root: str
    now: datetime
    inst: Instrument
    expiry: DateArray
    dte: npt.NDArray[np.int64]
    strike: FloatArray
    is_call: BoolArray
    bid: FloatArray
    ask: FloatArray
    mid: FloatArray
    quote_time: DateArray
    iv: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    underlying: FloatArray
    usable: BoolArray
    sellable: BoolArray
    excluded: dict[str, int]
    stale_underlying: bool
    _buy: _Sides = field(repr=False)
    _sell: _Sides = field(repr=False)
    _listed: _Sides = field(repr=False)
    _expiry_dte: dict[date, int] = field(repr=False)
    _codes: npt.NDArray[np.int8] = field(repr=False)
    _reasons: tuple[str, ...] = field(repr=False)

    def __len__(self) -> int:
        return int(self.strike.shape[0])

    @property
    def n_usable(self) -> int:
        """Rows that may be traded."""
        return int(np.count_nonzero(self.usable))

    @property
    def expiries(self) -> tuple[date, ...]:
        """Expiries with at least one usable contract, ascending."""
        return tuple(sorted(self._expiry_dte))

    def excluded_text(self) -> str:
        """``reason=count`` pairs for logs and Skip details."""
        return _text(self.excluded)

    def excluded_for(self, expiry: date, right: Right) -> dict[str, int]:
        """Unusable rows of one expiry and right, counted by reason."""
        side = self._listed_side(expiry, right)
        codes = self._codes[side.by_strike]
        counts = np.bincount(codes, minlength=len(self._reasons) + 1)
        return {self._reasons[i - 1]: int(c) for i, c in enumerate(counts.tolist())
                if i > 0 and c > 0}

    def excluded_for_text(self, expiry: date, right: Right) -> str:
        """:meth:`excluded_for` as ``reason=count`` pairs."""
        return _text(self.excluded_for(expiry, right))

    @classmethod
    def build(cls, raw: RawChain, now: datetime, cfg: Config) -> ChainSnapshot:
        """Validate ``raw`` against ``cfg.data`` and compute implied vol and greeks.

        Never raises on bad market data: unusable rows are excluded and counted. Raises
        ``KeyError`` only for a root missing from the instrument catalogue.
        """
        inst = instrument(raw.root)
        n = len(raw)
        expiry = raw.expiry.astype("datetime64[D]")
        strike = raw.strike.astype(np.float64, copy=False)
        is_call = raw.is_call.astype(np.bool_, copy=False)
        bid = raw.bid.astype(np.float64, copy=False)
        ask = raw.ask.astype(np.float64, copy=False)
        und = raw.underlying.astype(np.float64, copy=False)
        qtime = raw.quote_time.astype("datetime64[s]")
        today = np.datetime64(now.date(), "D")
        dte = (expiry - today).astype(np.int64)
        mid = 0.5 * (bid + ask)

        ex = Exclusions(n)
        apply_quote_checks(ex, bid, ask, qtime, now, cfg.data)
        with np.errstate(invalid="ignore"):
            ex.take(BAD_STRIKE, ~(np.isfinite(strike) & (strike > 0.0)) | np.isnat(expiry))
            ex.take(NO_UNDERLYING, ~(np.isfinite(und) & (und > 0.0)))
        if not ex.bad.any():  # every row is solved: no gathering and scattering
            g = solve_greeks(inst.pricing_model, mid, und, strike, years_to_expiry(expiry, now),
                             cfg.risk_free_rate, is_call)
            iv, delta, gamma, theta, vega = g.iv, g.delta, g.gamma, g.theta, g.vega
        else:
            cand = np.flatnonzero(~ex.bad)
            t = years_to_expiry(expiry[cand], now)
            g = solve_greeks(inst.pricing_model, mid[cand], und[cand], strike[cand], t,
                             cfg.risk_free_rate, is_call[cand])
            iv = np.full(n, np.nan)
            delta, gamma, theta, vega = (np.full(n, np.nan) for _ in range(4))
            iv[cand], delta[cand], gamma[cand] = g.iv, g.delta, g.gamma
            theta[cand], vega[cand] = g.theta, g.vega
        ex.take(IV_UNSOLVABLE, ~np.isfinite(delta))
        usable = ~ex.bad
        with np.errstate(invalid="ignore"):
            sellable = usable & (bid > 0.0)

        stale_und = (now - raw.underlying_time) > timedelta(
            minutes=cfg.data.max_underlying_age_minutes)

        exp_day = expiry.astype(np.int64)
        absd = np.abs(delta)
        # Sort twice: listed rows by strike and usable rows by |delta|, within (expiry, right).
        # Usable and sellable rows are subsets of the listed rows (and sellable of usable), so
        # their orders are the same sequences with the other rows left out.
        listed_k = _by_group(exp_day, is_call, np.flatnonzero(~np.isnat(expiry)
                                                              & np.isfinite(strike)), strike)
        usable_d = _by_group(exp_day, is_call, np.flatnonzero(usable), absd)
        usable_k = listed_k[usable[listed_k]]
        sell_d = usable_d[sellable[usable_d]]
        sell_k = usable_k[sellable[usable_k]]
        buy_groups = _groups(exp_day, is_call, usable_k)
        buy = _Sides(exp_day, is_call, usable_k, strike, usable_d, absd, buy_groups)
        sell = _Sides(exp_day, is_call, sell_k, strike, sell_d, absd)
        listed = _Sides(exp_day, is_call, listed_k, strike)
        today_n = _day(now.date())
        expiry_dte = {_EPOCH + timedelta(days=d): d - today_n
                      for d in dict.fromkeys(key[0] for key, _, _ in buy_groups)}
        return cls(raw.root, now, inst, expiry, dte, strike, is_call, bid, ask, mid, qtime,
                   iv, delta, gamma, theta, vega, und, usable, sellable, ex.counts,
                   bool(stale_und), buy, sell, listed, expiry_dte, ex.codes,
                   tuple(ex.reasons))

    # -- selection -------------------------------------------------------------------------------
    def expiry_nearest(self, target_dte: int, lo: int, hi: int,
                       exclude: frozenset[date] = frozenset()) -> date | None:
        """Usable expiry with ``lo <= DTE <= hi`` nearest ``target_dte`` (ties: the earlier one),
        skipping dates in ``exclude``; None when there is none."""
        best: date | None = None
        best_gap = 0
        for exp, d in sorted(self._expiry_dte.items()):
            if lo <= d <= hi and exp not in exclude:
                gap = abs(d - target_dte)
                if best is None or gap < best_gap:
                    best, best_gap = exp, gap
        return best

    def expiry_dte(self, expiry: date) -> int | None:
        """Calendar days to ``expiry`` when it has usable contracts."""
        return self._expiry_dte.get(expiry)

    def by_delta(self, expiry: date, right: Right, target: float, lo: float, hi: float,
                 sellable: bool = False) -> int | None:
        """Row whose |delta| is nearest ``target`` among rows with ``lo <= |delta| <= hi``.

        Ties go to the smaller |delta|. Only usable rows (``sellable`` rows when ``sellable``)
        are considered; None when no row lies inside the range (never an out-of-range strike).
        """
        side = (self._sell if sellable else self._buy)[(_day(expiry), right is Right.CALL)]
        a = side.sorted_deltas()
        i0 = bisect_left(a, lo)
        i1 = bisect_right(a, hi)
        if i1 <= i0:
            return None
        j = bisect_left(a, target)
        j = min(max(j, i0), i1 - 1)
        if j > i0 and abs(a[j - 1] - target) <= abs(a[j] - target):
            j -= 1
        return int(side.by_delta[j])

    def by_strike(self, expiry: date, right: Right, strike: float,
                  sellable: bool = False) -> int | None:
        """Usable (or sellable) row at exactly ``strike`` (within 1e-6 of a strike step)."""
        side = (self._sell if sellable else self._buy)[(_day(expiry), right is Right.CALL)]
        return self._find_strike(side, strike)

    def is_listed(self, expiry: date, right: Right, strike: float) -> bool:
        """Whether the raw chain had a row at ``strike``, usable or not."""
        return self._find_strike(self._listed_side(expiry, right), strike) is not None

    def _listed_side(self, expiry: date, right: Right) -> _Side:
        """Strike-sorted rows of the raw chain (usable or not) of one expiry and right."""
        return self._listed[(_day(expiry), right is Right.CALL)]

    def _find_strike(self, side: _Side, strike: float) -> int | None:
        k = side.strikes
        j = int(np.searchsorted(k, strike, "left"))
        tol = 1e-6 * self.inst.strike_step
        for i in (j - 1, j):
            if 0 <= i < k.shape[0] and abs(k[i] - strike) <= tol:
                return int(side.by_strike[i])
        return None

    def strikes(self, expiry: date, right: Right, sellable: bool = False) -> FloatArray:
        """Ascending strikes of usable (or sellable) rows."""
        side = (self._sell if sellable else self._buy)[(_day(expiry), right is Right.CALL)]
        return side.strikes

    def offset_strike(self, row: int, points: float) -> float:
        """Strike ``points`` away from ``row``'s strike, on the catalogue's strike grid."""
        return self.inst.round_strike(float(self.strike[row]) + points)

    def at_offset(self, row: int, points: float, sellable: bool = False) -> int | None:
        """Usable row of the same expiry and right at ``strike[row] + points`` (rounded to the
        catalogue's strike grid); None when that strike is not listed or not usable."""
        return self.by_strike(self.expiry_of(row), self.right_of(row),
                              self.offset_strike(row, points), sellable)

    def underlying_at(self, expiry: date) -> float | None:
        """Underlying price of ``expiry``'s usable rows (the futures price for futures options)."""
        for side in (self._buy[(_day(expiry), False)], self._buy[(_day(expiry), True)]):
            if side.by_strike.shape[0]:
                return float(self.underlying[side.by_strike[0]])
        return None

    # -- row accessors ---------------------------------------------------------------------------
    def expiry_of(self, row: int) -> date:
        return _EPOCH + timedelta(days=int(self.expiry[row].astype(np.int64)))

    def right_of(self, row: int) -> Right:
        return Right.CALL if bool(self.is_call[row]) else Right.PUT

    def contract(self, row: int) -> Contract:
        """The option contract on ``row``."""
        return Contract(self.root, self.expiry_of(row), float(self.strike[row]), self.right_of(row))

    def leg(self, row: int, ratio: int) -> IdeaLeg:
        """An idea leg on ``row`` with signed ``ratio`` (+ long) and the row's market facts."""
        return IdeaLeg(self.contract(row), ratio, float(self.bid[row]), float(self.ask[row]),
                       float(self.delta[row]), float(self.iv[row]), float(self.underlying[row]))
