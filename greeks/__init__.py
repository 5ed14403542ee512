"""Vectorised Black-Scholes-Merton and Black-76 prices, greeks and implied volatility.

Units: ``t`` in years; rates and volatilities annualised; delta per unit of the underlying
(Black-76: dV/dF); gamma per unit squared; theta = -dV/dt per calendar day; vega per volatility
point (0.01). All functions broadcast numpy arrays; ``is_call`` is a bool or bool array.
"""

from greeks.implied import implied_vol_black76, implied_vol_bsm
from greeks.pricing import (
    black76_greeks,
    black76_price,
    black76_price_delta,
    bsm_greeks,
    bsm_price,
    bsm_price_delta,
)
from greeks.scalar import black76_price_one
from greeks.types import Greeks

__all__ = [
    "Greeks",
    "black76_greeks",
    "black76_price",
    "black76_price_delta",
    "black76_price_one",
    "bsm_greeks",
    "bsm_price",
    "bsm_price_delta",
    "implied_vol_black76",
    "implied_vol_bsm",
]
