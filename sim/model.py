"""Seeded market model: correlated intraday paths of the base series and the VIX.

Each trading day's path is generated when the day starts, at the engine's bar grid, vectorised over
bars x series. The S&P 500 (``SPX``) and the VIX are generated first - jointly by the scenario's
dynamics, or by a Brownian bridge through a day's open/high/low/close (scripted shock days and
user data) - and every other series is simulated conditionally on the S&P 500's standardised
moves with the correlations in :data:`sim.products.CORRELATION`.

Volatility: equity series realise ``EQUITY_REALIZED_FACTOR x VIX`` (times their ``vol_scale``);
commodity and currency series carry their own log-vol level (mean-reverting, partly driven by
VIX changes) and realise ``OTHER_REALIZED_FACTOR`` of it. Daily variance is split between the
overnight gap (``1 - INTRADAY_SHARE``) and the session, spread evenly over session minutes.
Everything is deterministic given the seed, the date range and the bar step.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from sim.calendar import TradingCalendar
from sim.products import (
    BASE_SERIES,
    CORRELATION,
    EQUITY_REALIZED_FACTOR,
    OTHER_REALIZED_FACTOR,
    SERIES,
    VIX_ATM_FACTOR,
)
from sim.scenarios import JUMP_EQUITY_BETA, Scenario, ShockDay, VixDynamics

FloatArray = npt.NDArray[np.float64]

INTRADAY_SHARE: Final = 0.8
"""Share of a day's variance realised during the regular session (the rest in the gap)."""
VIX_EQUITY_CORR: Final = -0.7
"""Correlation of VIX and S&P 500 shocks (negative spot/vol correlation)."""
FULL_SESSION_MINUTES: Final = 390.0
YEAR_DAYS: Final = 252.0
DEFAULT_HISTORY_DAYS: Final = 300
"""Trading days of daily history generated before the start (252-day filters, IV rank)."""

_S = len(BASE_SERIES)
_SPX = BASE_SERIES.index("SPX")
_EQUITY_MASK = np.array([SERIES[n].equity for n in BASE_SERIES])
_DRIFT = np.array([SERIES[n].drift for n in BASE_SERIES])
_VOL_SCALE = np.array([SERIES[n].vol_scale for n in BASE_SERIES])
_BASE_VOL = np.array([SERIES[n].base_vol for n in BASE_SERIES])
_VOV = np.array([SERIES[n].vol_of_vol for n in BASE_SERIES])
_VOL_KAPPA = np.array([SERIES[n].vol_kappa for n in BASE_SERIES])
_VIX_BETA = np.array([SERIES[n].vix_beta for n in BASE_SERIES])
_REVERSION = np.array([SERIES[n].reversion for n in BASE_SERIES])
_LOG_ANCHOR = np.log([SERIES[n].start_level for n in BASE_SERIES])
_C_OS = CORRELATION[1:, 0]
_L_RES = np.linalg.cholesky(CORRELATION[1:, 1:] - np.outer(_C_OS, _C_OS))


@dataclass(frozen=True, slots=True)
class DailyBar:
    """One day of a daily OHLC series (index level or VIX points)."""

    day: date
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True, slots=True)
class DayPath:
    """One trading day of the model at the bar grid.

    ``series`` has shape (bars, len(BASE_SERIES)); ``vix`` shape (bars,); ``vol_level`` is the
    30-day ATM implied vol of each non-equity series for the day (NaN for equity series, whose
    level follows the VIX bar by bar).
    """

    day: date
    times: tuple[datetime, ...]
    series: FloatArray
    vix: FloatArray
    vol_level: FloatArray


def bridge_path(rng: np.random.Generator, o: float, h: float, lo: float, c: float, n: int,
                high_at: float | None = None, low_at: float | None = None) -> FloatArray:
    """A path of ``n`` points through a day's open, high, low and close.

    The first point is ``o``, the last ``c``; one interior point is the high and another the low
    (placed at fraction ``high_at`` / ``low_at`` of the day when given, else at random bars),
    joined by Brownian bridges in log space and clipped into ``[lo, h]``. A high (low) equal to
    the larger (smaller) of open and close needs no interior point. With fewer than 4 points an
    extreme that needs an interior point may be missed.
    """
    if not (0 < lo <= min(o, c) and max(o, c) <= h):
        raise ValueError(f"inconsistent OHLC {o, h, lo, c}")
    if n < 2:
        return np.array([c], dtype=np.float64)
    la, lb, lh, ll = math.log(o), math.log(c), math.log(h), math.log(lo)
    knots: dict[int, float] = {0: la, n - 1: lb}
    interior = n - 2
    need_high = lh > max(la, lb) + 1e-12 and interior >= 1
    need_low = ll < min(la, lb) - 1e-12 and interior >= 1

    def place(frac: float | None) -> int:
        if frac is None:
            return int(rng.integers(1, n - 1))
        return int(min(max(round(frac * (n - 1)), 1), n - 2))

    hi_idx = place(high_at) if need_high else -1
    lo_idx = place(low_at) if need_low else -1
    if need_high and need_low and hi_idx == lo_idx:
        if interior < 2:
            need_low = False
        else:
            lo_idx = lo_idx + 1 if lo_idx + 1 <= n - 2 else lo_idx - 1
    if need_high:
        knots[hi_idx] = lh
    if need_low:
        knots[lo_idx] = ll
    idx = sorted(knots)
    path = np.empty(n, dtype=np.float64)
    scale = (lh - ll) / math.sqrt(n) * 0.6
    for i0, i1 in itertools.pairwise(idx):
        m = i1 - i0
        v0, v1 = knots[i0], knots[i1]
        w = np.concatenate(([0.0], np.cumsum(rng.standard_normal(m) * scale)))
        k = np.arange(m + 1) / m
        path[i0:i1 + 1] = v0 + (v1 - v0) * k + (w - k * w[-1])
    np.clip(path, ll, lh, out=path)
    for i, v in knots.items():
        path[i] = v
    return np.asarray(np.exp(path), dtype=np.float64)


# Intraday variance is U-shaped: busiest after the open, busier again before the close. The
# weight of minute m after the open is 1 + OPEN_BOOST·e^(−m/τ) + CLOSE_BOOST·e^(−(390−m)/τ),
# normalised over a full session (with these values the first hour carries about a quarter of
# the session's variance, as in index futures).
OPEN_BOOST: Final = 2.0
CLOSE_BOOST: Final = 0.8
U_SHAPE_MINUTES: Final = 30.0


def _variance_weight_cumulative(minutes: FloatArray) -> FloatArray:
    """∫₀^m w(x) dx / ∫₀^390 w(x) dx for the U-shaped weight w (clipped to the session)."""
    m = np.clip(minutes, 0.0, FULL_SESSION_MINUTES)
    tau, full = U_SHAPE_MINUTES, FULL_SESSION_MINUTES

    def integral(x: FloatArray) -> FloatArray:
        return np.asarray(x + OPEN_BOOST * tau * (1.0 - np.exp(-x / tau))
                          + CLOSE_BOOST * tau * (np.exp(-(full - x) / tau)
                                                 - math.exp(-full / tau)), dtype=np.float64)

    total = float(integral(np.array([full]))[0])
    return np.asarray(integral(m) / total, dtype=np.float64)


def _bar_fractions(times: tuple[datetime, ...]) -> FloatArray:
    """Variance share of each bar after the first, as a fraction of a full session's."""
    start = times[0]
    mins = np.array([(t - start).total_seconds() / 60.0 for t in times])
    cum = _variance_weight_cumulative(mins)
    return np.asarray(np.diff(cum), dtype=np.float64)


class MarketModel:
    """Generates pre-start daily history and then one :class:`DayPath` per trading day.

    Parameters
    ----------
    cal
        Trading calendar covering the history and the run.
    sessions
        The run's trading days, in order; :meth:`day` must be called for them in this order.
    seed
        Seed of the model's random generator.
    step_minutes
        Bar step (the grid comes from ``cal.bar_times``).
    scenario
        Named scenario (scenario mode); ignored when ``spx`` data is given.
    spx, vix
        User data: daily bars of the S&P 500 and the VIX by day (covering ``sessions``; rows
        before the first session are used as history).
    history_days
        Trading days of daily history before the first session.
    """

    def __init__(self, cal: TradingCalendar, sessions: tuple[date, ...], seed: int,
                 step_minutes: int, scenario: Scenario | None = None,
                 spx: dict[date, DailyBar] | None = None, vix: dict[date, DailyBar] | None = None,
                 history_days: int = DEFAULT_HISTORY_DAYS) -> None:
        if not sessions:
            raise ValueError("the model needs at least one session")
        if (spx is None) != (vix is None):
            raise ValueError("user data needs both the S&P 500 and the VIX series")
        if spx is None and scenario is None:
            raise ValueError("give a scenario or user data")
        self.cal = cal
        self.sessions = sessions
        self.step_minutes = step_minutes
        self.rng = np.random.default_rng(seed)
        self.scenario = scenario
        self._spx_data = spx
        self._vix_data = vix
        self._next = 0
        self._plan = self._shock_plan()
        cap = history_days + len(sessions) + 1
        self.hist_days: list[date] = []
        self.hist_close = np.full((cap, _S), np.nan)
        self.hist_vix = np.full(cap, np.nan)
        self.hist_atm = np.full((cap, _S), np.nan)
        self.hist_len = 0
        self.x = math.log(self._initial_vix())
        self.prev_x = self.x
        self.base = self.x
        self.spike = 0.0
        self.y = np.zeros(_S)
        self.levels = np.array([SERIES[n].start_level for n in BASE_SERIES])
        self._history(history_days)

    # ------------------------------------------------------------------ plan
    def _shock_plan(self) -> dict[int, ShockDay]:
        sc = self.scenario
        if self._spx_data is not None or sc is None or not sc.shock:
            return {}
        n = len(self.sessions)
        start = max(0, min(sc.lead_days, n - len(sc.shock)))
        return {start + i: d for i, d in enumerate(sc.shock) if start + i < n}

    def shock_days(self) -> tuple[date, ...]:
        """Trading days scripted by the scenario's shock (empty without one)."""
        return tuple(self.sessions[i] for i in sorted(self._plan))

    def _dynamics(self, index: int) -> VixDynamics:
        sc = self.scenario
        assert sc is not None
        if self._plan and index > max(self._plan):
            return sc.after
        return sc.before

    def _initial_vix(self) -> float:
        if self._vix_data is not None:
            first = min(self._vix_data)
            return self._vix_data[first].open
        assert self.scenario is not None
        return self.scenario.start_vix

    # ------------------------------------------------------------------ history
    def _record(self, day: date, closes: FloatArray, vix_close: float, vols: FloatArray) -> None:
        i = self.hist_len
        self.hist_days.append(day)
        self.hist_close[i] = closes
        self.hist_vix[i] = vix_close
        atm = vols.copy()
        atm[_EQUITY_MASK] = vix_close / 100.0 * VIX_ATM_FACTOR * _VOL_SCALE[_EQUITY_MASK]
        self.hist_atm[i] = atm
        self.hist_len += 1

    def _history(self, count: int) -> None:
        first = self.sessions[0]
        days = self.cal.sessions_before(first, count)
        if self._spx_data is None:
            dyn = self.scenario.before if self.scenario is not None else None
            assert dyn is not None
            for d in days:
                self._daily_step(d, dyn)
            return
        assert self._vix_data is not None
        data_days = [d for d in sorted(self._spx_data) if d < first and d in self._vix_data]
        data_days = data_days[-count:]
        synthetic = [d for d in days if not data_days or d < data_days[0]]
        synthetic = synthetic[-(count - len(data_days)):] if count > len(data_days) else []
        if synthetic:
            anchor_day = data_days[0] if data_days else first
            self._synthetic_prefix(synthetic, self._spx_data[anchor_day].open,
                                   self._vix_data[anchor_day].open)
        elif data_days:
            ratio = self._spx_data[data_days[0]].open / self.levels[_SPX]
            self.levels[_EQUITY_MASK] *= ratio
        for d in data_days:
            self._data_daily_step(d, self._spx_data[d].close, self._vix_data[d].close)

    def _synthetic_prefix(self, days: list[date], spx_anchor: float, vix_anchor: float) -> None:
        """Daily history ending at the anchors (user data shorter than the history window)."""
        from sim.scenarios import NORMAL

        start_i = self.hist_len
        for d in days:
            self._daily_step(d, NORMAL)
        end = self.hist_len
        spx_shift = spx_anchor / self.hist_close[end - 1, _SPX]
        vix_shift = vix_anchor / self.hist_vix[end - 1]
        self.hist_close[start_i:end, _EQUITY_MASK] *= spx_shift
        self.hist_vix[start_i:end] = np.clip(self.hist_vix[start_i:end] * vix_shift, 5.0, 150.0)
        eq = _EQUITY_MASK
        self.hist_atm[start_i:end, eq] = (self.hist_vix[start_i:end, None] / 100.0
                                          * VIX_ATM_FACTOR * _VOL_SCALE[eq])
        self.levels[eq] *= spx_shift
        self.x = math.log(self.hist_vix[end - 1])
        self.prev_x = self.x
        self.base, self.spike = self.x, 0.0

    def _update_vol_levels(self) -> FloatArray:
        """Advance the non-equity log-vol levels by one day; returns their ATM vols."""
        a = np.exp(-_VOL_KAPPA / YEAR_DAYS)
        eps = self.rng.standard_normal(_S)
        self.y = np.clip(self.y * a + _VIX_BETA * (self.x - self.prev_x)
                         + _VOV * math.sqrt(1.0 / YEAR_DAYS) * eps, -1.5, 1.5)
        vols = _BASE_VOL * np.exp(self.y)
        vols[_EQUITY_MASK] = np.nan
        return np.asarray(vols, dtype=np.float64)

    def _sigmas(self, vix_prev: FloatArray, vols: FloatArray) -> FloatArray:
        """Realised vol per increment and series, shape (m, S)."""
        sig = np.empty((vix_prev.shape[0], _S))
        sig[:, _EQUITY_MASK] = (EQUITY_REALIZED_FACTOR * vix_prev[:, None] / 100.0
                                * _VOL_SCALE[_EQUITY_MASK])
        other = ~_EQUITY_MASK
        sig[:, other] = OTHER_REALIZED_FACTOR * vols[other]
        return sig

    def _others(self, z_spx: FloatArray, sig: FloatArray, dt: FloatArray) -> FloatArray:
        """Log increments of every series given the S&P 500's standardised shocks."""
        m = z_spx.shape[0]
        eps = self.rng.standard_normal((m, _S - 1))
        z = np.empty((m, _S))
        z[:, 0] = z_spx
        z[:, 1:] = z_spx[:, None] * _C_OS + eps @ _L_RES.T
        sd = np.sqrt(dt)[:, None]
        drift = _DRIFT + _REVERSION * (_LOG_ANCHOR - np.log(self.levels))
        return np.asarray((drift - 0.5 * sig**2) * dt[:, None] + sig * sd * z, dtype=np.float64)

    def _free(self, dt: FloatArray, dyn: VixDynamics, vols: FloatArray,
              ) -> tuple[FloatArray, FloatArray]:
        """Log-VIX path (m,) and series log increments (m, S) under ``dyn``."""
        m = dt.shape[0]
        zv = self.rng.standard_normal(m)
        ze = self.rng.standard_normal(m)
        base = self.base + np.cumsum(dyn.kappa * (math.log(dyn.mean) - self.base) * dt
                                     + dyn.vol * np.sqrt(dt) * zv)
        elapsed = np.cumsum(dt)
        spike = self.spike * np.exp(-dyn.spike_kappa * elapsed)
        jump = np.zeros(m)
        if dyn.spike_rate > 0 and self.rng.random() < dyn.spike_rate * float(elapsed[-1]):
            at = int(self.rng.integers(0, m))
            target = math.log(self.rng.uniform(dyn.spike_low, dyn.spike_high))
            size = max(0.0, target - self.x)
            jump[at] = size
            spike = spike + size * np.exp(-dyn.spike_kappa * (elapsed - elapsed[at])) * (
                np.arange(m) >= at)
        lo, hi = math.log(dyn.floor), math.log(dyn.cap)
        x = np.clip(base + spike, lo, hi)
        self.spike = max(0.0, float(x[-1] - base[-1]))
        self.base = float(x[-1]) - self.spike
        vix = np.exp(x)
        vix_prev = np.concatenate(([math.exp(self.x)], vix[:-1]))
        sig = self._sigmas(vix_prev, vols)
        z_spx = VIX_EQUITY_CORR * zv + math.sqrt(1 - VIX_EQUITY_CORR**2) * ze
        spx_sd = sig[:, _SPX] * np.sqrt(dt)
        z_eff = z_spx - JUMP_EQUITY_BETA * jump / np.maximum(spx_sd, 1e-12)
        return np.asarray(x, dtype=np.float64), self._others(z_eff, sig, dt)

    def _conditional(self, spx_log: FloatArray, vix: FloatArray, dt: FloatArray,
                     vols: FloatArray) -> FloatArray:
        """Series log increments given the S&P 500 log levels (incl. the previous close first)."""
        d = np.diff(spx_log)
        vix_prev = np.concatenate(([math.exp(self.x)], vix[:-1]))
        sig = self._sigmas(vix_prev, vols)
        spx_sd = np.maximum(sig[:, _SPX] * np.sqrt(dt), 1e-12)
        drift = (_DRIFT[_SPX] - 0.5 * sig[:, _SPX] ** 2) * dt
        z = (d - drift) / spx_sd
        inc = self._others(z, sig, dt)
        inc[:, _SPX] = d
        return inc

    def _daily_step(self, day: date, dyn: VixDynamics) -> None:
        vols = self._update_vol_levels()
        x, inc = self._free(np.array([1.0 / YEAR_DAYS]), dyn, vols)
        self.levels = self.levels * np.exp(inc[-1])
        self.prev_x, self.x = self.x, float(x[-1])
        self._record(day, self.levels.copy(), math.exp(self.x), vols)

    def _data_daily_step(self, day: date, spx_close: float, vix_close: float) -> None:
        vols = self._update_vol_levels()
        spx_log = np.log(np.array([self.levels[_SPX], spx_close]))
        inc = self._conditional(spx_log, np.array([vix_close]), np.array([1.0 / YEAR_DAYS]),
                                vols)
        self.levels = self.levels * np.exp(inc[-1])
        self.levels[_SPX] = spx_close
        self.prev_x, self.x = self.x, math.log(vix_close)
        self.base, self.spike = self.x, 0.0
        self._record(day, self.levels.copy(), vix_close, vols)

    # ------------------------------------------------------------------ days
    def day(self, day: date) -> DayPath:
        """Generate ``day``'s path (the next session in order) and record its close."""
        if self._next >= len(self.sessions) or self.sessions[self._next] != day:
            expected = self.sessions[self._next] if self._next < len(self.sessions) else None
            raise ValueError(f"model days must be generated in order: got {day}, "
                             f"expected {expected}")
        index = self._next
        self._next += 1
        times = self.cal.bar_times(day, self.step_minutes)
        n = len(times)
        dt = np.concatenate(([(1.0 - INTRADAY_SHARE) / YEAR_DAYS],
                             _bar_fractions(times) * INTRADAY_SHARE / YEAR_DAYS))
        vols = self._update_vol_levels()
        prev = self.levels.copy()
        if self._spx_data is not None:
            assert self._vix_data is not None
            s, v = self._spx_data[day], self._vix_data[day]
            spx = bridge_path(self.rng, s.open, s.high, s.low, s.close, n)
            vix = bridge_path(self.rng, v.open, v.high, v.low, v.close, n)
            inc = self._conditional(np.log(np.concatenate(([prev[_SPX]], spx))), vix, dt, vols)
        elif index in self._plan:
            spx, vix = self._shock_paths(self._plan[index], index, prev[_SPX], n)
            inc = self._conditional(np.log(np.concatenate(([prev[_SPX]], spx))), vix, dt, vols)
        else:
            x, inc = self._free(dt, self._dynamics(index), vols)
            vix = np.exp(x)
        paths = prev * np.exp(np.cumsum(inc, axis=0))
        if self._spx_data is not None or index in self._plan:
            paths[:, _SPX] = spx
        self.levels = paths[-1].copy()
        self.prev_x, self.x = self.x, math.log(float(vix[-1]))
        if self._spx_data is not None or index in self._plan:
            self.base, self.spike = self.x, 0.0
        self._record(day, self.levels.copy(), float(vix[-1]), vols)
        return DayPath(day, times, np.asarray(paths, dtype=np.float64),
                       np.asarray(vix, dtype=np.float64), vols)

    def _shock_paths(self, shock: ShockDay, index: int, prev_spx: float,
                     n: int) -> tuple[FloatArray, FloatArray]:
        o, h, lo, c = (prev_spx * (1.0 + r) for r in shock.spx)
        spx = bridge_path(self.rng, o, h, lo, c, n, low_at=shock.spx_low_at)
        vo, vh, vl, vc = shock.vix
        if index == min(self._plan):
            vo = math.exp(self.x)
            vh, vl = max(vh, vo), min(vl, vo)
        vix = bridge_path(self.rng, vo, vh, vl, vc, n, high_at=shock.vix_high_at)
        return spx, vix

    # ------------------------------------------------------------------ queries
    def closes(self, series: str, count: int, include_last: bool = True) -> FloatArray:
        """Up to ``count`` recorded daily closes of ``series`` (oldest first)."""
        j = BASE_SERIES.index(series)
        end = self.hist_len if include_last else self.hist_len - 1
        return np.asarray(self.hist_close[max(0, end - count):end, j], dtype=np.float64)

    def atm_history(self, series: str, count: int, include_last: bool = True) -> FloatArray:
        """Up to ``count`` recorded daily 30-day ATM implied vols of ``series`` (oldest first)."""
        j = BASE_SERIES.index(series)
        end = self.hist_len if include_last else self.hist_len - 1
        return np.asarray(self.hist_atm[max(0, end - count):end, j], dtype=np.float64)

    def vix_history(self, count: int, include_last: bool = True) -> FloatArray:
        end = self.hist_len if include_last else self.hist_len - 1
        return np.asarray(self.hist_vix[max(0, end - count):end], dtype=np.float64)
