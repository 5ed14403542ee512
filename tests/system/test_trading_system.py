"""TradingSystem wiring: a rule fires → gate → combo order → fills → ledger → exit → closed trade,
plus safe start-up on corrupted state and restart without re-sending orders."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from config import Right, load_config
from config.instruments import Contract
from execution.types import Account, OrderPurpose, PricePoint, Quote
from strategies.types import PositionMark, RawChain
from system.trading_system import STATE_KEY, TradingSystem
from tests.kit import FakeBroker, FakeMarket, MemoryStore
from tests.strategies.builders import mark_book, raw_chain

MONDAY = datetime(2024, 6, 3, 10, 0)  # first Monday of June 2024
EXPIRY = date(2025, 6, 20)            # 382 DTE: inside the ladder's 330-400 window


def _quotes(raw: RawChain, now: datetime, scale: float = 1.0) -> dict[Contract, Quote]:
    out = {}
    for i in range(len(raw)):
        right = Right.CALL if raw.is_call[i] else Right.PUT
        c = Contract(raw.root, raw.expiry[i].astype(date), float(raw.strike[i]), right)
        out[c] = Quote(float(raw.bid[i]) * scale, float(raw.ask[i]) * scale, now)
    return out


def _market(now: datetime, nlv: float = 100_000.0, vix: float = 17.0) -> FakeMarket:
    raw = raw_chain("SPY", now, [EXPIRY], 530.0, vol=0.16, skew=0.1)
    m = FakeMarket(clock=now)
    m.prices["SPY"] = PricePoint(530.0, now)
    m.opens["SPY"] = 530.0
    m.vix_point = PricePoint(vix, now)
    m.chains["SPY"] = raw
    m.quotes = _quotes(raw, now)
    m.acct = Account(nlv, 0.0, nlv, nlv)
    m.closes["SPY"] = np.linspace(480.0, 530.0, 260)
    return m


def _advance(m: FakeMarket, now: datetime) -> None:
    m.clock = now
    m.prices = {k: PricePoint(v.value, now) for k, v in m.prices.items()}
    assert m.vix_point is not None
    m.vix_point = PricePoint(m.vix_point.value, now)
    m.quotes = {c: Quote(q.bid, q.ask, now) for c, q in m.quotes.items()}


def _open_ladder_put() -> tuple[TradingSystem, FakeMarket, FakeBroker, MemoryStore, str]:
    market, broker, store = _market(MONDAY), FakeBroker(), MemoryStore()
    system = TradingSystem(load_config(), market, broker, store)
    system.on_bar(MONDAY)
    system.on_schedule("leap_put_ladder.entry")
    assert len(broker.orders) == 1, system.results.skips | system.results.rejections
    (order_id, order), = broker.orders.items()
    prices = {leg.contract: market.quotes[leg.contract].mid for leg in order.legs}
    for event in broker.fill_all(order_id, MONDAY, prices):
        system.on_fill(event)
    return system, market, broker, store, order_id


def test_trading_system_when_ladder_rule_fires_then_one_short_put_combo_fills_into_book() -> None:
    system, _, broker, _, order_id = _open_ladder_put()

    order = broker.orders[order_id]
    assert order.purpose is OrderPurpose.ENTRY
    assert order.tag.startswith("leap_put_ladder #")
    positions = system.positions()
    assert len(positions) == 1
    (leg,) = positions[0].legs
    assert leg.contract.right is Right.PUT and leg.contract.expiry == EXPIRY
    assert leg.ratio * positions[0].units < 0          # a short put
    assert positions[0].entry_price < 0                # a credit
    assert system.results.strategies == {}             # attribution is filled by on_end


def test_trading_system_when_put_decays_30_percent_then_profit_exit_closes_trade() -> None:
    system, market, broker, _, _ = _open_ladder_put()
    later = MONDAY + timedelta(days=1)
    _advance(market, later)
    market.quotes = {c: Quote(q.bid * 0.5, q.ask * 0.5, later) for c, q in market.quotes.items()}

    system.on_bar(later)

    exits = [(oid, o) for oid, o in broker.orders.items() if o.purpose is OrderPurpose.EXIT]
    assert len(exits) == 1
    oid, order = exits[0]
    prices = {leg.contract: market.quotes[leg.contract].ask for leg in order.legs}
    for event in broker.fill_all(oid, later, prices):
        system.on_fill(event)
    results = system.refresh_results()
    assert system.positions() == ()
    (trade,) = results.trades
    assert trade.exit_reason == "profit_target"
    assert trade.pnl > 0
    assert results.strategies["leap_put_ladder"].entries == 1
    assert results.strategies["leap_put_ladder"].wins == 1


def test_trading_system_when_restarted_then_book_restored_and_no_order_resent() -> None:
    system, market, broker, store, _ = _open_ladder_put()
    sent = len(broker.orders)

    again = TradingSystem(load_config(), market, broker, store)
    again.on_bar(MONDAY + timedelta(minutes=1))

    assert [p.position_id for p in again.positions()] == [p.position_id
                                                          for p in system.positions()]
    assert len(broker.orders) == sent
    assert again.results.risk_events.get("restarts") == 1


def test_trading_system_when_stored_state_corrupt_then_safe_mode_blocks_entries() -> None:
    market, broker, store = _market(MONDAY), FakeBroker(), MemoryStore()
    store.save(STATE_KEY, '{"format": 1, "ledger": {"posit')
    system = TradingSystem(load_config(), market, broker, store)

    system.on_bar(MONDAY)
    system.on_schedule("leap_put_ladder.entry")

    assert broker.orders == {}
    assert system.results.rejections["system"]["safe_mode"] == 1
    assert system.results.risk_events["state_corrupt"] == 1
    assert any(k.startswith(STATE_KEY) and k != STATE_KEY for k in store.data)


def test_trading_system_when_broker_holds_unknown_contract_then_root_blocked() -> None:
    market, broker, store = _market(MONDAY), FakeBroker(), MemoryStore()
    stray = Contract("SPY", EXPIRY, 400.0, Right.PUT)
    broker.held[stray] = -1
    system = TradingSystem(load_config(), market, broker, store)

    system.on_bar(MONDAY)
    system.on_schedule("leap_put_ladder.entry")

    assert broker.orders == {}
    assert system.results.risk_events["reconcile_unmanaged_holding"] == 1


def test_trading_system_when_phase_one_then_ladder_skipped_with_reason() -> None:
    market, broker, store = _market(MONDAY, nlv=30_000.0), FakeBroker(), MemoryStore()
    system = TradingSystem(load_config(), market, broker, store)

    system.on_bar(MONDAY)
    system.on_schedule("leap_put_ladder.entry")

    assert broker.orders == {}
    counted = system.results.skips.get("leap_put_ladder", {}) | {
        f"{k}/{r}": n for k, d in system.results.rejections.items() for r, n in d.items()}
    assert counted, "a phase-1 ladder entry must be counted with a reason"


def test_trading_system_exit_marks_when_quotes_move_and_book_changes_then_fresh_marks() -> None:
    system, market, broker, _, _ = _open_ladder_put()
    later = MONDAY + timedelta(days=1)

    def expected(now: datetime) -> dict[str, PositionMark]:
        book = system.positions()
        contracts = [leg.contract for p in book for leg in p.legs]
        return mark_book(book, {c: market.quote(c) for c in contracts},
                         {c: market.underlying_price(c) for c in contracts}, now,
                         system.config, system._delta_level)

    first = system._marks(system.positions(), MONDAY)
    assert first == expected(MONDAY)
    _advance(market, later)
    market.quotes = {c: Quote(q.bid * 0.5, q.ask * 0.5, later) for c, q in market.quotes.items()}
    moved = system._marks(system.positions(), later)

    assert moved == expected(later)
    (pid,) = moved
    assert moved[pid].net_mid == pytest.approx(0.5 * first[pid].net_mid)

    system.on_bar(later)  # the profit exit closes the position: the book is empty
    (oid, order), = ((o, x) for o, x in broker.orders.items() if x.purpose is OrderPurpose.EXIT)
    for event in broker.fill_all(oid, later, {leg.contract: market.quotes[leg.contract].ask
                                              for leg in order.legs}):
        system.on_fill(event)

    assert system.positions() == () and system._marks(system.positions(), later) == {}
