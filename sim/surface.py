"""Volatility surface and bid/ask model of the synthetic option chains.

Times ``t`` are in trading years (trading days to expiry, counting the rest of today's session as
a fraction, divided by 252), the same clock the market model realises variance on.

ATM term structure (a Heston-style variance decay written on vols)::

    atm(t) = L + (atm30 - L) * g(t) / g(T30),   g(t) = (1 - exp(-k t)) / (k t)

with ``atm30`` the 30-day ATM vol (from the VIX for equity roots, the root's own level otherwise),
``L`` the long-run level and ``T30 = 21/252``: short expiries move most when the VIX moves, so the
curve is upward-sloping in calm markets and inverted in stress. The smile is a quadratic in
standardised moneyness ``x = ln(K/F) / (atm(t) sqrt(t))`` (put skew for equity roots), so the
skew in delta terms is similar across expiries.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from sim.products import SpreadModel, SurfaceShape

FloatArray = npt.NDArray[np.float64]

T30: Final = 21.0 / 252.0
MIN_T: Final = 1e-7
EQUITY_CALM_VIX: Final = 15.0
"""VIX level at which equity spreads take their base width."""


def atm_vol(atm30: FloatArray, long_run: FloatArray, t: FloatArray,
            kappa: FloatArray | float) -> FloatArray:
    """ATM implied vol (annual fraction) at trading-year maturity ``t`` (floored at 30% of
    ``atm30``)."""
    tt = np.maximum(t, MIN_T)
    kt = np.maximum(kappa * tt, 1e-9)
    k30 = np.maximum(np.asarray(kappa, dtype=np.float64) * T30, 1e-9)
    g = -np.expm1(-kt) / kt
    g30 = -np.expm1(-k30) / k30
    return np.asarray(np.maximum(long_run + (atm30 - long_run) * g / g30, 0.3 * atm30),
                      dtype=np.float64)


def moneyness(log_k_over_f: FloatArray, atm: FloatArray, t: FloatArray,
              x_max: FloatArray | float) -> FloatArray:
    """Standardised moneyness ``ln(K/F) / (atm sqrt(t))`` clipped to ``±x_max``."""
    sd = atm * np.sqrt(np.maximum(t, MIN_T))
    return np.asarray(np.clip(log_k_over_f / sd, -x_max, x_max), dtype=np.float64)


def smile_factor(x: FloatArray, skew: FloatArray | float, smile: FloatArray | float,
                 floor: FloatArray | float, cap: FloatArray | float) -> FloatArray:
    """Implied vol over ATM vol at standardised moneyness ``x`` (negative = below forward)."""
    return np.asarray(np.clip(1.0 - skew * x + smile * x * x, floor, cap), dtype=np.float64)


def shape_vol(shape: SurfaceShape, atm30: float, long_run: float, t: FloatArray,
              log_k_over_f: FloatArray) -> FloatArray:
    """Implied vol of one product's surface at maturities ``t`` and log-moneyness."""
    a30 = np.full_like(t, atm30)
    atm = atm_vol(a30, np.full_like(t, long_run), t, shape.term_kappa)
    x = moneyness(log_k_over_f, atm, t, shape.x_max)
    return np.asarray(atm * smile_factor(x, shape.skew, shape.smile, shape.floor, shape.cap),
                      dtype=np.float64)


def bid_ask(model: SpreadModel | tuple[FloatArray, ...], tick: float | FloatArray,
            mid: FloatArray, x: FloatArray, t: FloatArray,
            vol_ratio: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Bid and ask around ``mid`` on the tick grid.

    ``width = ticks * tick * r^1.5 * (1 + tenor * t) * mid / (mid + cheap * tick)
    + pct * mid * (1 + otm * |x|) * r^0.5`` with ``r`` the vol level (``vol_ratio``: VIX / 15 for
    equity roots, ATM vol / long-run vol otherwise): a few ticks near the money in calm markets,
    one tick for options worth a few ticks, relatively wider out of the money and wider as
    volatility rises. Bid and ask are rounded to the nearest tick, at least one tick apart; the
    bid is never negative (a far out-of-the-money option can be bid at zero). ``model`` is one
    :class:`SpreadModel` or its five parameters as per-row arrays (ticks, tenor, pct, otm,
    cheap).
    """
    ticks: float | FloatArray
    tenor: float | FloatArray
    pct: float | FloatArray
    otm: float | FloatArray
    cheap: float | FloatArray
    if isinstance(model, SpreadModel):
        ticks, tenor, pct, otm, cheap = (model.ticks, model.tenor, model.pct, model.otm,
                                         model.cheap)
    else:
        ticks, tenor, pct, otm, cheap = model
    tk = np.asarray(tick, dtype=np.float64)
    vr = np.maximum(vol_ratio, 0.2)
    m = np.maximum(mid, 0.0)
    width = (ticks * tk * vr**1.5 * (1.0 + tenor * t) * m / (m + cheap * tk)
             + pct * m * (1.0 + otm * np.abs(x)) * np.sqrt(vr))
    half = 0.5 * width
    bid = np.maximum(np.round((mid - half) / tk) * tk, 0.0)
    ask = np.maximum(np.round((mid + half) / tk) * tk, bid + tk)
    return np.asarray(bid, dtype=np.float64), np.asarray(ask, dtype=np.float64)
