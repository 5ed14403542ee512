"""Entries still working at the broker count as open: two entries decided while neither has
filled must keep the limits either alone keeps, and a child (an IPMCC short call) is never opened
against, nor left working under, a parent that is being closed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from config import Right, load_config
from config.instruments import Contract
from execution.types import Account, OrderPurpose, PricePoint, Quote
from system.trading_system import TradingSystem
from tests.kit import FakeBroker, FakeMarket, MemoryStore
from tests.strategies.builders import raw_chain

WEDNESDAY = datetime(2024, 6, 5, 10, 0)   # first Wednesday of June 2024: IPMCC LEAP entry
FRIDAY = datetime(2024, 6, 7, 9, 45)      # IPMCC weekly call
LEAP_EXPIRY = {"QQQ": date(2025, 6, 20),   # 380 DTE
               "SPY": date(2025, 5, 16)}   # 345 DTE (one group never holds one expiry twice)
CALL_EXPIRY = date(2024, 6, 14)           # the next Friday
NLV = 1_000_000.0
SPOTS = {"QQQ": 450.0, "SPY": 530.0}


def _market(now: datetime, roots: tuple[str, ...]) -> FakeMarket:
    m = FakeMarket(clock=now)
    m.acct = Account(NLV, 0.0, NLV, NLV)
    for root in roots:
        spot = SPOTS[root]
        m.opens[root] = spot
        # Well below the 52-week high (no "near the high" skip), trending up into today.
        m.closes[root] = np.concatenate([np.linspace(spot * 1.15, spot * 0.9, 200),
                                         np.linspace(spot * 0.9, spot, 60)])
    _advance(m, now)
    return m


def _advance(m: FakeMarket, now: datetime, scale: float = 1.0) -> None:
    """Fresh chains, prices and VIX at ``now``; every quote of the market scaled by ``scale``."""
    m.clock = now
    m.vix_point = PricePoint(16.0, now)
    for root in m.opens:
        spot = SPOTS[root]
        raw = raw_chain(root, now, [CALL_EXPIRY, LEAP_EXPIRY[root]], spot, vol=0.16, width=0.3)
        m.chains[root] = raw
        m.prices[root] = PricePoint(spot, now)
        for i in range(len(raw)):
            right = Right.CALL if raw.is_call[i] else Right.PUT
            c = Contract(root, raw.expiry[i].astype(date), float(raw.strike[i]), right)
            m.quotes[c] = Quote(float(raw.bid[i]) * scale, float(raw.ask[i]) * scale, now)


def _entries(broker: FakeBroker) -> list[str]:
    return [oid for oid, o in broker.orders.items() if o.purpose is OrderPurpose.ENTRY]


def _fill(system: TradingSystem, market: FakeMarket, broker: FakeBroker, oid: str) -> None:
    order = broker.orders[oid]
    prices = {leg.contract: market.quotes[leg.contract].mid for leg in order.legs}
    for event in broker.fill_all(oid, market.clock, prices):
        system.on_fill(event)


def _rejections(system: TradingSystem) -> dict[str, int]:
    return {f"{check}/{reason}": n
            for check, reasons in system.results.rejections.items()
            for reason, n in reasons.items()}


def test_in_flight_when_two_entries_decided_before_either_fills_then_group_limit_holds() -> None:
    market, broker = _market(WEDNESDAY, ("QQQ", "SPY")), FakeBroker()
    config = load_config({"correlation.group.A2.limit": "1"})
    system = TradingSystem(config, market, broker, MemoryStore())
    system.on_bar(WEDNESDAY)

    system.on_schedule("ipmcc.entry")

    assert len(_entries(broker)) == 1, system.results.skips | system.results.rejections
    assert _rejections(system).get("correlation/group_limit") == 1


def test_in_flight_when_limits_allow_both_then_both_entries_sent() -> None:
    market, broker = _market(WEDNESDAY, ("QQQ", "SPY")), FakeBroker()
    system = TradingSystem(load_config(), market, broker, MemoryStore())
    system.on_bar(WEDNESDAY)

    system.on_schedule("ipmcc.entry")

    assert len(_entries(broker)) == 2, system.results.skips | system.results.rejections


def _open_leap() -> tuple[TradingSystem, FakeMarket, FakeBroker]:
    market, broker = _market(WEDNESDAY, ("QQQ",)), FakeBroker()
    system = TradingSystem(load_config(), market, broker, MemoryStore())
    system.on_bar(WEDNESDAY)
    system.on_schedule("ipmcc.entry")
    (oid,) = _entries(broker)
    _fill(system, market, broker, oid)
    (leap,) = system.positions()
    assert leap.legs[0].contract.right is Right.CALL and leap.legs[0].ratio > 0
    return system, market, broker


def test_in_flight_when_parent_exit_working_then_child_call_not_sold() -> None:
    system, market, broker = _open_leap()
    # The LEAP loses 40% of its value before Friday: its stop sends an exit order.
    _advance(market, FRIDAY - timedelta(minutes=10), scale=0.6)
    system.on_bar(market.clock)
    assert [o.purpose for o in broker.orders.values()].count(OrderPurpose.EXIT) == 1
    _advance(market, FRIDAY, scale=0.6)
    system.on_bar(FRIDAY)

    system.on_schedule("ipmcc.call")

    assert len(_entries(broker)) == 1   # the LEAP's only
    assert _rejections(system).get("system/parent_order_working") == 1


def test_in_flight_when_parent_exit_decided_while_child_entry_works_then_child_cancelled() -> None:
    system, market, broker = _open_leap()
    _advance(market, FRIDAY)
    system.on_bar(FRIDAY)
    system.on_schedule("ipmcc.call")
    entries = _entries(broker)
    assert len(entries) == 2, system.results.skips | system.results.rejections
    call_order = entries[1]
    call = broker.orders[call_order]
    assert call.legs[0].ratio * call.quantity < 0   # the short call, still working

    # The LEAP's stop fires while the call's entry is working: the call is cancelled first and
    # the LEAP is not closed in that pass (the call could still fill and would be uncovered).
    later = FRIDAY + timedelta(minutes=5)   # the next exit check
    _advance(market, later, scale=0.6)
    system.on_bar(later)

    assert call_order in broker.cancelled
    assert OrderPurpose.EXIT not in [o.purpose for o in broker.orders.values()]
