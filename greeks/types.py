"""The ``Greeks`` value type: option value and sensitivities that add and scale."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Greeks:
    """Value and first/second-order sensitivities of one option or an array of options.

    All fields are float64 arrays of one common shape (0-d for scalar inputs). Values are per
    unit of the underlying (contract multiplier not applied); multiply by
    ``multiplier * quantity`` to get position greeks, and add positions with ``+``.

    Attributes
    ----------
    price : ndarray
        Option value in the currency of the underlying.
    delta : ndarray
        dV/dS per unit of the underlying (Black-76: dV/dF, with respect to the futures price).
    gamma : ndarray
        d2V/dS2 per unit of the underlying squared (Black-76: d2V/dF2).
    theta : ndarray
        -dV/dt per calendar day (annual rate / 365), sign as the value change of a long
        position as one day passes; Black-76 holds the futures price fixed.
    vega : ndarray
        dV/dsigma per one volatility point (0.01 absolute).

    Notes
    -----
    ``eq=False``: numpy arrays have no single truth value, so equality is left to the caller
    (e.g. ``numpy.testing``). Treat the arrays as read-only.
    """

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray

    # numpy operands defer to Greeks.__rmul__ (``array * greeks`` scales instead of building an
    # object array).
    __array_ufunc__ = None

    def __post_init__(self) -> None:
        shape: tuple[int, ...] | None = None
        for f in fields(self):
            arr = np.asarray(getattr(self, f.name), dtype=np.float64)
            object.__setattr__(self, f.name, arr)
            if shape is None:
                shape = arr.shape
            elif arr.shape != shape:
                raise ValueError(
                    f"Greeks fields must share one shape: {f.name} has {arr.shape}, "
                    f"price has {shape}"
                )

    @classmethod
    def of_arrays(
        cls,
        price: FloatArray,
        delta: FloatArray,
        gamma: FloatArray,
        theta: FloatArray,
        vega: FloatArray,
    ) -> Greeks:
        """Wrap float64 arrays that already share one shape, without conversion or checks."""
        g = object.__new__(cls)
        object.__setattr__(g, "price", price)
        object.__setattr__(g, "delta", delta)
        object.__setattr__(g, "gamma", gamma)
        object.__setattr__(g, "theta", theta)
        object.__setattr__(g, "vega", vega)
        return g

    @property
    def shape(self) -> tuple[int, ...]:
        """Common shape of the fields."""
        return self.price.shape

    def __add__(self, other: Greeks) -> Greeks:
        """Element-wise sum (numpy broadcasting applies to differing shapes)."""
        if not isinstance(other, Greeks):
            return NotImplemented
        return Greeks(
            price=self.price + other.price,
            delta=self.delta + other.delta,
            gamma=self.gamma + other.gamma,
            theta=self.theta + other.theta,
            vega=self.vega + other.vega,
        )

    def __mul__(self, factor: float | npt.ArrayLike) -> Greeks:
        """Scale every field, e.g. by ``multiplier * signed_quantity`` (float or array)."""
        k = np.asarray(factor, dtype=np.float64)
        return Greeks(
            price=self.price * k,
            delta=self.delta * k,
            gamma=self.gamma * k,
            theta=self.theta * k,
            vega=self.vega * k,
        )

    def __rmul__(self, factor: float | npt.ArrayLike) -> Greeks:
        return self.__mul__(factor)

    def __neg__(self) -> Greeks:
        return self * -1.0

    def __sub__(self, other: Greeks) -> Greeks:
        if not isinstance(other, Greeks):
            return NotImplemented
        return self + (-other)

    def total(self) -> Greeks:
        """Sum over all elements (portfolio totals), as 0-d arrays."""
        return Greeks(
            price=np.asarray(np.sum(self.price)),
            delta=np.asarray(np.sum(self.delta)),
            gamma=np.asarray(np.sum(self.gamma)),
            theta=np.asarray(np.sum(self.theta)),
            vega=np.asarray(np.sum(self.vega)),
        )

    @staticmethod
    def zero() -> Greeks:
        """Neutral element of ``+`` (0-d zeros), e.g. ``sum(legs, Greeks.zero())``."""
        z = np.zeros(())
        return Greeks(price=z, delta=z, gamma=z, theta=z, vega=z)
