"""One option at a time: the Black-76 price in plain Python floats.

The array functions cost a fixed 15-20 us per call however few the options (numpy dispatch);
a caller that prices one or two options at a time in a hot loop (the exit pass's delta screen)
uses this form instead, at about a microsecond per price. The conventions are those of
:func:`greeks.black76_price`: ``t <= 0`` gives the intrinsic value ``max(phi (F - K), 0)``,
``sigma <= 0`` the discounted one, and the value is never negative. The normal CDF is
``erfc(-x / sqrt 2) / 2`` from the C library, so results agree with the array form to rounding
(about 1e-15 relative where the price is not a deep in-the-money cancellation), not bit for bit.
"""

from __future__ import annotations

import math
from typing import Final

_INV_SQRT2: Final = 1.0 / math.sqrt(2.0)


def _cdf(x: float) -> float:
    return 0.5 * math.erfc(-x * _INV_SQRT2)


def black76_price_one(forward: float, strike: float, t: float, r: float, sigma: float,
                      is_call: bool) -> float:
    """Black-76 value of one European option on a futures (forward) price; arguments as
    :func:`greeks.black76_price`, as Python scalars. NaN in, NaN out."""
    phi = 1.0 if is_call else -1.0
    intrinsic = max(phi * (forward - strike), 0.0)
    if t <= 0.0:
        return intrinsic
    disc = math.exp(-r * t)
    if sigma <= 0.0:
        return disc * intrinsic
    v = sigma * math.sqrt(t)
    d1 = math.log(forward / strike) / v + 0.5 * v
    value = disc * phi * (forward * _cdf(phi * d1) - strike * _cdf(phi * (d1 - v)))
    return max(value, 0.0)
