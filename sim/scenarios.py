"""Named market scenarios: VIX dynamics before and after an optional shock, and the shock days.

A scenario runs ``before`` dynamics for ``lead_days`` trading days, then its ``shock`` days (daily
open/high/low/close of the S&P 500 relative to the previous close and of the VIX in points, turned
into intraday paths by a Brownian bridge), then ``after`` dynamics until the end of the range.
Scenarios without a shock use the same dynamics throughout. Shock days are shaped after the named
historical episodes (approximate daily figures), scaled to whatever level the S&P 500 has reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class VixDynamics:
    """Log VIX as a slow mean-reverting base plus a fast-decaying spike component.

    Attributes
    ----------
    mean : float
        Level the base reverts to (points).
    kappa : float
        Mean-reversion speed of the log base per year.
    vol : float
        Annual volatility of the log base.
    spike_rate : float
        Expected spikes per year. A spike lifts the VIX at one bar to a level drawn uniformly from
        ``[spike_low, spike_high]`` (no spike when it is already higher) and moves the S&P 500 by
        ``-JUMP_EQUITY_BETA`` times the log-VIX jump; the spike part then decays at
        ``spike_kappa`` per year (half-life ``ln 2 / spike_kappa`` years).
    floor, cap : float
        Bounds of the VIX level (points).
    """

    mean: float
    kappa: float
    vol: float
    spike_rate: float = 0.0
    spike_low: float = 25.0
    spike_high: float = 45.0
    spike_kappa: float = 25.0
    floor: float = 9.0
    cap: float = 90.0

    def __post_init__(self) -> None:
        if not 0 < self.floor <= self.mean <= self.cap:
            raise ValueError(f"VIX dynamics need 0 < floor <= mean <= cap: {self}")
        if min(self.kappa, self.vol, self.spike_rate, self.spike_kappa) < 0:
            raise ValueError(f"VIX dynamics rates must be >= 0: {self}")
        if not 0 < self.spike_low <= self.spike_high:
            raise ValueError(f"VIX spike band must satisfy 0 < low <= high: {self}")


@dataclass(frozen=True, slots=True)
class ShockDay:
    """One scripted day.

    ``spx`` is (open, high, low, close) as fractions of the previous close minus one; ``vix`` is
    (open, high, low, close) in points. ``vix_high_at`` / ``spx_low_at`` place the VIX high and the
    S&P 500 low as a fraction of the session (None: random bar). The first shock day's VIX open is
    replaced by the previous close (so the path is continuous).
    """

    spx: tuple[float, float, float, float]
    vix: tuple[float, float, float, float]
    vix_high_at: float | None = None
    spx_low_at: float | None = None

    def __post_init__(self) -> None:
        for name, (o, h, lo, c) in (("spx", tuple(1 + v for v in self.spx)), ("vix", self.vix)):
            if not (0 < lo <= min(o, c) and max(o, c) <= h):
                raise ValueError(f"shock day {name} OHLC {o, h, lo, c} is inconsistent")
        for frac in (self.vix_high_at, self.spx_low_at):
            if frac is not None and not 0.0 <= frac <= 1.0:
                raise ValueError(f"shock time fraction {frac} must be in [0, 1]")


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    before: VixDynamics
    after: VixDynamics
    lead_days: int = 0
    shock: tuple[ShockDay, ...] = ()

    @property
    def start_vix(self) -> float:
        return self.before.mean


JUMP_EQUITY_BETA: Final = 0.05
"""S&P 500 log return per unit of log-VIX jump (VIX doubling in a jump: S&P 500 about -3.5%)."""


def _days_from_closes(spx_closes: tuple[float, ...], vix_closes: tuple[float, ...],
                      first_vix_open: float) -> tuple[ShockDay, ...]:
    """Shock days from daily closes: the open gaps a third of the day's move, the intraday range
    reaches a quarter of a daily standard deviation (from the VIX) beyond the open and close."""
    if len(spx_closes) != len(vix_closes) + 1:
        raise ValueError("need one more S&P 500 close (the base) than VIX closes")
    out = []
    prev_vix = first_vix_open
    for i, vix_close in enumerate(vix_closes):
        ret = spx_closes[i + 1] / spx_closes[i] - 1.0
        sd = vix_close / 100.0 / math.sqrt(252.0)
        o = ret / 3.0
        hi = max(o, ret) + 0.25 * sd
        lo = min(o, ret) - 0.25 * sd
        vo = prev_vix + (vix_close - prev_vix) / 3.0
        out.append(ShockDay((o, hi, lo, ret),
                            (vo, max(vo, vix_close) * 1.06, min(vo, vix_close) * 0.95, vix_close)))
        prev_vix = vix_close
    return tuple(out)


# S&P 500 and VIX closes, 19 Feb - 31 Mar 2020 (approximate).
_CRASH_SPX = (3386.15, 3373.23, 3337.75, 3225.89, 3128.21, 3116.39, 2978.76, 2954.22, 3090.23,
              3003.37, 3130.12, 3023.94, 2972.37, 2746.56, 2882.23, 2741.38, 2480.64, 2711.02,
              2386.13, 2529.19, 2398.10, 2409.39, 2304.92, 2237.40, 2447.33, 2475.56, 2630.07,
              2541.47, 2626.65, 2584.59)
_CRASH_VIX = (15.56, 17.08, 25.03, 27.85, 27.56, 39.16, 40.11, 33.42, 36.82, 31.99, 39.62, 41.94,
              54.46, 47.30, 53.90, 75.47, 57.83, 82.69, 75.91, 76.45, 72.00, 66.04, 61.59, 61.67,
              63.95, 61.00, 65.54, 57.08, 53.54)

NORMAL: Final = VixDynamics(mean=18.0, kappa=3.0, vol=0.6, spike_rate=4.0, spike_low=24.0,
                            spike_high=45.0, spike_kappa=25.0, floor=9.0, cap=90.0)
CALM: Final = VixDynamics(mean=13.2, kappa=6.0, vol=0.55, floor=11.0, cap=16.0)

SCENARIOS: Final[dict[str, Scenario]] = {
    s.name: s
    for s in (
        Scenario("normal", "VIX mean-reverting around 17 with occasional spikes",
                 NORMAL, NORMAL),
        Scenario("calm", "low volatility, VIX between 11 and 16", CALM, CALM),
        Scenario(
            "volmageddon",
            "February 2018: calm market, then the VIX doubles in a day and the S&P 500 falls 4%",
            VixDynamics(mean=11.5, kappa=6.0, vol=0.6, floor=9.0, cap=20.0), NORMAL, 20,
            (
                ShockDay((0.0, 0.004, -0.006, -0.0007), (12.5, 13.9, 12.0, 13.47)),
                ShockDay((-0.004, 0.0, -0.0215, -0.0212), (13.6, 17.5, 13.4, 17.31)),
                ShockDay((-0.0076, 0.0004, -0.045, -0.0410), (18.44, 38.80, 16.80, 37.32),
                         vix_high_at=0.98, spx_low_at=0.92),
                ShockDay((-0.013, 0.0196, -0.021, 0.0174), (36.5, 50.30, 22.42, 29.98),
                         vix_high_at=0.01, spx_low_at=0.02),
                ShockDay((0.002, 0.010, -0.006, -0.0050), (28.0, 29.5, 23.0, 27.73)),
                ShockDay((-0.002, 0.002, -0.0380, -0.0375), (28.0, 33.8, 27.5, 33.46)),
                ShockDay((-0.005, 0.016, -0.020, 0.0149), (33.0, 41.1, 28.5, 29.06)),
            ),
        ),
        Scenario(
            "crash",
            "a month like March 2020: the S&P 500 falls about 30% and the VIX reaches 80",
            VixDynamics(mean=14.0, kappa=6.0, vol=0.7, floor=10.0, cap=25.0), NORMAL, 20,
            _days_from_closes(_CRASH_SPX, _CRASH_VIX, 14.38),
        ),
        Scenario(
            "aug2024",
            "5 August 2024: the VIX jumps from 23 to 65 intraday and closes near 38; "
            "S&P 500 -3%",
            VixDynamics(mean=14.0, kappa=6.0, vol=0.8, floor=10.0, cap=22.0), NORMAL, 15,
            (
                ShockDay((0.004, 0.016, 0.002, 0.0158), (17.5, 17.9, 15.9, 16.36)),
                ShockDay((0.004, 0.010, -0.018, -0.0137), (16.5, 19.4, 15.6, 18.59)),
                ShockDay((-0.008, -0.002, -0.022, -0.0184), (19.5, 29.7, 19.3, 23.39)),
                ShockDay((-0.0365, -0.0179, -0.0425, -0.0300), (34.0, 65.73, 33.0, 38.57),
                         vix_high_at=0.01, spx_low_at=0.01),
                ShockDay((0.009, 0.020, 0.002, 0.0104), (32.0, 32.5, 26.0, 27.71)),
                ShockDay((0.011, 0.017, -0.010, -0.0077), (26.0, 29.5, 23.1, 27.85)),
                ShockDay((0.003, 0.024, 0.001, 0.0230), (26.5, 27.5, 23.3, 23.79)),
                ShockDay((-0.003, 0.005, -0.004, 0.0047), (23.5, 24.2, 20.2, 20.37)),
            ),
        ),
    )
}

DEFAULT_SCENARIO: Final = "normal"


def scenario(name: str) -> Scenario:
    """The scenario called ``name``; ``KeyError`` listing the names otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; choose from {sorted(SCENARIOS)}") from None
