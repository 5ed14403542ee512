"""Dollar greeks of a book: a value type that adds across legs and scales by quantity.

Units (all USD, each leg's contract multiplier from the catalogue applied explicitly):

* ``delta`` — P&L for a +1% move of every underlying: Σ q·m·Δ·S / 100.
* ``gamma`` — change of ``delta`` for a further +1% move: Σ q·m·Γ·S² / 10⁴.
* ``theta`` — P&L per calendar day with nothing else changing: Σ q·m·θ.
* ``vega`` — P&L for +1 vol point in every implied vol: Σ q·m·vega.

``q`` is signed contracts (+ long), ``m`` the multiplier, greeks per contract from :mod:`greeks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from risk.legs import LegColumns, StressLeg, first_issue, unit_greeks
from risk.types import Rejection

CHECK = "greeks"
_PCT = 0.01


@dataclass(frozen=True, slots=True)
class PortfolioGreeks:
    """Dollar greeks (see the module docstring for units). Adds with ``+``, scales with ``*``."""

    delta: float = 0.0
    gamma: float = 0.0
    theta: float = 0.0
    vega: float = 0.0

    def __add__(self, other: PortfolioGreeks) -> PortfolioGreeks:
        return PortfolioGreeks(self.delta + other.delta, self.gamma + other.gamma,
                               self.theta + other.theta, self.vega + other.vega)

    def __mul__(self, k: float) -> PortfolioGreeks:
        return PortfolioGreeks(self.delta * k, self.gamma * k, self.theta * k, self.vega * k)

    __rmul__ = __mul__

    def __neg__(self) -> PortfolioGreeks:
        return self * -1.0

    def __sub__(self, other: PortfolioGreeks) -> PortfolioGreeks:
        return self + (-other)

    @staticmethod
    def zero() -> PortfolioGreeks:
        return PortfolioGreeks()

    @staticmethod
    def of(legs: Sequence[StressLeg]) -> PortfolioGreeks | Rejection:
        """Sum of the legs' dollar greeks; a leg without IV or price gives a Rejection.

        An empty sequence is the zero value.
        """
        if not legs:
            return PortfolioGreeks()
        bad = first_issue(legs)
        if bad is not None:
            code, symbol = bad
            return Rejection(CHECK, code, detail=f"leg {symbol} has no greeks")
        cols = LegColumns.of(legs)
        try:
            g = unit_greeks(cols)
        except (ValueError, ArithmeticError) as exc:
            return Rejection(CHECK, "greeks_failed", detail=str(exc))
        per = np.stack([g.delta, g.gamma, g.theta, g.vega])
        if not np.all(np.isfinite(per)):
            col = int(np.argwhere(~np.isfinite(per))[0][1])
            return Rejection(CHECK, "greeks_failed",
                             detail=f"leg {legs[col].contract.symbol} has no greeks")
        qm = cols.dollars_per_point
        s = cols.spot
        return PortfolioGreeks(
            delta=float(np.sum(qm * g.delta * s) * _PCT),
            gamma=float(np.sum(qm * g.gamma * s * s) * _PCT * _PCT),
            theta=float(np.sum(qm * g.theta)),
            vega=float(np.sum(qm * g.vega)),
        )
