"""Verdicts of the risk layer."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Approval:
    """The gate's yes: open ``contracts`` units; ``binding`` names the constraint that set it;
    ``bp_per_unit`` is the buying power one unit was sized with (USD; NaN when not estimated)."""

    contracts: int
    binding: str
    detail: str = ""
    bp_per_unit: float = math.nan


@dataclass(frozen=True, slots=True)
class Rejection:
    """The gate's no. ``check`` is the gate stage (phase, regime, breakers, correlation, stress,
    sizing); ``reason`` a stable code counted in reports; ``limit``/``observed`` the figures."""

    check: str
    reason: str
    limit: float | str | None = None
    observed: float | str | None = None
    detail: str = ""


Verdict = Approval | Rejection
