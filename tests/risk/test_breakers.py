"""Circuit breakers: drawdown levels and re-arm, flatten lock-out, day and fast loss (§6)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta

import pytest

from config.enums import BreakerLevel
from config.model import Config
from risk.breakers import BreakerSnapshot, CircuitBreakers
from tests.risk.builders import NOW, TODAY, cfg, config_with

L = BreakerLevel
PEAK = 100_000.0


def trading_day(n: int) -> date:
    """The n-th weekday after TODAY (a Friday), skipping weekends."""
    d = TODAY
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def at(d: date, minutes: int = 0) -> datetime:
    return datetime.combine(d, NOW.time()) + timedelta(minutes=minutes)


def stepped(*drawdowns: float, config: Config | None = None) -> CircuitBreakers:
    """Peak, then each drawdown on its own trading day (day stops never involved)."""
    b = CircuitBreakers(config or cfg())
    b.start_day(TODAY, PEAK)
    b.update(PEAK, at(TODAY))
    for i, dd in enumerate(drawdowns, start=1):
        d = trading_day(i)
        b.start_day(d, PEAK * (1 - dd))
        b.update(PEAK * (1 - dd), at(d))
    return b


@pytest.mark.parametrize(("dd", "level"), [
    (0.0, L.NORMAL), (0.0999, L.NORMAL), (0.10 - 2e-12, L.NORMAL), (0.10 - 5e-13, L.REDUCED),
    (0.10, L.REDUCED), (0.1499, L.REDUCED),
    (0.15, L.HALTED), (0.1999, L.HALTED), (0.20, L.FLATTEN), (0.35, L.FLATTEN),
])
def test_level_when_drawdown_reaches_spec_trigger_then_level(dd: float, level: L) -> None:
    b = stepped(dd)

    assert b.level is level


@pytest.mark.parametrize(("path", "level"), [
    ((0.10, 0.08), L.REDUCED), ((0.10, 0.0799), L.NORMAL),
    ((0.15, 0.12), L.HALTED), ((0.15, 0.1199), L.REDUCED), ((0.15, 0.0799), L.NORMAL),
    ((0.15, 0.11, 0.13), L.REDUCED), ((0.10, 0.09, 0.10), L.REDUCED),
])
def test_level_when_drawdown_recovers_then_rearm_only_below_rearm_level(
        path: tuple[float, ...], level: L) -> None:
    b = stepped(*path)

    assert b.level is level


@pytest.mark.parametrize(("level", "multiplier", "reason"), [
    (0.0, 1.0, None), (0.10, 0.5, None), (0.15, 0.0, "drawdown_halted"),
    (0.20, 0.0, "flatten_lockout"),
])
def test_allows_entries_when_level_then_size_multiplier_and_verdict(
        level: float, multiplier: float, reason: str | None) -> None:
    b = stepped(level)

    verdict = b.allows_entries(at(trading_day(1), 5))

    assert b.size_multiplier == multiplier
    assert (None if verdict is None else verdict.reason) == reason


def test_flatten_when_fired_then_requested_until_acknowledged() -> None:
    b = stepped(0.20)
    before = b.flatten_requested

    b.acknowledge_flatten()

    assert before is True
    assert b.flatten_requested is False
    assert b.events["breaker_flatten"] == 1


@pytest.mark.parametrize(("days_after", "dd", "level"), [
    (1, 0.05, L.FLATTEN), (9, 0.05, L.FLATTEN), (10, 0.05, L.FLATTEN), (11, 0.05, L.NORMAL),
    (11, 0.10, L.REDUCED), (11, 0.15, L.FLATTEN), (11, 0.1499, L.HALTED), (25, 0.16, L.FLATTEN),
])
def test_flatten_when_lockout_counts_trading_days_then_rearm_after_lockout_and_below_rearm(
        days_after: int, dd: float, level: L) -> None:
    b = stepped(0.20, config=config_with(breaker__flatten__rebase_after_lockout="0"))

    for n in range(1, days_after + 1):
        d = trading_day(1 + n)
        b.start_day(d, PEAK * (1 - dd))
        b.update(PEAK * (1 - dd), at(d))

    assert b.level is level


@pytest.mark.parametrize("dd", [0.15, 0.18, 0.20])
def test_flatten_when_lockout_over_and_still_deep_then_peak_rebased_and_entries_resume(
        dd: float) -> None:
    b = stepped(0.20)
    lockout = cfg().breakers.flatten_lockout_days

    for n in range(1, lockout + 2):
        d = trading_day(1 + n)
        b.start_day(d, PEAK * (1 - dd))
        b.update(PEAK * (1 - dd), at(d))

    assert b.level is L.NORMAL
    assert b.peak == pytest.approx(PEAK * (1 - dd))
    assert b.events["breaker_rebased"] == 1


def test_flatten_when_still_in_lockout_then_no_rebase() -> None:
    b = stepped(0.20)

    for n in range(1, cfg().breakers.flatten_lockout_days + 1):
        d = trading_day(1 + n)
        b.start_day(d, PEAK * 0.82)
        b.update(PEAK * 0.82, at(d))

    assert b.level is L.FLATTEN
    assert b.events["breaker_rebased"] == 0


def test_lockout_when_same_day_started_twice_then_counted_once() -> None:
    b = stepped(0.20)
    flatten_day = trading_day(1)

    b.start_day(flatten_day, PEAK * 0.95)
    b.start_day(flatten_day, PEAK * 0.95)

    assert b.lockout_days_left == cfg().breakers.flatten_lockout_days


def test_lockout_when_eleventh_trading_day_then_entries_allowed_again() -> None:
    b = stepped(0.20)
    for n in range(1, 12):
        d = trading_day(1 + n)
        b.start_day(d, PEAK * 0.99)
        b.update(PEAK * 0.99, at(d))

    verdict = b.allows_entries(at(trading_day(12), 1))

    assert verdict is None


def test_events_when_levels_fire_then_counted_by_name() -> None:
    b = stepped(0.10, 0.15, 0.20)

    ev = b.events

    assert (ev["breaker_reduced"], ev["breaker_halted"], ev["breaker_flatten"]) == (1, 1, 1)


@pytest.mark.parametrize(("loss", "blocked"), [(0.0499, False), (0.05, True), (0.07, True)])
def test_day_loss_when_loss_from_day_open_then_block_until_next_day(loss: float,
                                                                    blocked: bool) -> None:
    b = CircuitBreakers(cfg())
    b.start_day(TODAY, PEAK)
    for i in range(4):   # slow decline: 30 minutes per step, never a fast loss
        b.update(PEAK * (1 - loss * (i + 1) / 4), at(TODAY, 30 * i))

    verdict = b.allows_entries(at(TODAY, 200))

    assert (verdict is not None) is blocked
    if blocked:
        assert verdict is not None and verdict.reason == "day_loss"
        assert b.events["day_loss"] == 1


def test_day_loss_when_next_trading_day_then_entries_allowed() -> None:
    b = CircuitBreakers(cfg())
    b.start_day(TODAY, PEAK)
    b.update(PEAK * 0.975, at(TODAY, 0))
    b.update(PEAK * 0.95, at(TODAY, 30))
    blocked = b.allows_entries(at(TODAY, 40))

    b.start_day(trading_day(1), PEAK * 0.95)

    assert blocked is not None
    assert b.allows_entries(at(trading_day(1))) is None


@pytest.mark.parametrize(("minutes", "drop", "blocked"), [
    (5, 0.03, True), (5, 0.0299, False), (1, 0.04, True), (6, 0.03, False),
])
def test_fast_loss_when_drop_within_window_then_block_and_alert(minutes: int, drop: float,
                                                                blocked: bool) -> None:
    b = CircuitBreakers(cfg())
    b.start_day(TODAY, PEAK)
    b.update(PEAK, at(TODAY, 0))

    b.update(PEAK * (1 - drop), at(TODAY, minutes))

    verdict = b.allows_entries(at(TODAY, minutes + 1))
    assert (verdict is not None) is blocked
    assert b.fast_loss_alert is blocked
    if blocked:
        assert verdict is not None and verdict.reason == "fast_loss"
        assert b.events["fast_loss"] == 1


def test_fast_loss_when_next_day_then_cleared_alert_kept_until_acknowledged() -> None:
    b = CircuitBreakers(cfg())
    b.start_day(TODAY, PEAK)
    b.update(PEAK, at(TODAY, 0))
    b.update(PEAK * 0.96, at(TODAY, 2))

    b.start_day(trading_day(1), PEAK * 0.96)

    assert b.allows_entries(at(trading_day(1))) is None
    assert b.fast_loss_alert is True
    b.acknowledge_alert()
    assert b.fast_loss_alert is False


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_update_when_equity_not_finite_then_ignored_and_reported(bad: float) -> None:
    b = stepped(0.05)
    dd_before = b.drawdown

    b.update(bad, at(trading_day(1), 10))

    assert b.drawdown == dd_before
    assert b.level is L.NORMAL
    assert b.events["invalid_equity"] == 1


def test_start_day_when_equity_nan_then_first_valid_update_is_day_open() -> None:
    b = CircuitBreakers(cfg())
    b.start_day(TODAY, math.nan)

    b.update(PEAK, at(TODAY))

    assert b.day_open == PEAK
    assert b.events["invalid_equity"] == 1


def test_allows_entries_when_no_equity_yet_then_rejected() -> None:
    verdict = CircuitBreakers(cfg()).allows_entries(NOW)

    assert verdict is not None and (verdict.check, verdict.reason) == ("breakers", "no_equity")


def test_peak_when_equity_rises_then_tracked_on_every_update() -> None:
    b = CircuitBreakers(cfg())
    b.start_day(TODAY, PEAK)

    b.update(120_000.0, at(TODAY, 10))
    b.update(108_000.0, at(TODAY, 40))

    assert b.peak == 120_000.0
    assert b.level is L.REDUCED


def test_start_day_when_called_again_same_day_then_day_open_kept() -> None:
    b = CircuitBreakers(cfg())
    b.start_day(TODAY, PEAK)

    b.start_day(TODAY, PEAK * 0.9)

    assert b.day_open == PEAK


def test_restore_when_snapshot_round_trips_json_then_lockout_continues() -> None:
    b = stepped(0.20)
    for n in range(1, 4):
        d = trading_day(1 + n)
        b.start_day(d, PEAK * 0.95)
    text = json.dumps(b.snapshot().as_dict())

    restored = CircuitBreakers(cfg())
    restored.restore(BreakerSnapshot.from_dict(json.loads(text)))

    assert restored.snapshot() == b.snapshot()
    assert restored.level is L.FLATTEN
    assert restored.lockout_days_left == b.lockout_days_left == 7
    assert restored.events["breaker_flatten"] == 1


@pytest.mark.parametrize(("field", "value"), [("level", 9), ("peak", math.nan),
                                              ("day", "not a date"), ("day_index", -1)])
def test_snapshot_from_dict_when_malformed_then_value_error(field: str, value: object) -> None:
    d = stepped(0.05).snapshot().as_dict()
    d[field] = value

    with pytest.raises(ValueError):
        BreakerSnapshot.from_dict(d)


def test_halted_when_book_flat_for_lockout_then_peak_rebased_and_entries_resume() -> None:
    b = stepped(0.16)
    lockout = cfg().breakers.flatten_lockout_days
    assert b.level is L.HALTED

    for n in range(1, lockout + 3):
        d = trading_day(1 + n)
        b.start_day(d, PEAK * 0.86, book_flat=True)
        b.update(PEAK * 0.86, at(d))

    assert b.level is L.NORMAL
    assert b.events["breaker_rebased"] == 1


def test_halted_when_positions_still_open_then_no_rebase() -> None:
    b = stepped(0.16)

    for n in range(1, 3 * cfg().breakers.flatten_lockout_days):
        d = trading_day(1 + n)
        b.start_day(d, PEAK * 0.86, book_flat=False)
        b.update(PEAK * 0.86, at(d))

    assert b.level is L.HALTED
    assert b.events["breaker_rebased"] == 0
