"""Declared schedules: nominal days, holiday roll, no double firing (SPEC §8 "Common")."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.enums import Phase, ScheduleKind
from config.model import Schedule
from strategies.schedule import (
    fire_times,
    last_weekday,
    nominal_day,
    rule_fires,
    week_of_month,
)
from tests.strategies.builders import CFG, HOLIDAYS, is_trading_day

SCHED = {s.rule: s for c in CFG.strategies.all_common() for s in c.schedules}


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _fired(rule: str, start: date, end: date) -> list[date]:
    return [d for d in _days(start, end) if rule_fires(SCHED[rule], d, is_trading_day)]


def test_rule_fires_when_friday_0dte_fires_on_fridays_only() -> None:
    fired = _fired("friday_0dte.entry", date(2025, 6, 1), date(2025, 6, 30))

    assert fired == [date(2025, 6, 6), date(2025, 6, 13), date(2025, 6, 20), date(2025, 6, 27)]


def test_rule_fires_when_good_friday_moves_0dte_to_monday() -> None:
    fired = _fired("friday_0dte.entry", date(2025, 4, 14), date(2025, 4, 24))

    assert fired == [date(2025, 4, 21)]  # Good Friday 2025-04-18 -> Monday
    assert nominal_day(SCHED["friday_0dte.entry"], date(2025, 4, 21),
                       is_trading_day) == date(2025, 4, 18)


def test_rule_fires_when_july_fourth_friday_moves_butterfly_rules_together() -> None:
    base = _fired("butterfly_0dte.baseline", date(2025, 6, 30), date(2025, 7, 13))
    entry = _fired("butterfly_0dte.entry", date(2025, 6, 30), date(2025, 7, 13))

    assert base == entry == [date(2025, 7, 7), date(2025, 7, 11)]


def test_rule_fires_when_monday_holiday_ladder_moves_to_tuesday_once() -> None:
    fired = _fired("leap_put_ladder.entry", date(2025, 5, 19), date(2025, 6, 8))

    assert fired == [date(2025, 5, 19), date(2025, 5, 27), date(2025, 6, 2)]


def test_rule_fires_when_five_monday_month_fires_five_times() -> None:
    fired = _fired("leap_put_ladder.entry", date(2025, 6, 1), date(2025, 6, 30))

    assert [week_of_month(d) for d in fired] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("month_start", "expected"), [
    (date(2025, 5, 1), date(2025, 5, 7)),   # first Wednesday is the 7th
    (date(2026, 1, 1), date(2026, 1, 7)),   # the 1st is a holiday Thursday; Wed the 7th
    (date(2025, 10, 1), date(2025, 10, 1)),
])
def test_rule_fires_when_first_wednesday_lt112_fires_that_day(month_start: date,
                                                              expected: date) -> None:
    end = month_start + timedelta(days=27)

    assert _fired("lt112.entry", month_start, end) == [expected]
    assert _fired("ipmcc.entry", month_start, end) == [expected]


def test_rule_fires_when_third_wednesday_extra_rule_declares_phase_4() -> None:
    fired = _fired("lt112.entry_extra", date(2025, 5, 1), date(2025, 5, 31))

    assert fired == [date(2025, 5, 21)]
    assert SCHED["lt112.entry_extra"].min_phase is Phase.P4


def test_rule_fires_when_second_tuesday_strangle_fires_once_a_month() -> None:
    fired = _fired("futures_strangle.entry", date(2025, 6, 1), date(2025, 7, 31))

    assert fired == [date(2025, 6, 10), date(2025, 7, 8)]


def test_rule_fires_when_daily_rule_skips_holidays_without_rolling() -> None:
    fired = _fired("bear_trap.entry", date(2025, 7, 1), date(2025, 7, 8))

    assert fired == [date(2025, 7, 1), date(2025, 7, 2), date(2025, 7, 3), date(2025, 7, 7),
                     date(2025, 7, 8)]


def test_rule_fires_when_holiday_roll_off_drops_the_day() -> None:
    sched = Schedule("x.entry", ScheduleKind.WEEKLY, time(10), weekday=4, holiday_roll=False)

    assert not rule_fires(sched, date(2025, 4, 21), is_trading_day)
    assert not rule_fires(sched, date(2025, 4, 18), is_trading_day)


def test_rule_fires_when_nominal_first_wednesday_is_holiday_rolls_within_week() -> None:
    sched = Schedule("x.entry", ScheduleKind.MONTHLY_NTH, time(10), weekday=2, nth=(1,))
    closed = HOLIDAYS | {date(2029, 7, 4)}

    def trading(d: date) -> bool:
        return d.weekday() < 5 and d not in closed

    fired = [d for d in _days(date(2029, 7, 1), date(2029, 7, 31)) if rule_fires(sched, d, trading)]

    assert fired == [date(2029, 7, 5)]


@settings(max_examples=40, deadline=None)
@given(start=st.dates(date(2024, 1, 1), date(2026, 10, 1)),
       rule=st.sampled_from(sorted(SCHED)))
def test_rule_fires_when_any_quarter_only_trading_days_and_once_per_nominal_day(
        start: date, rule: str) -> None:
    sched = SCHED[rule]
    days = _days(start, start + timedelta(days=90))

    fired = [d for d in days if rule_fires(sched, d, is_trading_day)]
    nominals = [nominal_day(sched, d, is_trading_day) for d in fired]

    assert all(is_trading_day(d) for d in fired)
    assert len(set(nominals)) == len(nominals)
    assert all(n is not None and n <= d and (d - n).days < 7
               for n, d in zip(nominals, fired, strict=True))


def test_fire_times_when_friday_lists_rules_in_time_order() -> None:
    got = fire_times(CFG.strategies.friday_0dte.common.schedules
                     + CFG.strategies.butterfly_0dte.common.schedules
                     + CFG.strategies.ipmcc.common.schedules
                     + CFG.strategies.bear_trap.common.schedules,
                     date(2025, 6, 6), is_trading_day)

    assert got == [(time(9, 45), "ipmcc.call"), (time(10, 0), "bear_trap.entry"),
                   (time(10, 30), "friday_0dte.entry"), (time(10, 30), "butterfly_0dte.baseline"),
                   (time(10, 35), "butterfly_0dte.entry")]


def test_fire_times_when_weekend_is_empty() -> None:
    every = tuple(s for c in CFG.strategies.all_common() for s in c.schedules)

    assert fire_times(every, date(2025, 6, 7), is_trading_day) == []


def test_last_weekday_when_rolled_to_monday_finds_the_friday() -> None:
    assert last_weekday(date(2025, 4, 21), 4) == date(2025, 4, 18)
    assert last_weekday(date(2025, 4, 18), 4) == date(2025, 4, 18)
    assert last_weekday(date(2025, 5, 27), 0) == date(2025, 5, 26)
