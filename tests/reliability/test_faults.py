"""Each fault at 2% and 20% over six weeks of the normal scenario: no crash, the book equals the
net of fills at every session end, no legged position at a close, no entry sent twice, and every
injected fault counted in the report's risk events."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sim.engine import RunResult
from sim.faults import Fault
from tests.reliability.builders import short_run

START, END = date(2022, 1, 3), date(2022, 2, 11)


def _check(result: RunResult) -> None:
    audit = result.audit
    assert audit.sessions_checked == result.sessions
    assert audit.book_mismatches == []
    assert audit.legged_at_close == []
    assert audit.duplicate_entries == []
    assert audit.overlapping_orders == 0
    inv = result.results.invariants
    assert inv.naked_short_legs_opened == 0
    assert inv.group_limit_breaches == 0


@pytest.mark.parametrize("rate", [0.02, 0.2])
@pytest.mark.parametrize("fault", list(Fault))
def test_run_when_fault_injected_then_invariants_hold_and_faults_counted(
        fault: Fault, rate: float, tmp_path: Path) -> None:
    # Act
    result = short_run(tmp_path, START, END, faults=frozenset({fault}), rate=rate)
    # Assert
    _check(result)
    events = result.results.risk_events
    assert events[fault.event_name] == result.faults[fault.event_name]
    assert set(result.faults) == {fault.event_name}
    if rate == 0.2:
        assert events[fault.event_name] > 0
    if fault is Fault.REJECTIONS:
        assert events.get("order_rejected", 0) >= events[fault.event_name]
    if fault is Fault.PARTIAL_FILLS:
        assert result.results.invariants.orders_legged == 0


def test_run_when_all_faults_with_restarts_then_invariants_hold(tmp_path: Path) -> None:
    result = short_run(tmp_path, START, END, faults=frozenset(Fault), rate=0.2,
                       restart_every_days=5)
    _check(result)
    assert result.audit.restarts == result.results.risk_events["restarts"] > 0
    assert set(result.faults) == {f.event_name for f in Fault}
    assert all(result.results.risk_events[k] == n for k, n in result.faults.items())


def test_run_when_same_seed_and_faults_then_same_run(tmp_path: Path) -> None:
    a = short_run(tmp_path / "a", START, END, faults=frozenset(Fault), rate=0.2)
    b = short_run(tmp_path / "b", START, END, faults=frozenset(Fault), rate=0.2)
    assert a.equity == b.equity
    assert a.faults == b.faults
    assert [t.position_id for t in a.results.trades] == [t.position_id for t in b.results.trades]


def test_run_when_faults_then_market_path_is_the_faultless_one(tmp_path: Path) -> None:
    clean = short_run(tmp_path / "clean", START, END)
    zero = short_run(tmp_path / "zero", START, END, faults=frozenset(Fault), rate=0.0)
    faulty = short_run(tmp_path / "faulty", START, END, faults=frozenset(Fault), rate=0.2)
    assert zero.equity == clean.equity and zero.faults == {}
    assert faulty.market == clean.market
    assert faulty.equity != clean.equity
