"""Strategy schedules on LEAN's scheduler.

LEAN has date rules for every trading day and for weekdays but none for "the first Wednesday of
the month" or "Monday, or Tuesday when Monday is a holiday" (LEAN_NOTES.md). Every declared
schedule is therefore registered as *every trading day of the reference exchange at its time*
(``date_rules.every_day(symbol)``, ``time_rules.at(h, m, time_zone)``) and the handler asks
:func:`strategies.schedule.rule_fires` whether today is the rule's day, with holidays taken from
the exchange hours (``security.exchange.hours.is_date_open``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from config.model import Schedule
from strategies.schedule import TradingDay, rule_fires

if TYPE_CHECKING:
    from QuantConnect.Securities import SecurityExchangeHours


def exchange_trading_day(hours: SecurityExchangeHours) -> TradingDay:
    """``is_trading_day(day)`` from LEAN exchange hours (regular sessions only)."""

    def is_open(day: date) -> bool:
        return bool(hours.is_date_open(datetime.combine(day, time())))

    return is_open


class RuleDispatcher:
    """Turns LEAN's every-trading-day events into ``on_schedule(rule)`` calls on rule days.

    Parameters
    ----------
    today
        The algorithm's current date.
    is_trading_day
        Trading-day predicate of the reference exchange.
    ready
        False while warming up or before the system started: events are dropped.
    fire
        ``TradingSystem.on_schedule`` (through the event pump).
    """

    def __init__(self, today: Callable[[], date], is_trading_day: TradingDay,
                 ready: Callable[[], bool], fire: Callable[[str], None]) -> None:
        self._today = today
        self._is_trading_day = is_trading_day
        self._ready = ready
        self._fire = fire
        self.fired: list[tuple[date, str]] = []

    def handler(self, schedule: Schedule) -> Callable[[], None]:
        """The callback to register for ``schedule``."""

        def run() -> None:
            self.dispatch(schedule)

        return run

    def dispatch(self, schedule: Schedule) -> bool:
        """Fire ``schedule.rule`` when today is its day; returns whether it fired."""
        if not self._ready():
            return False
        day = self._today()
        if not rule_fires(schedule, day, self._is_trading_day):
            return False
        self.fired.append((day, schedule.rule))
        self._fire(schedule.rule)
        return True
