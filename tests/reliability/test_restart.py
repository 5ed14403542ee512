"""Crash and restart: the system is dropped every N trading days (also with orders working) and
rebuilt from its store and the broker's holdings."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from config import load_config
from config.enums import Phase
from execution.types import ComboLeg, EventKind, FillEvent, PricePoint, Quote
from sim.engine import restart_bar
from system.trading_system import STATE_KEY, TradingSystem
from tests.kit import FakeBroker, FakeMarket, MemoryStore
from tests.reliability.builders import YEAR_END, YEAR_START, short_run
from tests.reliability.exchange import put

CFG = load_config()


def test_run_when_restarted_every_5_days_for_a_year_then_same_as_uninterrupted(
        tmp_path: Path) -> None:
    # Act
    plain = short_run(tmp_path / "plain", YEAR_START, YEAR_END)
    crashed = short_run(tmp_path / "crashed", YEAR_START, YEAR_END, restart_every_days=5)
    # Assert
    audit = crashed.audit
    assert audit.restarts == crashed.results.risk_events["restarts"] == 50
    assert audit.restarts_with_working_orders > 0
    assert audit.ok and audit.sessions_checked == crashed.sessions
    assert abs(crashed.final_equity / plain.final_equity - 1.0) <= 0.005
    assert len(crashed.results.daily) == len(plain.results.daily) == crashed.sessions
    assert [(r.day, r.realized_change, r.stress_worst_loss) for r in crashed.results.daily] == [
        (r.day, r.realized_change, r.stress_worst_loss) for r in plain.results.daily]
    assert len(crashed.results.trades) == len(plain.results.trades)
    assert crashed.results.rejections == plain.results.rejections
    assert crashed.results.invariants == plain.results.invariants
    events = dict(crashed.results.risk_events)
    del events["restarts"]
    assert events == plain.results.risk_events
    assert crashed.results.skips == plain.results.skips


def test_restart_bar_when_rule_due_then_bar_after_it_else_first_bar() -> None:
    assert restart_bar(5, 5, {4: ["x"], 9: ["y"]}, 27) == 5
    assert restart_bar(10, 5, {}, 27) == 0
    assert restart_bar(5, 5, {26: ["late"]}, 27) == 0
    assert restart_bar(3, 5, {4: ["x"]}, 27) is None
    assert restart_bar(0, 5, {}, 27) is None
    assert restart_bar(5, 0, {}, 27) is None


def _market(now: datetime, nlv: float) -> FakeMarket:
    m = FakeMarket(now)
    m.vix_point = PricePoint(16.0, now)
    m.acct = type(m.acct)(nlv, 0.0, nlv, nlv)
    return m


def test_trading_system_when_restarted_inside_hysteresis_band_then_phase_kept() -> None:
    # Arrange: phase 3 at 80,000 on day 1; on day 2 NLV 73,000 is above 95% of 75,000
    store = MemoryStore()
    day1, day2 = datetime(2022, 3, 1, 9, 30), datetime(2022, 3, 2, 9, 30)
    first = TradingSystem(CFG, _market(day1, 80_000.0), FakeBroker(), store)
    first.start()
    first.on_bar(day1)
    first.on_session_end(day1.replace(hour=16))
    assert first.phases.phase is Phase.P3
    # Act
    restarted = TradingSystem(CFG, _market(day2, 73_000.0), FakeBroker(), store)
    restarted.start()
    restarted.on_bar(day2)
    fresh = TradingSystem(CFG, _market(day2, 73_000.0), FakeBroker(), MemoryStore())
    fresh.start()
    fresh.on_bar(day2)
    # Assert
    assert restarted.phases.phase is Phase.P3
    assert fresh.phases.phase is Phase.P2


def test_trading_system_when_leg_fill_arrives_then_saved_before_the_order_completes() -> None:
    # Arrange: an entry whose first leg fill arrives, then the system crashes
    now = datetime(2022, 3, 1, 10, 30)
    market, broker, store = _market(now, 100_000.0), FakeBroker(), MemoryStore()
    long_put, short_put = put(500), put(490)
    market.quotes = {long_put: Quote(3.0, 3.02, now), short_put: Quote(2.0, 2.02, now)}
    system = TradingSystem(CFG, market, broker, store)
    system.start()
    legs = (ComboLeg(long_put, 1), ComboLeg(short_put, -1))
    oid = system.executor.submit_entry("7", "#7", legs, 1, market.quote, now)
    assert oid is not None
    first_leg = broker.orders[oid].legs[0]
    qty = first_leg.ratio * broker.orders[oid].quantity
    broker.held[first_leg.contract] = qty
    system.on_fill(FillEvent(oid, now, "E1", EventKind.FILL, first_leg.contract, qty, 1.0))
    # Act
    restarted = TradingSystem(CFG, market, broker, store)
    restarted.start()
    # Assert: the held leg fill came back with the working order, nothing adopted as unmanaged
    assert restarted.executor.pending_fills() == {first_leg.contract: qty}
    assert restarted.ledger.unmanaged() == {}
    assert "reconcile_unmanaged_holding" not in restarted.results.risk_events
    assert store.load(STATE_KEY) is not None
