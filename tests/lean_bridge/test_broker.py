"""LeanBroker: combo orders, every leg ticket updated/cancelled together, events per leg."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from config.enums import Brokerage
from config.instruments import Contract
from execution.types import ComboLeg, ComboOrder, EventKind, OrderPurpose
from lean_bridge.broker import LeanBroker
from lean_bridge.symbols import SymbolBook
from tests.lean_bridge.fakes import (
    ENUMS,
    FakeCashAmount,
    FakeComboOrders,
    FakeHolding,
    FakeOrderEvent,
    FakeOrderFee,
    FakeOrderTicket,
    FakePortfolio,
    FakeSymbol,
    OptionRight,
    OrderStatus,
    SecurityType,
    equity,
    fills_for,
    index,
    make_leg,
    make_update,
    option,
)

NOW = datetime(2026, 1, 9, 10, 30)
EXPIRY = datetime(2026, 1, 9)
SPX = index("SPX")


def spxw(strike: float, right: OptionRight = OptionRight.PUT) -> FakeSymbol:
    return option(SPX, "SPXW", SecurityType.INDEX_OPTION, EXPIRY, strike, right)


@dataclass
class Rig:
    broker: LeanBroker
    orders: FakeComboOrders
    portfolio: FakePortfolio
    book: SymbolBook
    logs: list[str] = field(default_factory=list)

    def contract(self, symbol: FakeSymbol) -> Contract:
        c = self.book.contract_of(symbol)
        assert c is not None
        return c


def rig(brokerage: Brokerage = Brokerage.TASTYTRADE) -> Rig:
    book = SymbolBook(ENUMS)
    orders = FakeComboOrders()
    portfolio = FakePortfolio()
    logs: list[str] = []
    broker = LeanBroker(orders, portfolio, book, ENUMS, brokerage, make_leg,
                        make_update, lambda: NOW, logs.append)
    orders.on_event = broker.on_order_event
    return Rig(broker, orders, portfolio, book, logs)


def spread(r: Rig, quantity: int = -2, limit: float = 1.25, ratios: tuple[int, ...] = (-1, 1),
           strikes: tuple[float, ...] = (4900.0, 4870.0)) -> ComboOrder:
    legs = tuple(ComboLeg(r.contract(spxw(k)), q) for k, q in zip(strikes, ratios, strict=True))
    return ComboOrder(legs, quantity, limit, "ENTRY friday_0dte #7", OrderPurpose.ENTRY, "P7")


def test_submit_when_spread_then_one_combo_limit_order_with_all_legs() -> None:
    r = rig()
    order = spread(r)

    order_id = r.broker.submit(order)

    assert len(r.orders.calls) == 1
    kind, legs, quantity, limit, tag = r.orders.calls[0]
    assert (kind, quantity, limit) == ("limit", -2, 1.25)
    assert [(leg.symbol, leg.quantity) for leg in legs] == [(spxw(4900.0), -1),
                                                            (spxw(4870.0), 1)]
    assert order.tag in tag and order_id in tag


def test_on_order_event_when_combo_fills_then_one_fill_event_per_leg() -> None:
    r = rig()
    order_id = r.broker.submit(spread(r))
    tickets = r.orders.tickets

    for event in fills_for(tickets, {spxw(4900.0): 3.10, spxw(4870.0): 1.80}, fee=1.0):
        r.broker.on_order_event(event)
    events = r.broker.drain()

    assert [(e.order_id, e.kind, e.contract, e.quantity, e.price, e.fee) for e in events] == [
        (order_id, EventKind.FILL, r.contract(spxw(4900.0)), 2, 3.10, 1.0),
        (order_id, EventKind.FILL, r.contract(spxw(4870.0)), -2, 1.80, 1.0),
    ]
    assert len({e.event_id for e in events}) == 2
    assert all(e.time == NOW for e in events)


def test_replace_limit_when_working_then_every_leg_ticket_updated() -> None:
    r = rig()
    order_id = r.broker.submit(spread(r))

    r.broker.replace_limit(order_id, 1.15)

    assert len(r.orders.tickets) == 2
    for ticket in r.orders.tickets:
        assert [u.limit_price for u in ticket.updates] == [1.15]


def test_replace_limit_when_a_leg_refuses_then_logged_and_others_still_updated() -> None:
    r = rig()
    order_id = r.broker.submit(spread(r))
    r.orders.tickets[0].accept_updates = False

    r.broker.replace_limit(order_id, 1.15)

    assert [len(t.updates) for t in r.orders.tickets] == [1, 1]
    assert any("failed" in line for line in r.logs)


def test_cancel_when_working_then_every_leg_ticket_cancelled_and_one_event() -> None:
    r = rig()
    order_id = r.broker.submit(spread(r))

    r.broker.cancel(order_id)
    for t in r.orders.tickets:
        r.broker.on_order_event(FakeOrderEvent(t.order_id, 2, t.symbol, OrderStatus.CANCELED))
    events = r.broker.drain()

    assert [len(t.cancels) for t in r.orders.tickets] == [1, 1]
    assert [(e.order_id, e.kind) for e in events] == [(order_id, EventKind.CANCELLED)]


def test_replace_limit_when_cancelled_then_ignored() -> None:
    r = rig()
    order_id = r.broker.submit(spread(r))
    t = r.orders.tickets[0]
    r.broker.on_order_event(FakeOrderEvent(t.order_id, 2, t.symbol, OrderStatus.CANCELED))

    r.broker.replace_limit(order_id, 1.0)

    assert all(not t.updates for t in r.orders.tickets)


def test_on_order_event_when_invalid_then_one_rejected_event_with_message() -> None:
    r = rig()
    order_id = r.broker.submit(spread(r))

    for t in r.orders.tickets:
        r.broker.on_order_event(FakeOrderEvent(t.order_id, 1, t.symbol, OrderStatus.INVALID,
                                               message="insufficient buying power"))
    events = r.broker.drain()

    assert [(e.order_id, e.kind) for e in events] == [(order_id, EventKind.REJECTED)]
    assert "insufficient buying power" in events[0].message


def test_submit_market_when_tastytrade_then_rejected_without_sending() -> None:
    r = rig(Brokerage.TASTYTRADE)

    order_id = r.broker.submit_market(spread(r))
    events = r.broker.drain()

    assert r.orders.calls == []
    assert [(e.order_id, e.kind) for e in events] == [(order_id, EventKind.REJECTED)]
    assert "combo_market_not_accepted" in events[0].message


def test_submit_market_when_interactive_brokers_then_combo_market_order() -> None:
    r = rig(Brokerage.INTERACTIVE_BROKERS)

    r.broker.submit_market(spread(r))

    assert [c[0] for c in r.orders.calls] == ["market"]
    assert r.broker.drain() == []


def test_submit_when_contract_never_seen_then_rejected_without_sending() -> None:
    r = rig()
    stranger = Contract("SPXW", EXPIRY.date(), 5500.0, None)
    known = r.contract(spxw(4900.0))
    order = ComboOrder((ComboLeg(known, -1), ComboLeg(stranger, 1)), 1, 0.5, "t",
                       OrderPurpose.ENTRY, "P1")

    order_id = r.broker.submit(order)
    events = r.broker.drain()

    assert r.orders.calls == []
    assert [(e.order_id, e.kind) for e in events] == [(order_id, EventKind.REJECTED)]
    assert "unknown_contract" in events[0].message


def test_submit_when_fills_arrive_inside_the_call_then_events_carry_the_order_id() -> None:
    r = rig()
    prices = {spxw(4900.0): 3.0, spxw(4870.0): 1.9}
    r.orders.fill_on_submit = lambda tickets, legs, qty: fills_for(tickets, prices)

    order_id = r.broker.submit(spread(r))
    events = r.broker.drain()

    assert [(e.order_id, e.kind, e.quantity) for e in events] == [
        (order_id, EventKind.FILL, 2), (order_id, EventKind.FILL, -2)]
    assert r.broker.unmatched_events == 0


def test_on_order_event_when_order_unknown_then_unmatched_fill_event() -> None:
    r = rig()
    symbol = spxw(4800.0)
    r.contract(symbol)

    r.broker.on_order_event(FakeOrderEvent(99, 1, symbol, OrderStatus.FILLED, -1.0, 0.0,
                                           FakeOrderFee(FakeCashAmount(0.0))))
    events = r.broker.drain()

    assert [(e.order_id, e.quantity) for e in events] == [("lean:99", -1)]
    assert r.broker.unmatched_events == 1


def test_holdings_when_portfolio_has_positions_then_signed_contracts() -> None:
    r = rig()
    put = spxw(4900.0)
    r.portfolio.holdings = {put: FakeHolding(-3.0), spxw(4870.0): FakeHolding(0.0),
                            equity("TSLA"): FakeHolding(10.0)}

    held = r.broker.holdings()

    assert held == {r.contract(put): -3}
    assert any("TSLA" in line for line in r.logs)


def test_legged_groups_when_one_leg_filled_then_reported() -> None:
    r = rig()
    order_id = r.broker.submit(spread(r))
    first: FakeOrderTicket = r.orders.tickets[0]
    r.broker.on_order_event(FakeOrderEvent(first.order_id, 1, first.symbol, OrderStatus.FILLED,
                                           first.quantity, 3.0))

    legged = r.broker.legged_groups()

    assert len(legged) == 1 and legged[0].startswith(order_id)


def test_drain_when_called_twice_then_second_empty() -> None:
    r = rig()
    r.broker.submit_market(spread(r))

    assert len(r.broker.drain()) == 1
    assert r.broker.drain() == []


@settings(max_examples=25, deadline=None)
@given(quantity=st.integers(min_value=-5, max_value=5).filter(lambda q: q != 0),
       ratios=st.sampled_from([(-1, 1), (1, -1, -2), (1, -2, 1), (-1, -1)]))
def test_fills_when_whole_combo_fills_then_each_leg_gets_ratio_times_quantity(
        quantity: int, ratios: tuple[int, ...]) -> None:
    r = rig()
    strikes = tuple(4900.0 - 25.0 * i for i in range(len(ratios)))
    order = spread(r, quantity=quantity, ratios=ratios, strikes=strikes)
    r.broker.submit(order)
    prices = {t.symbol: 1.0 for t in r.orders.tickets}

    for event in fills_for(r.orders.tickets, prices):
        r.broker.on_order_event(event)
    filled = {e.contract: e.quantity for e in r.broker.drain()}

    assert filled == {leg.contract: leg.ratio * quantity for leg in order.legs}
    assert r.broker.legged_groups() == []


def test_submit_when_engine_raises_then_rejected_event_not_an_exception() -> None:
    r = rig()

    def refuse(*args: object, **kwargs: object) -> list[FakeOrderTicket]:
        raise RuntimeError("symbol not subscribed")

    r.orders.combo_limit_order = refuse
    order_id = r.broker.submit(spread(r))
    events = r.broker.drain()

    assert [(e.order_id, e.kind) for e in events] == [(order_id, EventKind.REJECTED)]
    assert "symbol not subscribed" in events[0].message
