"""A restart between two rules of one day continues from what the first recorded: the Friday
butterfly's 10:30 baseline price survives a restart before its 10:35 entry."""

from __future__ import annotations

from datetime import datetime

from config import load_config
from config.enums import StrategyKey
from execution.types import Account, PricePoint
from system.trading_system import TradingSystem
from tests.kit import FakeBroker, FakeMarket, MemoryStore

BASELINE = datetime(2024, 6, 7, 10, 30)   # a Friday
ENTRY = datetime(2024, 6, 7, 10, 35)
K = StrategyKey.BUTTERFLY_0DTE


def _market(now: datetime, spx: float) -> FakeMarket:
    m = FakeMarket(clock=now)
    m.prices["SPX"] = PricePoint(spx, now)
    m.opens["SPX"] = 5300.0
    m.vix_point = PricePoint(16.0, now)
    m.acct = Account(100_000.0, 0.0, 100_000.0, 100_000.0)
    return m


def _skips(system: TradingSystem) -> dict[str, int]:
    return system.results.skips.get(K.value, {})


def test_day_memo_when_restarted_after_baseline_then_entry_reads_recorded_baseline() -> None:
    market, broker, store = _market(BASELINE, 5340.0), FakeBroker(), MemoryStore()
    system = TradingSystem(load_config(), market, broker, store)
    system.on_bar(BASELINE)
    system.on_schedule("butterfly_0dte.baseline")
    assert system.strategies[K].baseline(BASELINE.date()) == 5340.0

    later = _market(ENTRY, 5350.0)
    again = TradingSystem(load_config(), later, broker, store)
    again.on_bar(ENTRY)
    again.on_schedule("butterfly_0dte.entry")

    assert again.results.risk_events.get("restarts") == 1
    assert again.strategies[K].baseline(ENTRY.date()) == 5340.0
    assert "no_baseline" not in _skips(again)


def test_day_memo_when_restarted_on_a_later_day_then_old_baseline_not_used() -> None:
    market, broker, store = _market(BASELINE, 5340.0), FakeBroker(), MemoryStore()
    system = TradingSystem(load_config(), market, broker, store)
    system.on_bar(BASELINE)
    system.on_schedule("butterfly_0dte.baseline")

    next_friday = datetime(2024, 6, 14, 10, 35)
    again = TradingSystem(load_config(), _market(next_friday, 5350.0), broker, store)
    again.on_bar(next_friday)
    again.on_schedule("butterfly_0dte.entry")

    assert again.strategies[K].baseline(next_friday.date()) is None
    assert _skips(again).get("no_baseline") == 1
