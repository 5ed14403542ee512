"""``system.ports.Broker`` on LEAN combo orders.

LEAN behaviour relied on (LEAN_NOTES.md; QuantConnect/Lean ``ComboLimitOrder`` and
``Algorithm.Python/ComboOrderTicketDemoAlgorithm.py``):

* ``combo_limit_order(legs, quantity, limit_price, tag=...)`` with legs from
  ``Leg.create(symbol, ratio)`` returns one ``OrderTicket`` per leg; the limit is the net price
  Σ ratio × leg price and the sign of ``quantity`` is the direction.
* Each leg is an order of its own: fills, cancels and rejections arrive as one ``OrderEvent`` per
  leg, ``fill_quantity`` signed (+ bought, − sold).
* ``ComboLimitOrder.ApplyUpdateOrderRequest`` writes the new limit into the group's shared
  ``GroupOrderManager.LimitPrice``; live brokerage plugins act on a combo only once the request of
  every leg has arrived (they buffer legs in ``GroupOrderCacheManager``), so an update or a cancel
  is sent to **every** leg ticket.
* In backtests an order may fill inside the ``combo_limit_order`` call, so its events can arrive
  before the tickets are returned; they are held until the tickets are known.
* ``liquidate()`` sends one market order per leg and is never used here.

Events are queued as :class:`~execution.types.FillEvent` and handed to the trading system by
:class:`lean_bridge.pump.EventPump` after the current system call returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from config.enums import Brokerage
from config.instruments import Contract
from execution.types import ComboOrder, EventKind, FillEvent
from lean_bridge.brokerage_rules import ComboOrderType, check_combo
from lean_bridge.symbols import LeanEnums, SymbolBook

if TYPE_CHECKING:
    from QuantConnect import Symbol
    from QuantConnect.Orders import Leg, OrderEvent, OrderTicket, UpdateOrderFields
    from QuantConnect.Securities import SecurityPortfolioManager


class ComboOrderEntry(Protocol):
    """The two order calls of ``QCAlgorithm`` this adapter makes."""

    def combo_limit_order(self, legs: list[Leg], quantity: int, limit_price: float,
                          asynchronous: bool = ..., tag: str = ...) -> list[OrderTicket]: ...

    def combo_market_order(self, legs: list[Leg], quantity: int, asynchronous: bool = ...,
                           tag: str = ...) -> list[OrderTicket]: ...


@dataclass(slots=True)
class _Group:
    """One combo order: its leg tickets and what has filled per leg (signed contracts)."""

    order_id: str
    order: ComboOrder
    tickets: list[OrderTicket] = field(default_factory=list)
    filled: dict[Contract, int] = field(default_factory=dict)
    closed: bool = False


class LeanBroker:
    """Broker port: one LEAN combo order per :class:`~execution.types.ComboOrder`.

    Parameters
    ----------
    orders
        The algorithm (``combo_limit_order``/``combo_market_order``).
    portfolio
        ``algorithm.portfolio`` (holdings for restart reconciliation).
    book
        Contract <-> Symbol book shared with the market adapter.
    enums
        LEAN enum members (order statuses).
    brokerage
        The selected brokerage; orders it would reject are refused before sending.
    make_leg
        ``Leg.create``.
    make_update
        Builds ``UpdateOrderFields`` with a new limit price and tag.
    clock
        The algorithm's current time (naive exchange time), stamped on events.
    log
        One-line messages.
    """

    def __init__(self, orders: ComboOrderEntry, portfolio: SecurityPortfolioManager,
                 book: SymbolBook, enums: LeanEnums, brokerage: Brokerage,
                 make_leg: Callable[[Symbol, int], Leg],
                 make_update: Callable[[float, str], UpdateOrderFields],
                 clock: Callable[[], datetime], log: Callable[[str], None]) -> None:
        self._orders = orders
        self._portfolio = portfolio
        self._book = book
        self._enums = enums
        self._brokerage = brokerage
        self._make_leg = make_leg
        self._make_update = make_update
        self._clock = clock
        self._log = log
        self._groups: dict[str, _Group] = {}
        self._by_lean_id: dict[int, tuple[_Group, Contract]] = {}
        self._events: list[FillEvent] = []
        self._held: list[OrderEvent] = []
        self._submitting = False
        self._next = 0
        self._unmatched = 0

    # -- Broker port ----------------------------------------------------------------------------
    def submit(self, order: ComboOrder) -> str:
        """Send ``order`` as one combo limit order; returns its id (``L<n>``).

        An order the brokerage would refuse, or naming a contract never seen in a chain or a
        holding, is not sent: a REJECTED event with the reason is queued instead.
        """
        return self._send(order, ComboOrderType.LIMIT)

    def submit_market(self, order: ComboOrder) -> str:
        """Send ``order`` as one combo market order (urgent exits, where the brokerage accepts
        it; Tastytrade does not, so there the order is rejected up front)."""
        return self._send(order, ComboOrderType.MARKET)

    def replace_limit(self, order_id: str, limit: float) -> None:
        """Set the combo's net limit to ``limit`` on every leg ticket of the group."""
        group = self._groups.get(order_id)
        if group is None or group.closed:
            self._log(f"BROKER replace ignored: {order_id} is not working")
            return
        tag = f"{group.order.tag} {order_id} limit {limit:g}"
        for ticket in group.tickets:
            response = ticket.update(self._make_update(limit, tag))
            if not response.is_success:
                self._log(f"BROKER replace {order_id} leg {ticket.order_id} failed: "
                          f"{response.error_message}")

    def cancel(self, order_id: str) -> None:
        """Cancel every leg ticket of the group."""
        group = self._groups.get(order_id)
        if group is None or group.closed:
            self._log(f"BROKER cancel ignored: {order_id} is not working")
            return
        for ticket in group.tickets:
            ticket.cancel(f"{group.order.tag} {order_id} cancel")

    def holdings(self) -> dict[Contract, int]:
        """Signed contract quantities held, for restart reconciliation. Holdings whose root is
        not catalogued are logged and left out."""
        out: dict[Contract, int] = {}
        for symbol, holding in self._portfolio.items():
            qty = round(holding.quantity)
            if qty == 0:
                continue
            contract = self._book.contract_of(symbol)
            if contract is None:
                self._log(f"BROKER holding {symbol} x{qty} has no catalogued root; not reconciled")
                continue
            out[contract] = out.get(contract, 0) + qty
        return out

    # -- events ---------------------------------------------------------------------------------
    def on_order_event(self, event: OrderEvent) -> None:
        """Convert one LEAN order event (``algorithm.on_order_event``) and queue the result."""
        entry = self._by_lean_id.get(event.order_id)
        if entry is None:
            if self._submitting:
                self._held.append(event)
            else:
                self._queue_unmatched(event)
            return
        self._convert(entry[0], entry[1], event)

    def drain(self) -> list[FillEvent]:
        """Queued events, oldest first; the queue is emptied."""
        out, self._events = self._events, []
        return out

    def legged_groups(self) -> list[str]:
        """Groups whose legs filled in different proportions to their ratios (a legged spread),
        as ``order_id: fills`` descriptions. Empty when every combo filled whole or not at all."""
        bad: list[str] = []
        for group in self._groups.values():
            units = {group.filled.get(leg.contract, 0) / leg.ratio for leg in group.order.legs}
            if len(units) > 1:
                fills = ", ".join(f"{c.symbol}={q:+d}" for c, q in group.filled.items())
                bad.append(f"{group.order_id} ({group.order.tag}): {fills}")
        return bad

    @property
    def unmatched_events(self) -> int:
        """Order events that belonged to no combo sent here (manual orders, assignments)."""
        return self._unmatched

    # -- internals ------------------------------------------------------------------------------
    def _send(self, order: ComboOrder, kind: ComboOrderType) -> str:
        self._next += 1
        order_id = f"L{self._next}"
        group = _Group(order_id, order)
        self._groups[order_id] = group
        refused = check_combo(self._brokerage, kind, len(order.legs))
        if refused is not None:
            self._reject(group, f"{refused.reason}: {refused.detail}")
            return order_id
        symbols = [self._book.symbol_of(leg.contract) for leg in order.legs]
        missing = [leg.contract.symbol for leg, s in zip(order.legs, symbols, strict=True)
                   if s is None]
        if missing:
            self._reject(group, f"unknown_contract: {', '.join(missing)}")
            return order_id
        legs = [self._make_leg(s, leg.ratio)
                for s, leg in zip(symbols, order.legs, strict=True) if s is not None]
        tag = f"{order.tag} {order_id}"
        self._submitting = True
        try:
            if kind is ComboOrderType.MARKET:
                tickets = self._orders.combo_market_order(legs, order.quantity, tag=tag)
            else:
                tickets = self._orders.combo_limit_order(legs, order.quantity, order.limit,
                                                         tag=tag)
        except Exception as exc:  # the engine refused the call: fail closed, never raise
            self._held.clear()
            self._reject(group, f"submit_failed: {exc}")
            return order_id
        finally:
            self._submitting = False
        group.tickets = list(tickets)
        for ticket in group.tickets:
            contract = self._book.contract_of(ticket.symbol)
            if contract is not None:
                self._by_lean_id[ticket.order_id] = (group, contract)
        held, self._held = self._held, []
        for event in held:
            self.on_order_event(event)
        if not group.closed and any(t.status == self._enums.invalid for t in group.tickets):
            self._reject(group, "invalid: LEAN refused the order at submission")
        return order_id

    def _convert(self, group: _Group, contract: Contract, event: OrderEvent) -> None:
        status = event.status
        event_id = f"{group.order_id}:{event.order_id}:{event.id}"
        if status == self._enums.filled or status == self._enums.partially_filled:
            qty = round(event.fill_quantity)
            if qty == 0:
                return
            group.filled[contract] = group.filled.get(contract, 0) + qty
            self._events.append(FillEvent(
                group.order_id, self._clock(), event_id, EventKind.FILL, contract, qty,
                float(event.fill_price), abs(float(event.order_fee.value.amount)),
                event.message or ""))
        elif status == self._enums.canceled and not group.closed:
            group.closed = True
            self._events.append(FillEvent(group.order_id, self._clock(), event_id,
                                          EventKind.CANCELLED, message=event.message or ""))
        elif status == self._enums.invalid and not group.closed:
            self._reject(group, f"invalid: {event.message}", event_id)

    def _reject(self, group: _Group, reason: str, event_id: str | None = None) -> None:
        group.closed = True
        self._log(f"BROKER reject {group.order_id} {group.order.tag}: {reason}")
        self._events.append(FillEvent(group.order_id, self._clock(),
                                      event_id or f"{group.order_id}:rejected",
                                      EventKind.REJECTED, message=reason))

    def _queue_unmatched(self, event: OrderEvent) -> None:
        if not (event.status == self._enums.filled or event.status == self._enums.partially_filled):
            return
        qty = round(event.fill_quantity)
        contract = self._book.contract_of(event.symbol)
        if qty == 0 or contract is None:
            self._log(f"BROKER unmatched order event {event.order_id} {event.symbol} ignored")
            return
        self._unmatched += 1
        self._events.append(FillEvent(
            f"lean:{event.order_id}", self._clock(), f"lean:{event.order_id}:{event.id}",
            EventKind.FILL, contract, qty, float(event.fill_price),
            abs(float(event.order_fee.value.amount)), "unmatched order event"))
