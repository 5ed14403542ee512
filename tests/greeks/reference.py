"""Textbook closed forms (Hull, "Options, Futures, and Other Derivatives") written with the
``math`` module, one option at a time: the oracle the vectorised library is checked against."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def norm_cdf(x: float) -> float:
    """Standard normal CDF via ``math.erfc`` (accurate in both tails)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def norm_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True, slots=True)
class RefGreeks:
    price: float
    delta: float
    gamma: float
    theta: float
    vega: float


def bsm(s: float, k: float, t: float, r: float, q: float, sigma: float, call: bool) -> RefGreeks:
    """BSM value and greeks; theta per calendar day, vega per volatility point."""
    phi = 1.0 if call else -1.0
    sq = math.sqrt(t)
    d1 = (math.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / (sigma * sq)
    d2 = d1 - sigma * sq
    eq, er = math.exp(-q * t), math.exp(-r * t)
    price = phi * (s * eq * norm_cdf(phi * d1) - k * er * norm_cdf(phi * d2))
    delta = phi * eq * norm_cdf(phi * d1)
    gamma = eq * norm_pdf(d1) / (s * sigma * sq)
    vega = s * eq * norm_pdf(d1) * sq
    theta = (
        -s * eq * norm_pdf(d1) * sigma / (2.0 * sq)
        - phi * r * k * er * norm_cdf(phi * d2)
        + phi * q * s * eq * norm_cdf(phi * d1)
    )
    return RefGreeks(price, delta, gamma, theta / 365.0, vega * 0.01)


def black76(f: float, k: float, t: float, r: float, sigma: float, call: bool) -> RefGreeks:
    """Black-76 value and greeks (derivatives with respect to F, theta with F held fixed)."""
    phi = 1.0 if call else -1.0
    sq = math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sigma * sigma * t) / (sigma * sq)
    d2 = d1 - sigma * sq
    er = math.exp(-r * t)
    price = er * phi * (f * norm_cdf(phi * d1) - k * norm_cdf(phi * d2))
    delta = er * phi * norm_cdf(phi * d1)
    gamma = er * norm_pdf(d1) / (f * sigma * sq)
    vega = er * f * norm_pdf(d1) * sq
    theta = -er * f * norm_pdf(d1) * sigma / (2.0 * sq) + r * price
    return RefGreeks(price, delta, gamma, theta / 365.0, vega * 0.01)


def columns(rows: list[RefGreeks]) -> dict[str, FloatArray]:
    """Reference results as arrays keyed by field name."""
    return {
        name: np.array([getattr(row, name) for row in rows])
        for name in ("price", "delta", "gamma", "theta", "vega")
    }


def assert_close_1e10(actual: npt.ArrayLike, expected: npt.ArrayLike) -> None:
    """Within 1e-10: relative where |expected| > 1, absolute below."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    err = np.abs(a - e) / np.maximum(1.0, np.abs(e))
    assert np.all(err <= 1e-10), f"max scaled error {np.max(err):.3e}"
