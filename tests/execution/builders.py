"""Fakes and builders for the execution tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from config import load_config
from config.enums import Right, StrategyKey
from config.instruments import Contract
from config.model import Config
from execution.executor import ComboExecutor
from execution.ledger import EntryFacts
from execution.types import ComboLeg, ComboOrder, EventKind, FillEvent, Quote

CFG: Config = load_config()
T0 = datetime(2026, 3, 6, 10, 30)
EXPIRY = date(2026, 3, 20)


def put(strike: float, root: str = "SPXW", expiry: date = EXPIRY) -> Contract:
    return Contract(root, expiry, strike, Right.PUT)


def call(strike: float, root: str = "SPXW", expiry: date = EXPIRY) -> Contract:
    return Contract(root, expiry, strike, Right.CALL)


LONG_PUT = put(4900)
SHORT_PUT = put(4950)
NAKED_PUT = put(4800)
CREDIT_SPREAD = (ComboLeg(LONG_PUT, 1), ComboLeg(SHORT_PUT, -1))


@dataclass
class FakeRouter:
    """Order router mirroring LEAN's combo tickets: ``submit`` returns a broker id, replace and
    cancel address the whole group. ``on_submit`` runs inside ``submit`` after the id is
    assigned, as LEAN may raise order events before ``combo_limit_order`` returns."""

    orders: dict[str, ComboOrder] = field(default_factory=dict)
    limits: dict[str, list[float]] = field(default_factory=dict)
    cancels: list[str] = field(default_factory=list)
    fail_submit: bool = False
    fail_replace: bool = False
    fail_cancel: bool = False
    on_submit: Callable[[str], None] | None = None
    _next: int = 0

    def submit(self, order: ComboOrder) -> str:
        if self.fail_submit:
            raise RuntimeError("broker down")
        self._next += 1
        oid = f"B{self._next}"
        self.orders[oid] = order
        self.limits[oid] = [order.limit]
        if self.on_submit is not None:
            self.on_submit(oid)
        return oid

    def replace_limit(self, order_id: str, limit: float) -> None:
        if self.fail_replace:
            raise RuntimeError("order not found")
        self.limits[order_id].append(limit)

    def cancel(self, order_id: str) -> None:
        if self.fail_cancel:
            raise RuntimeError("cancel failed")
        self.cancels.append(order_id)

    def limit(self, order_id: str) -> float:
        return self.limits[order_id][-1]


class Quotes:
    """A mutable quote book usable as ``quotes`` callable."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now
        self.book: dict[Contract, tuple[float, float]] = {}

    def set(self, contract: Contract, bid: float, ask: float) -> Quotes:
        self.book[contract] = (bid, ask)
        return self

    def __call__(self, contract: Contract) -> Quote | None:
        got = self.book.get(contract)
        return None if got is None else Quote(got[0], got[1], self.now)


def spread_quotes(now: datetime = T0) -> Quotes:
    """Long 4900 put 0.90/1.00 (mid 0.95), short 4950 put 2.00/2.20 (mid 2.10).

    The credit spread (+1 long, −1 short) bought as written: mid −1.15, natural −1.00 (87%).
    """
    return Quotes(now).set(LONG_PUT, 0.90, 1.00).set(SHORT_PUT, 2.00, 2.20)


def executor(router: FakeRouter | None = None) -> tuple[ComboExecutor, FakeRouter]:
    r = router or FakeRouter()
    return ComboExecutor(CFG, r), r


class Events:
    """Builds broker events with unique ids."""

    def __init__(self) -> None:
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return f"E{self.n}"

    def leg(self, order_id: str, contract: Contract, qty: int, price: float,
            at: datetime = T0, fee: float = 0.0) -> FillEvent:
        return FillEvent(order_id, at, self._id(), EventKind.FILL, contract, qty, price, fee)

    def combo(self, order_id: str, qty: int, price: float, at: datetime = T0,
              fee: float = 0.0) -> FillEvent:
        return FillEvent(order_id, at, self._id(), EventKind.FILL, None, qty, price, fee)

    def cancelled(self, order_id: str, at: datetime = T0, message: str = "") -> FillEvent:
        return FillEvent(order_id, at, self._id(), EventKind.CANCELLED, message=message)

    def rejected(self, order_id: str, at: datetime = T0, message: str = "") -> FillEvent:
        return FillEvent(order_id, at, self._id(), EventKind.REJECTED, message=message)

    def fill_order(self, order: ComboOrder, order_id: str, prices: dict[Contract, float],
                   at: datetime = T0, fee: float = 0.0) -> list[FillEvent]:
        """One event per leg for the whole order (LEAN's report of a combo fill)."""
        return [self.leg(order_id, leg.contract, leg.ratio * order.quantity,
                         prices[leg.contract], at, fee) for leg in order.legs]


def facts(key: StrategyKey = StrategyKey.FRIDAY_0DTE, root: str = "SPXW",
          structure: str = "put_credit_spread", multiplier: float = 100.0,
          expiry: date = EXPIRY) -> EntryFacts:
    return EntryFacts(key, root, structure, expiry, multiplier)
