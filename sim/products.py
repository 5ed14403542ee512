"""What the offline engine simulates for each root: its price series, futures style, volatility
surface shape, bid/ask model, listed expiries and margin method.

Contract facts (multiplier, strike step, tick) come from :mod:`config.instruments`; this module
holds only the model's assumptions, as tables. Every approximation is described in docs/SIM.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

import numpy as np
import numpy.typing as npt

from config.enums import PricingModel
from config.instruments import Instrument, instrument
from sim.expiries import QUARTER_MONTHS, ExpiryRule, Listing

BASE_SERIES: Final = ("SPX", "QQQ", "IWM", "CL", "GC", "ZB", "6E")
"""Simulated price series; every root's price is one of these times a scale."""

EQUITY_SERIES: Final = frozenset({"SPX", "QQQ", "IWM"})


@dataclass(frozen=True, slots=True)
class SeriesModel:
    """Dynamics of one base series.

    Attributes
    ----------
    start_level : float
        Level at the start of the generated pre-history (scenario mode).
    drift : float
        Expected annual log return before the ``-sigma^2/2`` correction.
    vol_scale : float
        Equity series: implied-vol multiple of the S&P 500 (VIX-driven) level.
    base_vol : float
        Other series: long-run 30-day ATM implied vol (annual fraction).
    vol_of_vol, vol_kappa : float
        Other series: annual vol and mean reversion (per year) of the log vol level.
    vix_beta : float
        Other series: response of the log vol level to daily log VIX changes.
    reversion : float
        Pull of the log price towards ``start_level`` per year (keeps commodity and currency
        levels in a plausible range over long runs; 0 for equity series).
    """

    name: str
    start_level: float
    drift: float
    vol_scale: float = 1.0
    base_vol: float = 0.0
    vol_of_vol: float = 0.0
    vol_kappa: float = 0.0
    vix_beta: float = 0.0
    reversion: float = 0.0

    @property
    def equity(self) -> bool:
        return self.name in EQUITY_SERIES


SERIES: Final[dict[str, SeriesModel]] = {
    s.name: s
    for s in (
        SeriesModel("SPX", 4700.0, 0.07),
        SeriesModel("QQQ", 390.0, 0.09, vol_scale=1.25),
        SeriesModel("IWM", 220.0, 0.06, vol_scale=1.35),
        SeriesModel("CL", 75.0, 0.0, base_vol=0.35, vol_of_vol=0.8, vol_kappa=3.0,
                    vix_beta=0.3, reversion=0.5),
        SeriesModel("GC", 1800.0, 0.03, base_vol=0.16, vol_of_vol=0.7, vol_kappa=3.0,
                    vix_beta=0.2, reversion=0.2),
        SeriesModel("ZB", 155.0, 0.0, base_vol=0.12, vol_of_vol=0.6, vol_kappa=3.0,
                    vix_beta=0.2, reversion=0.5),
        SeriesModel("6E", 1.13, 0.0, base_vol=0.08, vol_of_vol=0.6, vol_kappa=3.0,
                    vix_beta=0.2, reversion=0.5),
    )
}

# Correlation of daily log returns, in BASE_SERIES order (positive definite; checked in tests).
CORRELATION: Final[npt.NDArray[np.float64]] = np.array([
    # SPX   QQQ   IWM    CL    GC    ZB    6E
    [1.00, 0.92, 0.85, 0.30, 0.05, -0.25, 0.15],
    [0.92, 1.00, 0.78, 0.25, 0.05, -0.20, 0.12],
    [0.85, 0.78, 1.00, 0.30, 0.05, -0.22, 0.12],
    [0.30, 0.25, 0.30, 1.00, 0.15, -0.10, 0.15],
    [0.05, 0.05, 0.05, 0.15, 1.00, 0.30, 0.35],
    [-0.25, -0.20, -0.22, -0.10, 0.30, 1.00, 0.10],
    [0.15, 0.12, 0.12, 0.15, 0.35, 0.10, 1.00],
])

VIX_ATM_FACTOR: Final = 0.92
"""30-day ATM implied vol of the S&P 500 as a fraction of VIX (VIX includes the skew premium)."""
EQUITY_REALIZED_FACTOR: Final = 0.80
"""Realised S&P 500 vol as a fraction of VIX (the variance risk premium)."""
OTHER_REALIZED_FACTOR: Final = 0.90
"""Realised vol of non-equity series as a fraction of their ATM implied vol."""
VIX_LONG_RUN: Final = 19.0
"""Long-run VIX level anchoring the far end of the equity term structure."""


class FutureStyle(Enum):
    """How a root's price relates to its base series.

    SPOT: the series itself (index, ETF). QUARTERLY: equity index future on the quarterly cycle;
    an option's underlying is the quarterly contract expiring on or after the option, priced at
    ``series * exp(r * years_to_future_expiry)`` (no dividends). FLAT: commodity/currency future
    with a flat curve; every contract month trades at the simulated series level.
    """

    SPOT = "spot"
    QUARTERLY = "quarterly"
    FLAT = "flat"


class MarginStyle(Enum):
    REG_T = "reg_t"
    SPAN = "span"


@dataclass(frozen=True, slots=True)
class SurfaceShape:
    """Smile in standardised moneyness ``x = ln(K/F) / (atm * sqrt(t))``:
    ``iv = atm(t) * clip(1 - skew*x + smile*x^2, floor, cap)`` with ``x`` clipped to ``±x_max``.
    ``term_kappa`` (per year) sets how fast the term structure reverts to the long-run level."""

    skew: float
    smile: float
    term_kappa: float = 4.0
    x_max: float = 4.0
    floor: float = 0.55
    cap: float = 3.0


@dataclass(frozen=True, slots=True)
class SpreadModel:
    """Bid/ask width parameters (see :func:`sim.surface.bid_ask`)."""

    ticks: float = 1.5
    tenor: float = 0.5
    pct: float = 0.005
    otm: float = 1.0
    cheap: float = 10.0


@dataclass(frozen=True, slots=True)
class Product:
    """The model's view of one root."""

    root: str
    series: str
    scale: float
    style: FutureStyle
    surface: SurfaceShape
    spread: SpreadModel
    listings: tuple[Listing, ...]

    @property
    def instrument(self) -> Instrument:
        return instrument(self.root)

    @property
    def pricing_model(self) -> PricingModel:
        return self.instrument.pricing_model

    @property
    def margin(self) -> MarginStyle:
        return MarginStyle.SPAN if self.style is not FutureStyle.SPOT else MarginStyle.REG_T


_SPREAD = SpreadModel()
_EQ_SKEW = SurfaceShape(skew=0.20, smile=0.03)
_ETF_SKEW = SurfaceShape(skew=0.18, smile=0.03)
_D, _F, _T = ExpiryRule.DAILY, ExpiryRule.FRIDAY, ExpiryRule.THIRD_FRIDAY
_ES_LISTINGS = (Listing(_D, 14), Listing(_F, 63), Listing(_T, 365),
                Listing(_T, 730, QUARTER_MONTHS))
_ETF_LISTINGS = (Listing(_D, 14), Listing(_F, 63), Listing(_T, 400),
                 Listing(_T, 730, QUARTER_MONTHS), Listing(_T, 1000, frozenset({1})))


def _monthly(rule: ExpiryRule) -> tuple[Listing, ...]:
    return (Listing(rule, 400),)


PRODUCTS: Final[dict[str, Product]] = {
    p.root: p
    for p in (
        Product("ES", "SPX", 1.0, FutureStyle.QUARTERLY, _EQ_SKEW, _SPREAD, _ES_LISTINGS),
        Product("MES", "SPX", 1.0, FutureStyle.QUARTERLY, _EQ_SKEW, _SPREAD, _ES_LISTINGS),
        Product("NQ", "QQQ", 41.0, FutureStyle.QUARTERLY, _ETF_SKEW, _SPREAD, ()),
        Product("MNQ", "QQQ", 41.0, FutureStyle.QUARTERLY, _ETF_SKEW, _SPREAD, ()),
        Product("SPX", "SPX", 1.0, FutureStyle.SPOT, _EQ_SKEW, _SPREAD,
                (Listing(_T, 365), Listing(_T, 1100, frozenset({12})))),
        Product("SPXW", "SPX", 1.0, FutureStyle.SPOT, _EQ_SKEW, _SPREAD,
                (Listing(_D, 45), Listing(_F, 400))),
        Product("SPY", "SPX", 0.1, FutureStyle.SPOT, _ETF_SKEW, _SPREAD, _ETF_LISTINGS),
        Product("QQQ", "QQQ", 1.0, FutureStyle.SPOT, _ETF_SKEW, _SPREAD, _ETF_LISTINGS),
        Product("IWM", "IWM", 1.0, FutureStyle.SPOT, _ETF_SKEW, _SPREAD, _ETF_LISTINGS),
        Product("CL", "CL", 1.0, FutureStyle.FLAT, SurfaceShape(skew=0.05, smile=0.04),
                _SPREAD, _monthly(ExpiryRule.CL)),
        Product("MCL", "CL", 1.0, FutureStyle.FLAT, SurfaceShape(skew=0.05, smile=0.04),
                _SPREAD, _monthly(ExpiryRule.CL)),
        Product("GC", "GC", 1.0, FutureStyle.FLAT, SurfaceShape(skew=-0.05, smile=0.03),
                _SPREAD, _monthly(ExpiryRule.GC)),
        Product("MGC", "GC", 1.0, FutureStyle.FLAT, SurfaceShape(skew=-0.05, smile=0.03),
                _SPREAD, _monthly(ExpiryRule.GC)),
        Product("ZB", "ZB", 1.0, FutureStyle.FLAT, SurfaceShape(skew=0.03, smile=0.03),
                _SPREAD, _monthly(ExpiryRule.ZB)),
        Product("6E", "6E", 1.0, FutureStyle.FLAT, SurfaceShape(skew=0.0, smile=0.03),
                _SPREAD, _monthly(ExpiryRule.EUR)),
    )
}


def product(root: str) -> Product:
    """The model entry for ``root``; ``KeyError`` naming the root when it is not simulated."""
    try:
        return PRODUCTS[root]
    except KeyError:
        raise KeyError(f"root {root!r} is not simulated; sim roots are {sorted(PRODUCTS)}") \
            from None
