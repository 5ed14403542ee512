"""Exchange trading days, holidays, early closes and the intraday bar grid (NYSE, XNYS).

Sessions come from ``exchange_calendars`` (no hand-written holiday lists). The same calendar is
used as the business-day calendar of every product's option expiry rules (an approximation for
CME products, whose holiday schedule differs on a few days a year; see docs/SIM.md).
All times are naive US/Eastern exchange time.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import numpy.typing as npt
import pandas as pd

EXCHANGE = "XNYS"
TIMEZONE = "America/New_York"
SESSION_OPEN = time(9, 30)
FIRST_SUPPORTED = date(1990, 1, 2)
LAST_SUPPORTED = date(2045, 12, 29)


@dataclass(frozen=True, slots=True)
class Session:
    """One trading day: regular-session open and close in exchange time."""

    day: date
    open: datetime
    close: datetime

    @property
    def minutes(self) -> int:
        """Length of the regular session in minutes (390 on a full day)."""
        return int((self.close - self.open).total_seconds() // 60)

    @property
    def early_close(self) -> bool:
        return self.close.time() < time(16, 0)


class TradingCalendar:
    """NYSE sessions between ``first`` and ``last`` (inclusive), with lookups by date.

    Parameters
    ----------
    first, last
        Calendar dates bounding the sessions loaded; queries outside raise ``ValueError``.
    """

    def __init__(self, first: date, last: date) -> None:
        if first < FIRST_SUPPORTED or last > LAST_SUPPORTED or first >= last:
            raise ValueError(
                f"calendar range {first}..{last} must lie inside "
                f"{FIRST_SUPPORTED}..{LAST_SUPPORTED} and be increasing"
            )
        cal = xcals.get_calendar(EXCHANGE, start=first.isoformat(), end=last.isoformat())
        sched = cal.schedule
        opens = sched["open"].dt.tz_convert(TIMEZONE).dt.tz_localize(None)
        closes = sched["close"].dt.tz_convert(TIMEZONE).dt.tz_localize(None)
        days = [ts.date() for ts in pd.DatetimeIndex(sched.index)]
        self.first = first
        self.last = last
        self._days: list[date] = days
        self._index: dict[date, int] = {d: i for i, d in enumerate(days)}
        self._sessions: list[Session] = [
            Session(d, o.to_pydatetime(), c.to_pydatetime())
            for d, o, c in zip(days, opens, closes, strict=True)
        ]
        self._ordinals: npt.NDArray[np.int64] = np.array([d.toordinal() for d in days],
                                                         dtype=np.int64)

    def _check(self, day: date) -> None:
        if not self.first <= day <= self.last:
            raise ValueError(f"date {day} is outside the loaded calendar {self.first}..{self.last}")

    @property
    def days(self) -> tuple[date, ...]:
        return tuple(self._days)

    def is_trading_day(self, day: date) -> bool:
        """Whether the exchange has a regular session on ``day``."""
        self._check(day)
        return day in self._index

    def session(self, day: date) -> Session:
        """The session on ``day``; ``KeyError`` when ``day`` is not a trading day."""
        self._check(day)
        return self._sessions[self._index[day]]

    def sessions(self, start: date, end: date) -> tuple[date, ...]:
        """Trading days ``start <= d <= end``."""
        self._check(start)
        self._check(end)
        lo = bisect.bisect_left(self._days, start)
        hi = bisect.bisect_right(self._days, end)
        return tuple(self._days[lo:hi])

    def holidays(self, start: date, end: date) -> tuple[date, ...]:
        """Weekdays ``start <= d <= end`` without a session."""
        out = []
        d = start
        while d <= end:
            if d.weekday() < 5 and not self.is_trading_day(d):
                out.append(d)
            d += timedelta(days=1)
        return tuple(out)

    def early_closes(self, start: date, end: date) -> tuple[date, ...]:
        """Trading days ``start <= d <= end`` whose session closes before 16:00."""
        return tuple(d for d in self.sessions(start, end) if self.session(d).early_close)

    def session_index(self, day: date) -> int:
        """Position of ``day`` among the loaded sessions; for a non-trading day, the position of
        the next session (so differences count sessions)."""
        self._check(day)
        return bisect.bisect_left(self._days, day)

    def session_indices(self, days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Vectorised :meth:`session_index` over date ordinals."""
        return np.searchsorted(self._ordinals, days, side="left").astype(np.int64)

    def previous_or_same(self, day: date) -> date:
        """``day`` when it is a session, else the last session before it."""
        self._check(day)
        i = bisect.bisect_right(self._days, day) - 1
        if i < 0:
            raise ValueError(f"no session on or before {day} in the loaded calendar")
        return self._days[i]

    def next_or_same(self, day: date) -> date:
        """``day`` when it is a session, else the first session after it."""
        self._check(day)
        i = bisect.bisect_left(self._days, day)
        if i >= len(self._days):
            raise ValueError(f"no session on or after {day} in the loaded calendar")
        return self._days[i]

    def shift(self, day: date, sessions: int) -> date:
        """The session ``sessions`` trading days after (negative: before) ``day``'s session
        (``day`` itself is rolled back to the previous session when it is not one)."""
        i = bisect.bisect_right(self._days, day) - 1
        j = i + sessions
        if not 0 <= j < len(self._days):
            raise ValueError(f"shifting {day} by {sessions} sessions leaves the loaded calendar")
        return self._days[j]

    def sessions_before(self, day: date, count: int) -> tuple[date, ...]:
        """The ``count`` sessions strictly before ``day`` (oldest first), fewer when the loaded
        calendar starts later."""
        hi = bisect.bisect_left(self._days, day)
        lo = max(0, hi - count)
        return tuple(self._days[lo:hi])

    def bar_times(self, day: date, step_minutes: int) -> tuple[datetime, ...]:
        """Bar times of ``day``: every ``step_minutes`` from the 9:30 open, plus the close.

        The session close is always the last bar (also on early-close days and when the step does
        not divide the session length).
        """
        if step_minutes < 1:
            raise ValueError(f"step_minutes must be >= 1, got {step_minutes}")
        s = self.session(day)
        return _bar_times(s.open, s.close, step_minutes)


@lru_cache(maxsize=4096)
def _bar_times(open_: datetime, close: datetime, step: int) -> tuple[datetime, ...]:
    out: list[datetime] = []
    t = open_
    delta = timedelta(minutes=step)
    while t < close:
        out.append(t)
        t += delta
    out.append(close)
    return tuple(out)
