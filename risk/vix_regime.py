"""The one owner of the VIX value and the VIX regime (SPEC §3).

Regime bands come from ``cfg.vix.bands`` (``lower <= vix < upper``). A VIX that is missing, NaN,
negative or older than ``cfg.vix.stale_minutes`` is regime ``UNKNOWN``: no new entries, zero size
multiplier and zero BP cap (management of open positions is not this module's concern).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Final

from config.enums import Phase, Regime, StrategyKey
from config.model import Config, RegimeBand
from risk.types import Rejection

CHECK: Final = "regime"
# Tolerance on the spike fraction so that exactly +10% computed in floating point counts.
_TOL: Final = 1e-12

# Strategies whose size is multiplied by ``cfg.vix.spike_size_multiplier`` on a VIX spike.
SPIKE_SCALED_KEYS: Final = frozenset({StrategyKey.FRIDAY_0DTE})


def _valid(value: float) -> bool:
    return math.isfinite(value) and value >= 0.0


class VixRegimeManager:
    """Holds the latest VIX observation and the day's opening VIX.

    The latest observation wins even when it is invalid: a NaN or negative print makes the regime
    UNKNOWN until a valid one arrives (fail closed); ``invalid_updates`` counts them. Observations
    older than the latest one are ignored.
    """

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self._bands: tuple[RegimeBand, ...] = cfg.vix.bands
        self._stale = timedelta(minutes=cfg.vix.stale_minutes)
        self._value: float | None = None
        self._time: datetime | None = None
        self._day: date | None = None
        self._day_open: float | None = None
        self.invalid_updates = 0

    def start_day(self, day: date) -> None:
        """Begin ``day``: the next valid update dated ``day`` or later becomes its open VIX.

        A repeated call for the current day keeps the open already recorded."""
        if self._day == day:
            return
        self._day = day
        self._day_open = None

    def update(self, value: float, time: datetime) -> None:
        """Record a VIX print (index points) observed at ``time`` (naive exchange time)."""
        if self._time is not None and time < self._time:
            return
        if not _valid(value):
            self.invalid_updates += 1
            self._value, self._time = None, time
            return
        self._value, self._time = float(value), time
        if self._day_open is None and (self._day is None or time.date() >= self._day):
            self._day_open = float(value)
            if self._day is None:
                self._day = time.date()

    def value(self, now: datetime) -> float | None:
        """The VIX at ``now``: the latest valid print when not older than the staleness limit."""
        if self._value is None or self._time is None:
            return None
        if now - self._time > self._stale:
            return None
        return self._value

    @property
    def day_open(self) -> float | None:
        """The first valid VIX of the current day (None before it arrives)."""
        return self._day_open

    def band(self, now: datetime) -> RegimeBand | None:
        """The configuration band of the VIX at ``now``; None when the regime is UNKNOWN."""
        v = self.value(now)
        if v is None:
            return None
        for b in self._bands:
            if b.lower <= v < b.upper:
                return b
        return None

    def regime(self, now: datetime) -> Regime:
        b = self.band(now)
        return Regime.UNKNOWN if b is None else b.regime

    def spike(self, now: datetime) -> bool:
        """VIX up at least ``spike_fraction`` since the day's open (False when either is unknown;
        an unknown VIX already blocks entries through :meth:`allows`)."""
        v = self.value(now)
        o = self._day_open
        if v is None or o is None or o <= 0.0:
            return False
        return (v - o) / o >= self._cfg.vix.spike_fraction - _TOL

    def size_multiplier(self, now: datetime) -> float:
        """The regime's size multiplier; 0 when UNKNOWN."""
        b = self.band(now)
        return 0.0 if b is None else b.size_multiplier

    def spike_multiplier(self, key: StrategyKey, now: datetime) -> float:
        """``cfg.vix.spike_size_multiplier`` for spike-scaled strategies on a spike, else 1."""
        if key in SPIKE_SCALED_KEYS and self.spike(now):
            return self._cfg.vix.spike_size_multiplier
        return 1.0

    def max_bp(self, phase: Phase, key: StrategyKey, now: datetime | None = None) -> float:
        """Largest fraction of NLV that may be used as buying power for a new ``key`` entry.

        The regime band's cap, capped by the phase cap. The CRISIS cap applies to short-put
        structures only (``common.short_put_structure``); other strategies get 0 there. UNKNOWN
        gives 0. ``now`` None evaluates the regime at the time of the latest print (no staleness
        check); the pre-trade gate always passes ``now``.
        """
        at = now if now is not None else self._time
        if at is None:
            return 0.0
        b = self.band(at)
        if b is None:
            return 0.0
        if b.regime is Regime.CRISIS and not self._cfg.strategies.common(key).short_put_structure:
            return 0.0
        return min(b.max_bp, self._cfg.phases.phase_max_bp(phase))

    def allows(self, key: StrategyKey, now: datetime) -> Rejection | None:
        """None when ``key`` may open a position in the regime at ``now``."""
        v = self.value(now)
        regime = self.regime(now)
        block = self._cfg.vix.entry_block(key, regime, v)
        if block is None:
            return None
        code, detail = block
        return Rejection(CHECK, code, limit=regime.name, observed=v, detail=detail)
