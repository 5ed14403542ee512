"""Vectorised valuation of contracts at the model's current state.

Options are priced with :mod:`greeks` (Black-76 on the futures price for futures options,
Black-Scholes-Merton on the spot otherwise, no dividends; Black-76 is evaluated as BSM with the
futures price as spot and dividend yield equal to the rate, the same formula, so that a batch of
mixed contracts is one call) from the surface in
:mod:`sim.surface`, European exercise, on a trading-time clock: ``t`` = trading sessions to the
expiry's close (the rest of today counts as the remaining fraction of today's session) / 252.
At or after the expiry's close an option is worth its intrinsic value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from config.enums import InstrumentKind, PricingModel, Right
from config.instruments import Contract
from greeks import bsm_price
from sim.calendar import TradingCalendar
from sim.expiries import QUARTER_MONTHS, ExpiryRule, Listing, rule_dates
from sim.products import (
    BASE_SERIES,
    SERIES,
    VIX_ATM_FACTOR,
    VIX_LONG_RUN,
    FutureStyle,
    Product,
    product,
)
from sim.surface import EQUITY_CALM_VIX, MIN_T, atm_vol, bid_ask, moneyness, smile_factor

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

YEAR_SESSIONS: Final = 252.0
FRONT_ROLL_DAYS: Final = 8
"""Calendar days before a quarterly future's expiry at which the front month rolls."""

_STYLE_CODE: Final = {FutureStyle.SPOT: 0, FutureStyle.QUARTERLY: 1, FutureStyle.FLAT: 2}
_EQ = np.array([SERIES[n].equity for n in BASE_SERIES])
_VOL_SCALE = np.array([SERIES[n].vol_scale for n in BASE_SERIES])
_BASE_VOL = np.array([SERIES[n].base_vol for n in BASE_SERIES])
_LONG_RUN = _BASE_VOL.copy()
_LONG_RUN[_EQ] = VIX_LONG_RUN / 100.0 * VIX_ATM_FACTOR * _VOL_SCALE[_EQ]


@dataclass(frozen=True, slots=True)
class MarketState:
    """The model at ``m`` consecutive bars of one day (often ``m = 1``). Build with :meth:`build`.

    ``levels`` (m, S) are the base series (see :data:`sim.products.BASE_SERIES`); ``vix`` (m,);
    ``frac_left`` (m,) the fraction of today's session still to run at each bar (0 at and after
    the close); ``vol_level`` (S,) the non-equity 30-day ATM vols of the day (NaN for equity
    series). Derived: ``atm30`` (m, S) the 30-day ATM vol (from the VIX for equity series),
    ``long_run`` (S,) the long-run vol level, ``vol_ratio`` (m, S) the vol level relative to its
    calm reference (VIX / 15 for equity series).
    """

    now: datetime
    today_ord: int
    session_index: int
    frac_left: FloatArray
    levels: FloatArray
    vix: FloatArray
    vol_level: FloatArray
    rate: float
    atm30: FloatArray
    long_run: FloatArray
    vol_ratio: FloatArray

    @staticmethod
    def build(now: datetime, session_index: int, frac_left: FloatArray | float,
              levels: FloatArray, vix: FloatArray | float, vol_level: FloatArray,
              rate: float) -> MarketState:
        lv = np.atleast_2d(np.asarray(levels, dtype=np.float64))
        vx = np.atleast_1d(np.asarray(vix, dtype=np.float64))
        fr = np.atleast_1d(np.asarray(frac_left, dtype=np.float64))
        atm30 = np.repeat(vol_level[None, :], lv.shape[0], axis=0)
        atm30[:, _EQ] = vx[:, None] / 100.0 * VIX_ATM_FACTOR * _VOL_SCALE[_EQ]
        ratio = np.repeat((vol_level / np.where(_BASE_VOL > 0, _BASE_VOL, 1.0))[None, :],
                          lv.shape[0], axis=0)
        ratio[:, _EQ] = vx[:, None] / EQUITY_CALM_VIX
        return MarketState(now, now.date().toordinal(), session_index, fr, lv, vx, vol_level,
                           rate, atm30, _LONG_RUN, ratio)

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def rows(self) -> int:
        return int(self.levels.shape[0])


class QuarterlyCycle:
    """Expiries of quarterly equity index futures (third Friday of Mar/Jun/Sep/Dec)."""

    def __init__(self, cal: TradingCalendar, first: date, last: date) -> None:
        self._dates = rule_dates(cal, Listing(ExpiryRule.THIRD_FRIDAY, 0, QUARTER_MONTHS),
                                 first, last)
        self._ords = np.array([d.toordinal() for d in self._dates], dtype=np.int64)

    def on_or_after(self, day: date) -> date:
        """The first quarterly expiry on or after ``day``."""
        i = int(np.searchsorted(self._ords, day.toordinal(), side="left"))
        if i >= len(self._dates):
            raise ValueError(f"no quarterly expiry after {day} in the loaded range")
        return self._dates[i]

    def front(self, day: date) -> date:
        """The front contract on ``day`` (rolls ``FRONT_ROLL_DAYS`` before expiry)."""
        return self.on_or_after(date.fromordinal(day.toordinal() + FRONT_ROLL_DAYS + 1))


@dataclass(frozen=True, slots=True)
class ContractBatch:
    """Static facts of a set of contracts as columns (built once per set)."""

    contracts: tuple[Contract, ...]
    is_option: BoolArray
    strike: FloatArray
    is_call: BoolArray
    series: IntArray
    scale: FloatArray
    style: IntArray
    future_ord: IntArray
    expiry_ord: IntArray
    expiry_sidx: IntArray
    tick: FloatArray
    multiplier: FloatArray
    black76: BoolArray
    skew: FloatArray
    smile: FloatArray
    kappa: FloatArray
    x_max: FloatArray
    floor: FloatArray
    cap: FloatArray
    sp_ticks: FloatArray
    sp_tenor: FloatArray
    sp_pct: FloatArray
    sp_otm: FloatArray
    sp_cheap: FloatArray

    def __len__(self) -> int:
        return int(self.strike.shape[0])


@dataclass(frozen=True, slots=True)
class Valuation:
    """Per contract: underlying price, trading-year time to expiry, implied vol (NaN for
    non-options), standardised moneyness, theoretical mid, bid and ask."""

    underlying: FloatArray
    t: FloatArray
    iv: FloatArray
    x: FloatArray
    mid: FloatArray
    bid: FloatArray
    ask: FloatArray

    def row(self, i: int) -> Valuation:
        """Bar ``i`` of a (bars, n) valuation."""
        return Valuation(self.underlying[i], self.t[i], self.iv[i], self.x[i], self.mid[i],
                         self.bid[i], self.ask[i])


class Pricer:
    """Builds :class:`ContractBatch` objects and values them at a :class:`MarketState`."""

    def __init__(self, cal: TradingCalendar, quarterly: QuarterlyCycle) -> None:
        self.cal = cal
        self.quarterly = quarterly
        self._static: dict[Contract, tuple[object, ...]] = {}

    def supports(self, contract: Contract) -> bool:
        """Whether ``contract``'s root is simulated (and has options when it is an option)."""
        try:
            p = product(contract.root)
        except KeyError:
            return False
        return not (contract.is_option and not p.listings)

    def _facts(self, c: Contract) -> tuple[object, ...]:
        hit = self._static.get(c)
        if hit is not None:
            return hit
        p: Product = product(c.root)
        inst = p.instrument
        fut = (self.quarterly.on_or_after(c.expiry).toordinal()
               if p.style is FutureStyle.QUARTERLY else 0)
        tick = inst.tick if c.is_option else (0.01 if inst.kind is not InstrumentKind.FUTURE
                                               else inst.tick)
        facts: tuple[object, ...] = (
            c.is_option, c.strike, c.right is Right.CALL, BASE_SERIES.index(p.series), p.scale,
            _STYLE_CODE[p.style], fut, c.expiry.toordinal(),
            self.cal.session_index(c.expiry) if c.expiry <= self.cal.last else 10**9,
            tick, inst.multiplier, p.pricing_model is PricingModel.BLACK76,
            p.surface.skew, p.surface.smile, p.surface.term_kappa, p.surface.x_max,
            p.surface.floor, p.surface.cap, p.spread.ticks, p.spread.tenor, p.spread.pct,
            p.spread.otm, p.spread.cheap,
        )
        if len(self._static) > 50_000:
            self._static.clear()
        self._static[c] = facts
        return facts

    def grid(self, root: str, expiries: list[date], strikes: list[FloatArray]) -> ContractBatch:
        """Columns for every (expiry, strike, right) of an option chain: for each expiry its
        strikes as puts then calls. ``contracts`` is left empty (rows are not materialised)."""
        p = product(root)
        inst = p.instrument
        sizes = [2 * s.shape[0] for s in strikes]
        n = int(sum(sizes))
        exp_ord = np.repeat(np.array([d.toordinal() for d in expiries], dtype=np.int64), sizes)
        sidx = np.repeat(np.array([self.cal.session_index(d) for d in expiries],
                                  dtype=np.int64), sizes)
        fut = (np.repeat(np.array([self.quarterly.on_or_after(d).toordinal() for d in expiries],
                                  dtype=np.int64), sizes)
               if p.style is FutureStyle.QUARTERLY else np.zeros(n, dtype=np.int64))
        strike = np.concatenate([np.concatenate((s, s)) for s in strikes]) if strikes \
            else np.zeros(0)
        is_call = np.concatenate([np.repeat([False, True], s.shape[0]) for s in strikes]) \
            if strikes else np.zeros(0, dtype=np.bool_)

        def full(v: float) -> FloatArray:
            return np.full(n, v, dtype=np.float64)

        sh, sp = p.surface, p.spread
        return ContractBatch(
            (), np.ones(n, dtype=np.bool_), strike.astype(np.float64), is_call.astype(np.bool_),
            np.full(n, BASE_SERIES.index(p.series), dtype=np.int64), full(p.scale),
            np.full(n, _STYLE_CODE[p.style], dtype=np.int64), fut, exp_ord, sidx,
            full(inst.tick), full(inst.multiplier),
            np.full(n, p.pricing_model is PricingModel.BLACK76, dtype=np.bool_),
            full(sh.skew), full(sh.smile), full(sh.term_kappa), full(sh.x_max), full(sh.floor),
            full(sh.cap), full(sp.ticks), full(sp.tenor), full(sp.pct), full(sp.otm),
            full(sp.cheap))

    def batch(self, contracts: tuple[Contract, ...]) -> ContractBatch:
        """Columns for ``contracts`` (every root must be simulated)."""
        rows = [self._facts(c) for c in contracts]
        cols = list(zip(*rows, strict=True)) if rows else [()] * 23

        def f(i: int) -> FloatArray:
            return np.array(cols[i], dtype=np.float64)

        def n(i: int) -> IntArray:
            return np.array(cols[i], dtype=np.int64)

        def b(i: int) -> BoolArray:
            return np.array(cols[i], dtype=np.bool_)

        return ContractBatch(contracts, b(0), f(1), b(2), n(3), f(4), n(5), n(6), n(7), n(8),
                             f(9), f(10), b(11), f(12), f(13), f(14), f(15), f(16), f(17), f(18),
                             f(19), f(20), f(21), f(22))

    # ------------------------------------------------------------------ valuation
    # Every method returns (m, n) arrays: m bars of the state x n contracts of the batch.
    def underlying(self, bt: ContractBatch, st: MarketState) -> FloatArray:
        """Price of each contract's underlying (the futures contract for futures options)."""
        days = np.maximum(bt.future_ord - st.today_ord, 0)
        carry = np.where(bt.style == 1, np.exp(st.rate * days / 365.0), 1.0)
        return np.asarray(st.levels[:, bt.series] * (bt.scale * carry), dtype=np.float64)

    def tenor(self, bt: ContractBatch, st: MarketState) -> FloatArray:
        """Trading years to each contract's expiry close (negative once expired)."""
        t = ((bt.expiry_sidx - st.session_index)[None, :] + st.frac_left[:, None]) / YEAR_SESSIONS
        return np.asarray(np.where(bt.expiry_ord < st.today_ord, -1.0, t), dtype=np.float64)

    def vols(self, bt: ContractBatch, st: MarketState, forward: FloatArray,
             t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(implied vol, standardised moneyness) from the surface."""
        atm = atm_vol(st.atm30[:, bt.series], st.long_run[bt.series], t, bt.kappa)
        with np.errstate(divide="ignore", invalid="ignore"):
            logm = np.log(np.where(bt.is_option, bt.strike, forward) / forward)
        x = moneyness(logm, atm, t, bt.x_max)
        factor = smile_factor(x, bt.skew, bt.smile, bt.floor, bt.cap)
        return np.asarray(atm * factor, dtype=np.float64), x

    def theoretical(self, bt: ContractBatch, st: MarketState, under: FloatArray, t: FloatArray,
                    iv: FloatArray) -> FloatArray:
        """Model price per contract; ``under``, ``t`` and ``iv`` broadcast to (rows, n)."""
        shape = np.broadcast_shapes(under.shape, iv.shape, t.shape)
        u = np.broadcast_to(under, shape)
        k, call = bt.strike, bt.is_call
        intrinsic = np.where(call, np.maximum(u - k, 0.0), np.maximum(k - u, 0.0))
        out = np.where(bt.is_option, intrinsic, u)
        cols = np.flatnonzero(bt.is_option)
        if cols.size:
            # Black-76 is BSM on the futures price with dividend yield = rate: one call prices
            # both kinds (greeks/ has a fixed cost per call that dominates small batches).
            tc = np.broadcast_to(t, shape)[..., cols]
            q = np.where(bt.black76[cols], st.rate, 0.0)
            price = bsm_price(u[..., cols], k[cols], np.maximum(tc, MIN_T), st.rate, q,
                              np.broadcast_to(iv, shape)[..., cols], call[cols])
            out[..., cols] = np.where(tc > MIN_T, price, intrinsic[..., cols])
        return np.asarray(out, dtype=np.float64)

    def value_grid(self, bt: ContractBatch, st: MarketState) -> Valuation:
        """Underlying, tenor, vol, mid, bid and ask of every contract at every bar of ``st``
        (arrays of shape (m, n))."""
        under = self.underlying(bt, st)
        t = self.tenor(bt, st)
        tpos = np.maximum(t, 0.0)
        forward = np.where(bt.black76, under, under * np.exp(st.rate * tpos))
        iv, x = self.vols(bt, st, forward, t)
        opt = bt.is_option
        iv = np.where(opt, iv, np.nan)
        mid = self.theoretical(bt, st, under, t, iv)
        bid, ask = bid_ask((bt.sp_ticks, bt.sp_tenor, bt.sp_pct, bt.sp_otm, bt.sp_cheap), bt.tick,
                           mid, x, tpos, st.vol_ratio[:, bt.series])
        if not opt.all():
            und = ~opt
            tk = bt.tick[und]
            bid[:, und] = np.floor(mid[:, und] / tk) * tk
            ask[:, und] = bid[:, und] + tk
        expired = t < 0
        bid = np.where(expired, np.nan, bid)
        ask = np.where(expired, np.nan, ask)
        return Valuation(under, t, iv, x, mid, bid, ask)

    def value(self, bt: ContractBatch, st: MarketState) -> Valuation:
        """:meth:`value_grid` at the state's first bar (arrays of shape (n,))."""
        return self.value_grid(bt, st).row(0)

    def take(self, bt: ContractBatch, rows: IntArray) -> ContractBatch:
        """The rows ``rows`` of ``bt`` as a new batch."""
        cols = {f: getattr(bt, f)[rows] for f in _ARRAY_FIELDS}
        contracts = tuple(bt.contracts[i] for i in rows) if bt.contracts else ()
        return ContractBatch(contracts=contracts, **cols)


_ARRAY_FIELDS: Final = ("is_option", "strike", "is_call", "series", "scale", "style",
                        "future_ord", "expiry_ord", "expiry_sidx", "tick", "multiplier", "black76",
                        "skew", "smile", "kappa", "x_max", "floor", "cap", "sp_ticks",
                        "sp_tenor", "sp_pct", "sp_otm", "sp_cheap")


def frac_left(now: datetime, open_: datetime, close: datetime) -> float:
    """Fraction of the session between ``now`` and the close (0 at or after the close)."""
    total = (close - open_).total_seconds()
    left = (close - now).total_seconds()
    return min(max(left / total, 0.0), 1.0) if total > 0 else 0.0
