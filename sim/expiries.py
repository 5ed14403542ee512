"""Option expiry calendars of the simulated products (approximations of the exchange rules).

Every rule names the calendar day of an expiry; an expiry that falls on a non-trading day moves
to the previous trading day (e.g. Good Friday). Business days are NYSE sessions (see
:mod:`sim.calendar`). A rule lists its expiries ``0 <= DTE <= horizon_days`` (calendar days).

Rules (documented in docs/SIM.md):

* ``DAILY`` - every trading day.
* ``FRIDAY`` - every Friday (weekly options).
* ``THIRD_FRIDAY`` - the third Friday of the listed ``months`` (standard monthlies, quarterlies,
  January LEAPs).
* ``CL`` - WTI crude (LO/MCL): four business days before the 25th calendar day of the month (the
  last business day before the 25th when the 25th is not one), i.e. one business day before the
  underlying futures contract's last trading day.
* ``GC`` - gold (OG/MGC): the fourth-last business day of the month.
* ``ZB`` - Treasury bond options (OZB): the last Friday that precedes the month's last business day
  by at least two business days.
* ``EUR`` - Euro FX options (EUU): the second Friday before the third Wednesday of the month.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum

from sim.calendar import TradingCalendar

ALL_MONTHS = frozenset(range(1, 13))
QUARTER_MONTHS = frozenset({3, 6, 9, 12})


class ExpiryRule(Enum):
    """How a listing rule picks its expiry days."""

    DAILY = "daily"
    FRIDAY = "friday"
    THIRD_FRIDAY = "third_friday"
    CL = "cl"
    GC = "gc"
    ZB = "zb"
    EUR = "eur"


@dataclass(frozen=True, slots=True)
class Listing:
    """One listed cycle: expiries of ``rule`` in ``months`` with ``0 <= DTE <= horizon_days``."""

    rule: ExpiryRule
    horizon_days: int
    months: frozenset[int] = field(default=ALL_MONTHS)

    def __post_init__(self) -> None:
        if self.horizon_days < 0:
            raise ValueError(f"listing horizon must be >= 0, got {self.horizon_days}")
        if not self.months or not self.months <= ALL_MONTHS:
            raise ValueError(f"listing months must be a non-empty subset of 1..12: {self.months}")


def _month_starts(first: date, last: date) -> list[date]:
    out = []
    y, m = first.year, first.month
    while date(y, m, 1) <= last:
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _last_of_month(d: date) -> date:
    nxt = date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)
    return nxt - timedelta(days=1)


def _nth_weekday(month_start: date, weekday: int, n: int) -> date:
    offset = (weekday - month_start.weekday()) % 7
    return month_start + timedelta(days=offset + 7 * (n - 1))


def _third_friday(cal: TradingCalendar, m: date) -> date:
    return _nth_weekday(m, 4, 3)


def _cl(cal: TradingCalendar, m: date) -> date:
    d25 = date(m.year, m.month, 25)
    anchor = d25 if cal.is_trading_day(d25) else cal.previous_or_same(d25 - timedelta(days=1))
    return cal.shift(anchor, -4)


def _gc(cal: TradingCalendar, m: date) -> date:
    last = cal.previous_or_same(_last_of_month(m))
    return cal.shift(last, -3)


def _zb(cal: TradingCalendar, m: date) -> date:
    last = cal.previous_or_same(_last_of_month(m))
    bound = cal.shift(last, -2)
    return bound - timedelta(days=(bound.weekday() - 4) % 7)


def _eur(cal: TradingCalendar, m: date) -> date:
    return _nth_weekday(m, 2, 3) - timedelta(days=12)


_MONTHLY: dict[ExpiryRule, Callable[[TradingCalendar, date], date]] = {
    ExpiryRule.THIRD_FRIDAY: _third_friday,
    ExpiryRule.CL: _cl,
    ExpiryRule.GC: _gc,
    ExpiryRule.ZB: _zb,
    ExpiryRule.EUR: _eur,
}


def rule_dates(cal: TradingCalendar, listing: Listing, first: date, last: date) -> list[date]:
    """Expiry days of ``listing`` between ``first`` and ``last`` (inclusive), rolled to trading
    days, sorted and unique."""
    out: set[date] = set()
    first, last = max(first, cal.first), min(last, cal.last)
    if first > last:
        return []
    if listing.rule is ExpiryRule.DAILY:
        out.update(cal.sessions(first, last))
    elif listing.rule is ExpiryRule.FRIDAY:
        d = first + timedelta(days=(4 - first.weekday()) % 7)
        while d <= last:
            day = cal.previous_or_same(d)
            if day >= first:
                out.add(day)
            d += timedelta(days=7)
    else:
        make = _MONTHLY[listing.rule]
        for m in _month_starts(first - timedelta(days=31), last + timedelta(days=31)):
            if m.month not in listing.months:
                continue
            try:
                day = cal.previous_or_same(make(cal, m))
            except ValueError:  # the month reaches outside the loaded calendar
                continue
            if first <= day <= last:
                out.add(day)
    return sorted(out)


class ExpiryCalendar:
    """Listed expiries of one product over a date range.

    Parameters
    ----------
    cal
        Trading calendar covering ``first`` .. ``last`` plus the longest listing horizon.
    listings
        The product's listed cycles.
    first, last
        First and last day on which listings are asked for.
    """

    def __init__(self, cal: TradingCalendar, listings: tuple[Listing, ...], first: date,
                 last: date) -> None:
        if not listings:
            raise ValueError("an expiry calendar needs at least one listing")
        self._rules: list[tuple[int, list[date]]] = []
        for listing in listings:
            end = last + timedelta(days=listing.horizon_days)
            self._rules.append((listing.horizon_days, rule_dates(cal, listing, first, end)))
        self._cache: dict[date, tuple[date, ...]] = {}

    def listed(self, today: date) -> tuple[date, ...]:
        """All expiries listed on ``today`` (``0 <= DTE <= horizon`` of their cycle), sorted."""
        hit = self._cache.get(today)
        if hit is not None:
            return hit
        out: set[date] = set()
        for horizon, dates in self._rules:
            lo = bisect.bisect_left(dates, today)
            hi = bisect.bisect_right(dates, today + timedelta(days=horizon))
            out.update(dates[lo:hi])
        result = tuple(sorted(out))
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[today] = result
        return result

    def in_window(self, today: date, min_dte: int, max_dte: int) -> tuple[date, ...]:
        """Listed expiries with ``min_dte <= (expiry - today).days <= max_dte``."""
        lo = today + timedelta(days=max(0, min_dte))
        hi = today + timedelta(days=max_dte)
        return tuple(d for d in self.listed(today) if lo <= d <= hi)
