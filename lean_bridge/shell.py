"""Algorithm-shell parameters (backtest window and starting cash) and the split of a LEAN
parameter set into shell and trading-core parameters.

LEAN passes every ``config.json`` parameter as a string (``algorithm.get_parameters()``);
``lean backtest --parameter k v`` replaces the whole block, so missing shell parameters fall back
to :data:`SHELL_DEFAULTS` (which ``config.json`` repeats).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from config.loader import SHELL_PARAMETERS

SHELL_DEFAULTS: Final[dict[str, str]] = {
    "start": "2024-01-02",
    "end": "2024-12-31",
    "cash": "100000",
}


class ShellParameterError(ValueError):
    """A shell parameter that cannot be used; the message names it and its value."""


@dataclass(frozen=True, slots=True)
class ShellSettings:
    """Backtest window (inclusive dates) and starting cash (USD)."""

    start: date
    end: date
    cash: float

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ShellParameterError(f"end {self.end} is before start {self.start}")
        if not math.isfinite(self.cash) or self.cash <= 0:
            raise ShellParameterError(f"cash must be a positive number, got {self.cash}")


def _date(name: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ShellParameterError(f"parameter {name!r}: value {text!r} is not a date "
                                  f"YYYY-MM-DD") from None


def shell_settings(parameters: Mapping[str, str]) -> ShellSettings:
    """Read ``start``, ``end`` and ``cash`` from ``parameters`` (defaults when absent/empty)."""
    values = {k: (parameters.get(k) or "").strip() or v for k, v in SHELL_DEFAULTS.items()}
    try:
        cash = float(values["cash"])
    except ValueError:
        raise ShellParameterError(f"parameter 'cash': value {values['cash']!r} is not a "
                                  f"number") from None
    return ShellSettings(_date("start", values["start"]), _date("end", values["end"]), cash)


def core_parameters(parameters: Mapping[str, str],
                    shell_names: frozenset[str] = SHELL_PARAMETERS) -> dict[str, str]:
    """The parameters for :func:`config.load_config`: everything but the shell's own names."""
    return {k: v for k, v in parameters.items() if k not in shell_names}
