"""Synthetic option chains: listed expiries, strike grids and quotes for one root at one bar.

Chains are built lazily for the requested root and DTE window only. Strikes are the catalogue's
grid (``strike_step``) within ``INNER_SD`` standard deviations of the forward (at least
``MIN_STEPS`` strikes each side) and a coarser grid (a round multiple of the step, as exchanges
list far strikes) out to ``PUT_SD`` standard deviations below and ``CALL_SD`` above, enough to
reach 5-delta puts at 120 DTE with the equity skew.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from config.instruments import instrument
from sim.calendar import TradingCalendar
from sim.expiries import ExpiryCalendar
from sim.pricing import MarketState, Pricer
from sim.products import product
from strategies.types import RawChain

FloatArray = npt.NDArray[np.float64]

INNER_SD: Final = 1.5
PUT_SD: Final = 6.5
CALL_SD: Final = 3.5
MIN_STEPS: Final = 12
MAX_OUTER: Final = 100
_MULTIPLES: Final = (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 2000, 5000)


def _grid(lo: float, hi: float, step: float) -> FloatArray:
    k0 = math.ceil(lo / step - 1e-9)
    k1 = math.floor(hi / step + 1e-9)
    if k1 < k0:
        return np.zeros(0)
    return np.asarray(np.round(np.arange(k0, k1 + 1) * step, 10), dtype=np.float64)


def _coarse(inner_edge: float, outer_edge: float, step: float) -> FloatArray:
    span = abs(inner_edge - outer_edge)
    for m in _MULTIPLES:
        if span / (m * step) <= MAX_OUTER:
            lo, hi = sorted((inner_edge, outer_edge))
            return _grid(lo, hi, m * step)
    return np.zeros(0)


def strike_grid(forward: float, sd: float, step: float) -> FloatArray:
    """Listed strikes around ``forward`` for a log-price standard deviation ``sd``.

    Fine grid (``step``) within ``INNER_SD`` sd (at least ``MIN_STEPS`` strikes each side),
    coarser grid to ``PUT_SD`` sd below and ``CALL_SD`` sd above; all strikes > 0.
    """
    if not (math.isfinite(forward) and forward > 0 and step > 0):
        return np.zeros(0)
    sd = max(sd, 1e-6)
    lo_in = min(forward * math.exp(-INNER_SD * sd), forward - MIN_STEPS * step)
    hi_in = max(forward * math.exp(INNER_SD * sd), forward + MIN_STEPS * step)
    lo_out = min(forward * math.exp(-PUT_SD * sd), lo_in)
    hi_out = max(forward * math.exp(CALL_SD * sd), hi_in)
    parts = [_grid(max(lo_in, step), hi_in, step),
             _coarse(max(lo_in, step), max(lo_out, step), step),
             _coarse(hi_in, hi_out, step)]
    out = np.unique(np.concatenate(parts))
    return np.asarray(out[out > 0], dtype=np.float64)


class ChainBuilder:
    """Builds :class:`strategies.types.RawChain` objects for a root at a market state.

    Parameters
    ----------
    cal
        Trading calendar covering the run plus the longest listing horizon.
    pricer
        The valuation engine.
    first, last
        The run's first and last trading day (bounds of the expiry calendars).
    """

    def __init__(self, cal: TradingCalendar, pricer: Pricer, first: date, last: date) -> None:
        self.cal = cal
        self.pricer = pricer
        self.first = first
        self.last = last
        self._calendars: dict[str, ExpiryCalendar] = {}

    def expiry_calendar(self, root: str) -> ExpiryCalendar | None:
        """Listed expiries of ``root``; None when the root has no simulated options."""
        hit = self._calendars.get(root)
        if hit is not None:
            return hit
        try:
            p = product(root)
        except KeyError:
            return None
        if not p.listings or not instrument(root).has_options:
            return None
        built = ExpiryCalendar(self.cal, p.listings, self.first - timedelta(days=7), self.last)
        self._calendars[root] = built
        return built

    def build(self, root: str, st: MarketState, min_dte: int, max_dte: int) -> RawChain | None:
        """Quotes for every listed option of ``root`` with ``min_dte <= DTE <= max_dte``.

        None when the root is not simulated or has no options; an empty chain when no expiry
        falls in the window.
        """
        cal = self.expiry_calendar(root)
        if cal is None:
            return None
        today = st.today
        expiries = [d for d in cal.in_window(today, min_dte, max_dte)
                    if d > today or st.frac_left > 0]
        step = instrument(root).strike_step
        strikes: list[FloatArray] = []
        kept: list[date] = []
        if expiries:
            probe = self.pricer.grid(root, expiries, [np.ones(1) for _ in expiries])
            under = self.pricer.underlying(probe, st)[0]
            t = self.pricer.tenor(probe, st)[0]
            fwd = np.where(probe.black76, under,
                           under * np.exp(st.rate * np.maximum(t, 0.0)))
            probe_atm = self.pricer.grid(root, expiries,
                                         [np.array([f]) for f in fwd[0::2]])
            iv = self.pricer.vols(probe_atm, st, fwd[None, :], t[None, :])[0][0]
            for i, d in enumerate(expiries):
                sd = float(iv[2 * i]) * math.sqrt(max(float(t[2 * i]), 1e-6))
                grid = strike_grid(float(fwd[2 * i]), sd, step)
                if grid.shape[0]:
                    strikes.append(grid)
                    kept.append(d)
        return self._quote(root, st, kept, strikes)

    def _quote(self, root: str, st: MarketState, expiries: list[date],
               strikes: list[FloatArray]) -> RawChain:
        batch = self.pricer.grid(root, expiries, strikes)
        n = len(batch)
        if n:
            val = self.pricer.value(batch, st)
            bid, ask, under = val.bid, val.ask, val.underlying
        else:
            bid = ask = under = np.zeros(0)
        expiry = np.array(batch.expiry_ord - date(1970, 1, 1).toordinal(),
                          dtype="datetime64[D]")
        stamp = np.datetime64(st.now.replace(microsecond=0), "s")
        return RawChain(
            root=root,
            expiry=expiry,
            strike=batch.strike.copy(),
            is_call=batch.is_call.copy(),
            bid=np.asarray(bid, dtype=np.float64),
            ask=np.asarray(ask, dtype=np.float64),
            quote_time=np.full(n, stamp, dtype="datetime64[s]"),
            underlying=np.asarray(under, dtype=np.float64),
            underlying_time=st.now,
        )
