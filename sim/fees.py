"""Commission schedules of the simulated broker, as data.

The Tastytrade schedule (LEAN_NOTES.md): equity and index options $1 per contract to open (at
most $10 per leg), $0 to close; futures options $2.50 per contract to open, $0 to close; futures
$1.25 per contract each way. Exchange and clearing fees are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from config.enums import InstrumentKind
from config.instruments import Contract, instrument


@dataclass(frozen=True, slots=True)
class FeeRate:
    """Dollars per contract to open and to close; ``cap_per_leg`` caps the opening commission
    of one leg of one order (None: no cap)."""

    open: float
    close: float
    cap_per_leg: float | None = None

    def __post_init__(self) -> None:
        if self.open < 0 or self.close < 0 or (self.cap_per_leg is not None
                                               and self.cap_per_leg < 0):
            raise ValueError(f"fee rates must be >= 0: {self}")


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Rates by (underlying kind, is option)."""

    name: str
    rates: dict[tuple[InstrumentKind, bool], FeeRate] = field(default_factory=dict)

    def rate(self, contract: Contract) -> FeeRate:
        kind = instrument(contract.root).kind
        key = (kind, contract.is_option)
        if key not in self.rates:
            raise KeyError(f"fee schedule {self.name!r} has no rate for {key}")
        return self.rates[key]

    def fee(self, contract: Contract, opening: int, closing: int) -> float:
        """Commission in dollars for ``opening`` and ``closing`` contracts of one leg."""
        r = self.rate(contract)
        open_fee = abs(opening) * r.open
        if r.cap_per_leg is not None:
            open_fee = min(open_fee, r.cap_per_leg)
        return open_fee + abs(closing) * r.close


_EQ, _IX, _FU = InstrumentKind.EQUITY, InstrumentKind.INDEX, InstrumentKind.FUTURE

TASTYTRADE: Final = FeeSchedule("tastytrade", {
    (_EQ, True): FeeRate(1.00, 0.0, 10.0),
    (_IX, True): FeeRate(1.00, 0.0, 10.0),
    (_FU, True): FeeRate(2.50, 0.0),
    (_FU, False): FeeRate(1.25, 1.25),
    (_EQ, False): FeeRate(0.0, 0.0),
    (_IX, False): FeeRate(0.0, 0.0),
})
