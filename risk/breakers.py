"""Drawdown circuit breakers, day-loss and fast-loss stops (SPEC §6).

Drawdown is ``(peak − equity) / peak`` with the peak tracked on every valid update. Levels are the
ordered :class:`config.enums.BreakerLevel`; the level rises as soon as the drawdown reaches a
trigger and falls one level at a time while the drawdown is below that level's re-arm value (for
FLATTEN also only after the lock-out). Thresholds compare with a tolerance of 1e-12 so that a
drawdown of exactly 10% computed in floating point counts as 10%.

Lock-out: FLATTEN blocks entries on the day it fires and on the next ``lockout_days`` trading days
(counted by :meth:`CircuitBreakers.start_day`); from the trading day after that, entries are
allowed again once the drawdown is below ``flatten_rearm``.

Day stops: a day loss of ``day_loss`` × the day's opening equity, or a drop of ``fast_loss`` × the
highest equity of the last ``fast_loss_minutes`` minutes, blocks entries until the next trading
day; the fast loss also raises :attr:`CircuitBreakers.fast_loss_alert`.

A NaN or infinite equity is ignored (counted as ``invalid_equity``), never read as zero.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from config.enums import BreakerLevel
from config.model import Config
from risk.types import Rejection

CHECK: Final = "breakers"
_TOL: Final = 1e-12
_LEVELS: Final = tuple(BreakerLevel)
_EVENT_OF_LEVEL: Final = {
    BreakerLevel.REDUCED: "breaker_reduced",
    BreakerLevel.HALTED: "breaker_halted",
    BreakerLevel.FLATTEN: "breaker_flatten",
}
_REJECTION_OF_LEVEL: Final = {
    BreakerLevel.HALTED: "drawdown_halted",
    BreakerLevel.FLATTEN: "flatten_lockout",
}


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """The persistent part of :class:`CircuitBreakers` (the intraday fast-loss window is not
    kept). Plain fields so that the system can store it as JSON via :meth:`as_dict`.

    ``day`` and ``blocked_day`` are ISO dates; ``day_index`` counts trading days seen (the
    lock-out clock); ``events`` are ``(name, count)`` pairs.
    """

    level: int
    peak: float | None
    equity: float | None
    day: str | None
    day_index: int
    day_open: float | None
    flatten_day_index: int | None
    blocked_day: str | None
    blocked_reason: str
    fired_today: tuple[str, ...]
    flatten_requested: bool
    fast_loss_alert: bool
    events: tuple[tuple[str, int], ...]
    flat_blocked_days: int = 0

    def __post_init__(self) -> None:
        BreakerLevel(self.level)
        for name, x in (("peak", self.peak), ("equity", self.equity),
                        ("day_open", self.day_open)):
            if x is not None and not math.isfinite(x):
                raise ValueError(f"breaker snapshot: {name} must be finite, got {x!r}")
        if self.day_index < 0:
            raise ValueError(f"breaker snapshot: day_index must be >= 0, got {self.day_index}")
        for d in (self.day, self.blocked_day):
            if d is not None:
                date.fromisoformat(d)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready mapping (tuples become lists)."""
        return {
            "level": self.level, "peak": self.peak, "equity": self.equity, "day": self.day,
            "day_index": self.day_index, "day_open": self.day_open,
            "flatten_day_index": self.flatten_day_index, "blocked_day": self.blocked_day,
            "blocked_reason": self.blocked_reason, "fired_today": list(self.fired_today),
            "flatten_requested": self.flatten_requested,
            "fast_loss_alert": self.fast_loss_alert,
            "events": [[k, v] for k, v in self.events],
            "flat_blocked_days": self.flat_blocked_days,
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> BreakerSnapshot:
        """Inverse of :meth:`as_dict`; raises ``ValueError`` (or ``KeyError``/``TypeError``)
        naming the problem for malformed data, which the loader reports as corrupt state."""
        def opt_float(name: str) -> float | None:
            x = d[name]
            return None if x is None else float(x)

        def opt_int(name: str) -> int | None:
            x = d[name]
            return None if x is None else int(x)

        def opt_str(name: str) -> str | None:
            x = d[name]
            return None if x is None else str(x)

        return BreakerSnapshot(
            level=int(d["level"]), peak=opt_float("peak"), equity=opt_float("equity"),
            day=opt_str("day"), day_index=int(d["day_index"]), day_open=opt_float("day_open"),
            flatten_day_index=opt_int("flatten_day_index"), blocked_day=opt_str("blocked_day"),
            blocked_reason=str(d["blocked_reason"]),
            fired_today=tuple(str(x) for x in d["fired_today"]),
            flatten_requested=bool(d["flatten_requested"]),
            fast_loss_alert=bool(d["fast_loss_alert"]),
            events=tuple((str(k), int(v)) for k, v in d["events"]),
            flat_blocked_days=int(d.get("flat_blocked_days", 0)),
        )


class CircuitBreakers:
    """Tracks peak equity, the breaker level and the day stops.

    Attributes
    ----------
    flatten_requested : bool
        True from the moment FLATTEN fires until :meth:`acknowledge_flatten`.
    fast_loss_alert : bool
        True from a fast-loss stop until :meth:`acknowledge_alert`.
    """

    def __init__(self, cfg: Config) -> None:
        b = cfg.breakers
        self._b = b
        self._trigger = {
            BreakerLevel.REDUCED: b.reduced_drawdown,
            BreakerLevel.HALTED: b.halted_drawdown,
            BreakerLevel.FLATTEN: b.flatten_drawdown,
        }
        self._rearm = {
            BreakerLevel.REDUCED: b.reduced_rearm,
            BreakerLevel.HALTED: b.halted_rearm,
            BreakerLevel.FLATTEN: b.flatten_rearm,
        }
        self._first_trigger = min(trig - _TOL for trig in self._trigger.values())
        self._window = timedelta(minutes=b.fast_loss_minutes)
        self._flat_blocked_days = 0
        self._level = BreakerLevel.NORMAL
        self._peak: float | None = None
        self._equity: float | None = None
        self._day: date | None = None
        self._day_index = 0
        self._day_open: float | None = None
        self._flatten_day_index: int | None = None
        self._blocked_day: date | None = None
        self._blocked_reason = ""
        self._fired_today: set[str] = set()
        self._recent: deque[tuple[datetime, float]] = deque()
        self._events: Counter[str] = Counter()
        self.flatten_requested = False
        self.fast_loss_alert = False

    @property
    def level(self) -> BreakerLevel:
        return self._level

    @property
    def peak(self) -> float | None:
        return self._peak

    @property
    def drawdown(self) -> float | None:
        """Current drawdown from the peak as a fraction (None before the first valid equity)."""
        if self._peak is None or self._equity is None:
            return None
        return (self._peak - self._equity) / self._peak

    @property
    def day_open(self) -> float | None:
        return self._day_open

    @property
    def events(self) -> Counter[str]:
        """How often each event fired: ``breaker_reduced``, ``breaker_halted``,
        ``breaker_flatten``, ``day_loss``, ``fast_loss``, ``invalid_equity`` (a copy)."""
        return Counter(self._events)

    @property
    def size_multiplier(self) -> float:
        """Multiplier on new-position size: 1 at NORMAL, ``reduced_size_multiplier`` at REDUCED,
        0 at HALTED and FLATTEN."""
        if self._level is BreakerLevel.NORMAL:
            return 1.0
        if self._level is BreakerLevel.REDUCED:
            return self._b.reduced_size_multiplier
        return 0.0

    @property
    def lockout_days_left(self) -> int:
        """Trading days of the FLATTEN lock-out still to come after today (0 when none)."""
        if self._flatten_day_index is None:
            return 0
        return max(0, self._flatten_day_index + self._b.flatten_lockout_days - self._day_index)

    def snapshot(self) -> BreakerSnapshot:
        """State to persist across restarts."""
        return BreakerSnapshot(
            level=int(self._level), peak=self._peak, equity=self._equity,
            day=None if self._day is None else self._day.isoformat(),
            day_index=self._day_index, day_open=self._day_open,
            flatten_day_index=self._flatten_day_index,
            blocked_day=None if self._blocked_day is None else self._blocked_day.isoformat(),
            blocked_reason=self._blocked_reason, fired_today=tuple(sorted(self._fired_today)),
            flatten_requested=self.flatten_requested, fast_loss_alert=self.fast_loss_alert,
            events=tuple(sorted(self._events.items())),
            flat_blocked_days=self._flat_blocked_days,
        )

    def restore(self, snap: BreakerSnapshot) -> None:
        """Continue from a persisted :meth:`snapshot` (the fast-loss window starts empty)."""
        self._level = BreakerLevel(snap.level)
        self._peak, self._equity = snap.peak, snap.equity
        self._day = None if snap.day is None else date.fromisoformat(snap.day)
        self._day_index = snap.day_index
        self._day_open = snap.day_open
        self._flatten_day_index = snap.flatten_day_index
        self._blocked_day = None if snap.blocked_day is None else date.fromisoformat(
            snap.blocked_day)
        self._blocked_reason = snap.blocked_reason
        self._fired_today = set(snap.fired_today)
        self._recent.clear()
        self.flatten_requested = snap.flatten_requested
        self.fast_loss_alert = snap.fast_loss_alert
        self._events = Counter(dict(snap.events))
        self._flat_blocked_days = snap.flat_blocked_days

    def acknowledge_flatten(self) -> None:
        """The system has issued the closing orders for every position."""
        self.flatten_requested = False

    def acknowledge_alert(self) -> None:
        self.fast_loss_alert = False

    def start_day(self, day: date, equity: float, book_flat: bool = False) -> None:
        """Begin trading ``day`` with opening ``equity`` (USD).

        Counts a trading day (for the lock-out) when ``day`` is later than the previous one,
        clears the day stops and re-evaluates the level. A repeated call for the same day keeps
        the day's open. An invalid equity is counted and the first valid update of the day
        becomes the day's open instead. ``book_flat`` says no position is open: a halted account
        whose book has stayed flat for the lock-out period is re-based (see
        :meth:`_rebase_after_lockout`).
        """
        new_day = self._day is None or day > self._day
        if new_day:
            stuck = book_flat and self._level >= BreakerLevel.HALTED
            self._flat_blocked_days = self._flat_blocked_days + 1 if stuck else 0
            self._day_index += 1
            self._day = day
            self._day_open = None
            self._blocked_day = None
            self._blocked_reason = ""
            self._fired_today.clear()
            self._recent.clear()
        if not self._accept(equity):
            return
        if self._day_open is None:
            self._day_open = equity
        self._rebase_after_lockout()
        self._apply_level()

    def _rebase_after_lockout(self) -> None:
        """Re-base the peak to current equity when the account is stuck, if configured.

        With the book flat, equity cannot recover by itself, so the literal re-arm rules (drawdown
        below the re-arm level) would lock the account out for good: after the flatten lock-out,
        and for a halted account whose book has been flat for as many trading days as the
        lock-out, the drawdown measure restarts from the equity the account has now.
        """
        if not self._b.flatten_rebase_after_lockout or self._equity is None:
            return
        level = self._level
        if level is BreakerLevel.FLATTEN:
            if (self._flatten_day_index is None or self._day_index
                    <= self._flatten_day_index + self._b.flatten_lockout_days):
                return
        elif level is BreakerLevel.HALTED:
            if self._flat_blocked_days <= self._b.flatten_lockout_days:
                return
        else:
            return
        dd = self.drawdown
        if dd is not None and dd >= self._rearm[level] - _TOL:
            self._peak = self._equity
            self._flat_blocked_days = 0
            self._events["breaker_rebased"] += 1

    def update(self, equity: float, now: datetime) -> None:
        """Record equity (USD, NLV) observed at ``now``: peak, level, day and fast-loss stops."""
        if not self._accept(equity):
            return
        if self._day_open is None:
            self._day_open = equity
        self._apply_level()
        self._check_day_loss(equity, now)
        self._check_fast_loss(equity, now)

    def allows_entries(self, now: datetime) -> Rejection | None:
        """None when new entries are allowed at ``now``."""
        if self._peak is None:
            return Rejection(CHECK, "no_equity", detail="no valid equity observed yet")
        reason = _REJECTION_OF_LEVEL.get(self._level)
        if reason is not None:
            return Rejection(CHECK, reason, limit=self._trigger[self._level],
                             observed=self.drawdown,
                             detail=f"lock-out days left {self.lockout_days_left}")
        if self._blocked_day is not None and now.date() <= self._blocked_day:
            return Rejection(CHECK, self._blocked_reason, detail="until the next trading day")
        return None

    def _accept(self, equity: float) -> bool:
        if not math.isfinite(equity) or (self._peak is None and equity <= 0.0):
            self._events["invalid_equity"] += 1
            return False
        self._equity = equity
        if self._peak is None or equity > self._peak:
            self._peak = equity
        return True

    def _apply_level(self) -> None:
        dd = self.drawdown
        if dd is None or (dd < self._first_trigger and self._level is BreakerLevel.NORMAL):
            return
        reached = max((lvl for lvl, trig in self._trigger.items() if dd >= trig - _TOL),
                      default=BreakerLevel.NORMAL)
        if reached > self._level:
            self._level = reached
            self._events[_EVENT_OF_LEVEL[reached]] += 1
            if reached is BreakerLevel.FLATTEN:
                self.flatten_requested = True
                self._flatten_day_index = self._day_index
            return
        while self._level > BreakerLevel.NORMAL and self._can_rearm(self._level, dd):
            if self._level is BreakerLevel.FLATTEN:
                self._flatten_day_index = None
            self._level = _LEVELS[_LEVELS.index(self._level) - 1]

    def _can_rearm(self, level: BreakerLevel, dd: float) -> bool:
        if dd >= self._rearm[level] - _TOL:
            return False
        if level is BreakerLevel.FLATTEN and self._flatten_day_index is not None:
            return self._day_index > self._flatten_day_index + self._b.flatten_lockout_days
        return True

    def _block_day(self, reason: str, now: datetime) -> None:
        if self._blocked_day is None:
            self._blocked_day = now.date()
            self._blocked_reason = reason
        self._fired_today.add(reason)
        self._events[reason] += 1

    def _check_day_loss(self, equity: float, now: datetime) -> None:
        o = self._day_open
        if o is None or o <= 0.0 or "day_loss" in self._fired_today:
            return
        if (o - equity) / o >= self._b.day_loss - _TOL:
            self._block_day("day_loss", now)

    def _check_fast_loss(self, equity: float, now: datetime) -> None:
        self._recent.append((now, equity))
        while self._recent and now - self._recent[0][0] > self._window:
            self._recent.popleft()
        high = max(e for _, e in self._recent)
        if "fast_loss" in self._fired_today or high <= 0.0:
            return
        if (high - equity) / high >= self._b.fast_loss - _TOL:
            self._block_day("fast_loss", now)
            self.fast_loss_alert = True
