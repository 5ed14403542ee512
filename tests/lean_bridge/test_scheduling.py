"""Schedules registered every trading day; the dispatcher fires a rule only on its days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from config import load_config
from config.model import Schedule
from lean_bridge.scheduling import RuleDispatcher, exchange_trading_day
from tests.lean_bridge.fakes import FakeExchangeHours

CFG = load_config()
SCHEDULES = {s.rule: s for c in CFG.strategies.all_common() for s in c.schedules}
MLK_2026 = date(2026, 1, 19)  # Monday, NYSE closed


def run_days(schedule: Schedule, first: date, days: int, closed: set[object] | None = None,
             ready: bool = True) -> list[date]:
    """Dispatch ``schedule`` on every trading day like LEAN's every_day rule; days it fired."""
    hours = FakeExchangeHours(closed or set())
    is_trading_day = exchange_trading_day(hours)
    today = [first]
    fired: list[date] = []
    dispatcher = RuleDispatcher(lambda: today[0], is_trading_day, lambda: ready,
                                lambda rule: fired.append(today[0]))
    handler = dispatcher.handler(schedule)
    for n in range(days):
        today[0] = first + timedelta(days=n)
        if is_trading_day(today[0]):  # LEAN's date_rules.every_day(symbol): trading days only
            handler()
    return fired


def test_exchange_trading_day_when_asked_then_midnight_of_the_day_passed() -> None:
    hours = FakeExchangeHours({MLK_2026})
    is_trading_day = exchange_trading_day(hours)

    assert not is_trading_day(MLK_2026)
    assert is_trading_day(date(2026, 1, 20))
    assert hours.asked == [datetime(2026, 1, 19), datetime(2026, 1, 20)]


def test_dispatch_when_first_wednesday_rule_then_fires_once_a_month() -> None:
    fired = run_days(SCHEDULES["lt112.entry"], date(2026, 1, 1), 90)

    assert fired == [date(2026, 1, 7), date(2026, 2, 4), date(2026, 3, 4)]


def test_dispatch_when_monday_is_holiday_then_ladder_fires_tuesday() -> None:
    fired = run_days(SCHEDULES["leap_put_ladder.entry"], date(2026, 1, 12), 14, {MLK_2026})

    assert fired == [date(2026, 1, 12), date(2026, 1, 20)]


def test_dispatch_when_second_tuesday_rule_then_only_that_day() -> None:
    fired = run_days(SCHEDULES["futures_strangle.entry"], date(2026, 3, 1), 31)

    assert fired == [date(2026, 3, 10)]


def test_dispatch_when_not_ready_then_never_fires() -> None:
    assert run_days(SCHEDULES["bear_trap.entry"], date(2026, 1, 5), 5, ready=False) == []


@pytest.mark.parametrize("rule", sorted(SCHEDULES))
def test_dispatch_when_any_declared_rule_then_fires_only_on_trading_days(rule: str) -> None:
    closed: set[object] = {MLK_2026, date(2026, 2, 16)}
    fired = run_days(SCHEDULES[rule], date(2026, 1, 1), 60, closed)

    assert fired, rule
    assert all(d.weekday() < 5 and d not in closed for d in fired)
