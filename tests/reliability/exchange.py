"""A small exchange for the stateful test: working orders, true holdings and an event channel.

The exchange keeps the truth (holdings change when it fills); events go into a channel from which
the test delivers them in any order across orders but in order within one order (as brokers
report), possibly more than once. Fills happen only while an order works, per leg or for the
whole combo; a cancel of a working order is confirmed by one CANCELLED event, a cancel of an order
that no longer works does nothing (as :class:`sim.broker.SimBroker`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from config.enums import Right
from config.instruments import Contract
from execution.types import ComboOrder, EventKind, FillEvent, Quote

T0 = datetime(2026, 3, 6, 10, 30)
EXPIRY = date(2026, 3, 20)


def put(strike: float) -> Contract:
    return Contract("SPY", EXPIRY, strike, Right.PUT)


@dataclass(slots=True)
class Working:
    order: ComboOrder
    filled: dict[Contract, int]


@dataclass(slots=True)
class Exchange:
    """Order router (structurally the broker port without holdings) and the truth."""

    now: datetime = T0
    orders: dict[str, ComboOrder] = field(default_factory=dict)
    working: dict[str, Working] = field(default_factory=dict)
    holdings: dict[Contract, int] = field(default_factory=dict)
    channel: list[FillEvent] = field(default_factory=list)
    delivered: list[FillEvent] = field(default_factory=list)
    submits_per_position: dict[str, int] = field(default_factory=dict)
    _seq: int = 0
    _events: int = 0

    def _event(self, order_id: str, kind: EventKind, contract: Contract | None = None,
               qty: int = 0, price: float = 0.0, message: str = "") -> None:
        self._events += 1
        self.channel.append(FillEvent(order_id, self.now, f"X{self._events}", kind, contract, qty,
                                      price, 0.25 if qty else 0.0, message))

    def submit(self, order: ComboOrder) -> str:
        self._seq += 1
        oid = f"X-{self._seq}"
        self.orders[oid] = order
        self.working[oid] = Working(order, {leg.contract: 0 for leg in order.legs})
        key = f"{order.purpose.value}:{order.position_id}"
        self.submits_per_position[key] = self.submits_per_position.get(key, 0) + 1
        return oid

    def replace_limit(self, order_id: str, limit: float) -> None:
        return None

    def cancel(self, order_id: str) -> None:
        if self.working.pop(order_id, None) is not None:
            self._event(order_id, EventKind.CANCELLED)

    def reject(self, order_id: str) -> None:
        if self.working.pop(order_id, None) is not None:
            self._event(order_id, EventKind.REJECTED, message="refused")

    def fill(self, order_id: str, contract: Contract, qty: int, price: float) -> None:
        """Fill up to ``qty`` contracts (unsigned) of one leg; the order stops working when
        every leg is complete (later fills of it do nothing)."""
        w = self.working.get(order_id)
        if w is None:
            return
        target = next(leg.ratio * w.order.quantity for leg in w.order.legs
                      if leg.contract == contract)
        room = abs(target) - abs(w.filled[contract])
        take = min(qty, room)
        if take <= 0:
            return
        signed = take if target > 0 else -take
        w.filled[contract] += signed
        self.holdings[contract] = self.holdings.get(contract, 0) + signed
        if self.holdings[contract] == 0:
            del self.holdings[contract]
        self._event(order_id, EventKind.FILL, contract, signed, price)
        if all(w.filled[leg.contract] == leg.ratio * w.order.quantity for leg in w.order.legs):
            del self.working[order_id]

    def in_flight(self) -> dict[Contract, int]:
        """Signed contracts filled whose events are still in the channel."""
        out: dict[Contract, int] = {}
        for e in self.channel:
            if e.kind is EventKind.FILL and e.contract is not None:
                out[e.contract] = out.get(e.contract, 0) + e.quantity
        return {c: q for c, q in out.items() if q}

    def next_of(self, index: int) -> FillEvent:
        """Remove and return the oldest event of the order of channel entry ``index``."""
        order_id = self.channel[index].order_id
        first = next(i for i, e in enumerate(self.channel) if e.order_id == order_id)
        return self.channel.pop(first)


class QuoteBook:
    """Fixed two-sided quotes stamped with the exchange's clock."""

    def __init__(self, exchange: Exchange, book: dict[Contract, tuple[float, float]]) -> None:
        self.exchange = exchange
        self.book = book

    def __call__(self, contract: Contract) -> Quote | None:
        got = self.book.get(contract)
        return None if got is None else Quote(got[0], got[1], self.exchange.now)


class MemoryStore:
    """Key -> text in memory (LEAN ObjectStore semantics: save replaces)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def save(self, key: str, text: str) -> None:
        self.data[key] = text

    def load(self, key: str) -> str | None:
        return self.data.get(key)
