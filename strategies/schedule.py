"""Declared schedules: on which trading days and at what time a rule fires.

A schedule names its *nominal* days (every day, a weekday, or the nth weekday of the month). A
nominal day that is not a trading day moves to the next trading day when ``holiday_roll`` is set
(Good Friday's 0DTE fires on Monday, a Monday-holiday ladder entry on Tuesday). A trading day
fires at most once per rule however many nominal days map onto it, and a nominal day moves only
across the non-trading days directly before the day it lands on, so it can never land on a later
week's or month's occurrence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, time, timedelta

from config.enums import ScheduleKind
from config.model import Schedule

TradingDay = Callable[[date], bool]

# Longest run of consecutive non-trading days searched backwards from a trading day (a long
# weekend plus an exchange closure is well inside this).
_MAX_CLOSED_RUN = 14


def week_of_month(day: date) -> int:
    """1 for days 1–7, 2 for 8–14, … 5 for 29–31: the occurrence of ``day``'s weekday."""
    return (day.day - 1) // 7 + 1


def last_weekday(day: date, weekday: int) -> date:
    """The latest date on or before ``day`` falling on ``weekday`` (0 = Monday): the nominal
    day of a weekly rule that fired on ``day`` after a holiday roll."""
    return day - timedelta(days=(day.weekday() - weekday) % 7)


def _is_nominal(schedule: Schedule, day: date) -> bool:
    kind = schedule.kind
    if kind is ScheduleKind.DAILY:
        return True
    if day.weekday() != schedule.weekday:
        return False
    if kind is ScheduleKind.WEEKLY:
        return True
    return week_of_month(day) in schedule.nth


def nominal_day(schedule: Schedule, day: date, is_trading_day: TradingDay) -> date | None:
    """The nominal rule day that fires on trading day ``day``, or None when the rule does not
    fire. ``day`` itself wins over a rolled-in earlier day."""
    if not is_trading_day(day):
        return None
    if _is_nominal(schedule, day):
        return day
    if not schedule.holiday_roll or schedule.kind is ScheduleKind.DAILY:
        return None
    d = day - timedelta(days=1)
    for _ in range(_MAX_CLOSED_RUN):
        if is_trading_day(d):
            return None
        if _is_nominal(schedule, d):
            return d
        d -= timedelta(days=1)
    return None


def rule_fires(schedule: Schedule, day: date, is_trading_day: TradingDay) -> bool:
    """True when ``day`` is a trading day and is ``schedule``'s effective day.

    DAILY fires every trading day; WEEKLY on ``schedule.weekday`` (0 = Monday); MONTHLY_NTH on
    the nth ``weekday`` of the month for each n in ``schedule.nth`` (the first Wednesday can be
    the 7th). A nominal day that is not a trading day fires on the next trading day when
    ``holiday_roll`` is set, otherwise not at all.
    """
    return nominal_day(schedule, day, is_trading_day) is not None


def fire_times(schedules: Iterable[Schedule], day: date,
               is_trading_day: TradingDay) -> list[tuple[time, str]]:
    """``(time, rule)`` of every schedule firing on ``day``, ordered by time (stable)."""
    fired = [(s.at, s.rule) for s in schedules if rule_fires(s, day, is_trading_day)]
    return sorted(fired, key=lambda x: x[0])
