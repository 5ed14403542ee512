"""Value types shared by execution, strategies, risk, the system and the adapters.

Sign conventions
----------------
* A leg ``ratio`` is signed per unit of structure: ``+1`` long, ``-1`` short.
* A position's ``entry_price`` is the net price per unit, ``Σ ratio × leg fill price`` in option
  points: positive = debit paid, negative = credit received. Dollars = points × multiplier × units.
* A :class:`ComboOrder` keeps ``limit`` positive: its legs are oriented so that the net price
  ``Σ ratio × leg price`` is positive, and the sign of ``quantity`` gives the direction
  (``> 0`` buy the legs as written, ``< 0`` sell them). This mirrors LEAN's ``combo_limit_order``.
* All datetimes are naive exchange time (US/Eastern).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, IntEnum
from functools import reduce
from typing import NamedTuple

from config.enums import StrategyKey
from config.instruments import Contract


class Quote(NamedTuple):
    """Top of book for one contract at ``time``.

    A named tuple rather than a frozen dataclass: markets build one per held contract on every
    bar, and a named tuple is as immutable at about a third of the construction cost.
    """

    bid: float
    ask: float
    time: datetime

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A price and when it was observed."""

    value: float
    time: datetime


@dataclass(frozen=True, slots=True)
class Account:
    """Broker account figures in USD. ``bp_used + bp_available`` is total buying power."""

    nlv: float
    bp_used: float
    bp_available: float
    cash: float


@dataclass(frozen=True, slots=True)
class ComboLeg:
    """One leg of a combo order; ``ratio`` signed, gcd of a combo's ratios is 1."""

    contract: Contract
    ratio: int


class OrderPurpose(Enum):
    ENTRY = "entry"
    EXIT = "exit"
    ROLL = "roll"


@dataclass(frozen=True, slots=True)
class ComboOrder:
    """One multi-leg limit order for a whole structure. Validated on construction."""

    legs: tuple[ComboLeg, ...]
    quantity: int
    limit: float
    tag: str
    purpose: OrderPurpose
    position_id: str
    urgent: bool = False

    def __post_init__(self) -> None:
        if not self.legs:
            raise ValueError("combo order needs at least one leg")
        ratios = [leg.ratio for leg in self.legs]
        if any(r == 0 for r in ratios):
            raise ValueError(f"combo order {self.tag}: zero leg ratio in {ratios}")
        if reduce(math.gcd, (abs(r) for r in ratios)) != 1:
            raise ValueError(f"combo order {self.tag}: gcd of leg ratios {ratios} must be 1")
        contracts = [leg.contract for leg in self.legs]
        if len(set(contracts)) != len(contracts):
            raise ValueError(f"combo order {self.tag}: duplicate contracts in legs")
        if not math.isfinite(self.limit) or self.limit <= 0:
            raise ValueError(f"combo order {self.tag}: limit must be finite and > 0, "
                             f"got {self.limit!r}")
        if self.quantity == 0:
            raise ValueError(f"combo order {self.tag}: quantity must be non-zero")


class EventKind(Enum):
    """What an order event reports."""

    FILL = "fill"            # a fill (per leg when ``contract`` is set, else whole combo)
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class FillEvent:
    """An order event from the broker.

    For a per-leg fill, ``contract`` is the leg and ``quantity`` the signed contracts filled
    (+ bought, − sold) at ``price``. For a whole-combo fill, ``contract`` is None, ``quantity`` the
    signed combo units and ``price`` the net price per unit (Σ ratio × leg price, as the order's
    limit). ``event_id`` is unique per event so duplicates can be ignored.
    """

    order_id: str
    time: datetime
    event_id: str
    kind: EventKind = EventKind.FILL
    contract: Contract | None = None
    quantity: int = 0
    price: float = 0.0
    fee: float = 0.0
    message: str = ""


@dataclass(frozen=True, slots=True)
class PositionLeg:
    contract: Contract
    ratio: int


@dataclass(frozen=True, slots=True)
class Position:
    """One open strategy trade: all legs together. Immutable; the ledger replaces it on change.

    ``entry_price`` is Σ ratio × fill price per unit in points (positive = debit, negative =
    credit). ``units`` is the number of structures held. ``parent_id`` links an IPMCC short call to
    its LEAP position.
    """

    position_id: str
    key: StrategyKey
    root: str
    structure: str
    legs: tuple[PositionLeg, ...]
    units: int
    entry_time: datetime
    entry_price: float
    multiplier: float
    expiry: date
    parent_id: str | None = None
    meta: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_credit(self) -> bool:
        return self.entry_price < 0

    def meta_value(self, name: str) -> str | None:
        for k, v in self.meta:
            if k == name:
                return v
        return None


class ExitReason(IntEnum):
    """SPEC §9 precedence: a lower value wins when several rules fire at once."""

    BREAKER_FLATTEN = 1
    STOP_LOSS = 2
    TIME_STOP = 3
    DEFENCE = 4
    DTE_RULE = 5
    PROFIT_TARGET = 6
    ROLL = 7
    EXPIRED = 8
    RECONCILED = 9


@dataclass(frozen=True, slots=True)
class ExitDecision:
    """Close ``legs`` (all of the position's legs when empty) of ``position_id``.

    ``urgent`` exits (stop, breaker, time stop) start at the natural price and step beyond it.
    """

    position_id: str
    reason: ExitReason
    detail: str
    legs: tuple[PositionLeg, ...] = ()
    urgent: bool = False
