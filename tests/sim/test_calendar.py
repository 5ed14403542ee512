"""Trading calendar: sessions, holidays, early closes and the bar grid come from XNYS."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from sim.calendar import TradingCalendar


def test_calendar_when_independence_day_then_not_a_trading_day(calendar: TradingCalendar) -> None:
    assert not calendar.is_trading_day(date(2022, 7, 4))
    assert calendar.is_trading_day(date(2022, 7, 5))


def test_calendar_when_good_friday_then_holiday(calendar: TradingCalendar) -> None:
    holidays = calendar.holidays(date(2022, 4, 1), date(2022, 4, 30))
    assert holidays == (date(2022, 4, 15),)


def test_calendar_when_day_after_thanksgiving_then_early_close_at_13(
        calendar: TradingCalendar) -> None:
    session = calendar.session(date(2022, 11, 25))
    assert session.early_close
    assert session.close == datetime(2022, 11, 25, 13, 0)
    assert date(2022, 11, 25) in calendar.early_closes(date(2022, 11, 1), date(2022, 11, 30))


def test_bar_times_when_full_day_then_open_to_close_inclusive(calendar: TradingCalendar) -> None:
    bars = calendar.bar_times(date(2022, 3, 1), 5)
    assert bars[0] == datetime(2022, 3, 1, 9, 30)
    assert bars[-1] == datetime(2022, 3, 1, 16, 0)
    assert len(bars) == 79


def test_bar_times_when_early_close_then_last_bar_is_the_close(calendar: TradingCalendar) -> None:
    bars = calendar.bar_times(date(2022, 11, 25), 7)
    assert bars[-1].time() == time(13, 0)
    assert all(b.time() < time(13, 0) for b in bars[:-1])


def test_bar_times_when_not_a_trading_day_then_key_error(calendar: TradingCalendar) -> None:
    with pytest.raises(KeyError):
        calendar.bar_times(date(2022, 7, 4), 5)


def test_calendar_when_range_outside_supported_then_value_error() -> None:
    with pytest.raises(ValueError, match="must lie inside"):
        TradingCalendar(date(1900, 1, 1), date(1901, 1, 1))


def test_shift_when_crossing_a_holiday_then_counts_sessions(calendar: TradingCalendar) -> None:
    assert calendar.shift(date(2022, 7, 1), 1) == date(2022, 7, 5)
    assert calendar.previous_or_same(date(2022, 7, 4)) == date(2022, 7, 1)
