"""The pieces of sim.faults: names, plan, hashed decisions, the event channel, the faulty market."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.enums import Right
from config.instruments import Contract
from execution.types import EventKind, FillEvent
from sim.engine import RunSpec, build_environment
from sim.faults import (
    BLOCK_MINUTES,
    BrokerFaults,
    Fault,
    FaultInjector,
    FaultPlan,
    FaultyMarket,
    hashed_uniform,
    parse_faults,
)
from tests.reliability.builders import calendar_2022

T = datetime(2022, 3, 1, 10, 0)
STEP = timedelta(minutes=15)
C1 = Contract("SPY", date(2022, 3, 18), 420.0, Right.PUT)
C2 = Contract("SPY", date(2022, 3, 18), 410.0, Right.PUT)
C3 = Contract("SPY", date(2022, 3, 18), 400.0, Right.PUT)


def _fills(order_id: str, n: int = 3, at: datetime = T, tag: str = "") -> list[FillEvent]:
    legs = (C1, C2, C3)[:n]
    return [FillEvent(order_id, at, f"{order_id}{tag}-E{i}", EventKind.FILL, c, 1 - 2 * (i % 2),
                      1.0) for i, c in enumerate(legs)]


def _channel(*faults: Fault, rate: float = 1.0, seed: int = 7) -> BrokerFaults:
    return BrokerFaults(FaultInjector(FaultPlan(frozenset(faults), rate, seed)), STEP)


def _run_channel(ch: BrokerFaults, batches: dict[int, list[FillEvent]], bars: int
                 ) -> list[tuple[int, FillEvent]]:
    """Feed ``batches`` (bar index -> new events) for ``bars`` bars, the last one closing."""
    out: list[tuple[int, FillEvent]] = []
    for i in range(bars):
        got = ch.deliver(T + i * STEP, batches.get(i, []), closing=i == bars - 1)
        out.extend((i, e) for e in got)
    return out


@pytest.mark.parametrize(("text", "expected"), [
    ("rejections", {Fault.REJECTIONS}),
    ("partial_fills, vix_gaps", {Fault.PARTIAL_FILLS, Fault.VIX_GAPS}),
    ("all", set(Fault)),
])
def test_parse_faults_when_known_names_then_set(text: str, expected: set[Fault]) -> None:
    assert parse_faults(text) == expected


@pytest.mark.parametrize("text", ["bogus", "rejections,", "stale-quotes"])
def test_parse_faults_when_unknown_name_then_error_names_it_and_choices(text: str) -> None:
    with pytest.raises(ValueError, match="unknown fault") as exc:
        parse_faults(text)
    assert "vix_gaps" in str(exc.value)


@pytest.mark.parametrize("rate", [-0.1, 1.5, math.nan, math.inf])
def test_fault_plan_when_rate_invalid_then_value_error(rate: float) -> None:
    with pytest.raises(ValueError, match="fault rate"):
        FaultPlan(frozenset({Fault.REJECTIONS}), rate, 1)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), key=st.integers(0, 2**40))
def test_hashed_uniform_when_same_keys_then_same_value_in_unit_interval(seed: int,
                                                                        key: int) -> None:
    a = float(hashed_uniform(seed, key, 3))
    b = float(hashed_uniform(seed, key, 3))
    assert a == b and 0.0 <= a < 1.0


def test_hashed_uniform_when_many_keys_then_roughly_uniform() -> None:
    u = hashed_uniform(11, 5, np.arange(20_000, dtype=np.int64))
    assert abs(float(np.mean(u)) - 0.5) < 0.01
    assert abs(float(np.mean(u < 0.2)) - 0.2) < 0.01


def test_channel_when_partial_fills_then_legs_spread_over_bars_and_none_lost() -> None:
    ch = _channel(Fault.PARTIAL_FILLS)
    out = _run_channel(ch, {0: _fills("O1")}, bars=12)
    bars = {e.event_id: i for i, e in out}
    assert sorted(bars) == sorted(e.event_id for e in _fills("O1"))
    assert len(set(bars.values())) > 1
    assert ch.injector.counts[Fault.PARTIAL_FILLS] == 1


def test_channel_when_disconnected_then_nothing_until_burst_at_the_latest_close() -> None:
    ch = _channel(Fault.DISCONNECTS)
    out = _run_channel(ch, {0: _fills("O1"), 2: _fills("O2")}, bars=6)
    assert [i for i, _ in out] == [5] * 6
    assert ch.injector.counts[Fault.DISCONNECTS] >= 1


def test_channel_when_disconnect_ends_then_held_events_arrive_together() -> None:
    ch = _channel(Fault.DISCONNECTS, rate=0.3, seed=4)
    out = _run_channel(ch, {i: _fills(f"O{i}", n=1) for i in range(20)}, bars=21)
    late = [(i, e) for i, e in out if i > int(e.order_id[1:])]
    assert ch.injector.counts[Fault.DISCONNECTS] >= 1 and late
    burst = max(sum(1 for j, _ in out if j == i) for i, _ in late)
    assert burst >= 2


def test_channel_when_duplicates_then_same_event_id_delivered_twice() -> None:
    ch = _channel(Fault.DUPLICATE_EVENTS)
    out = _run_channel(ch, {0: _fills("O1", n=2)}, bars=5)
    ids = [e.event_id for _, e in out]
    assert sorted(ids) == sorted(2 * [e.event_id for e in _fills("O1", n=2)])
    assert ch.injector.counts[Fault.DUPLICATE_EVENTS] == 2
    assert ch.held == ()


def test_channel_when_order_events_delayed_then_later_events_of_that_order_wait() -> None:
    ch = _channel(Fault.PARTIAL_FILLS)
    cancel = FillEvent("O1", T, "O1-C", EventKind.CANCELLED)
    out = _run_channel(ch, {0: _fills("O1"), 1: [cancel]}, bars=12)
    order = [e.event_id for _, e in out]
    assert order.index("O1-C") == len(order) - 1


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), rate=st.floats(0.0, 1.0),
       arrivals=st.lists(st.integers(0, 9), min_size=1, max_size=6))
def test_channel_when_all_faults_then_every_event_arrives_by_the_close(
        seed: int, rate: float, arrivals: list[int]) -> None:
    ch = _channel(Fault.PARTIAL_FILLS, Fault.DUPLICATE_EVENTS, Fault.DISCONNECTS, rate=rate,
                  seed=seed)
    batches: dict[int, list[FillEvent]] = {}
    for n, bar in enumerate(arrivals):
        batches.setdefault(bar, []).extend(_fills(f"O{n}"))
    out = _run_channel(ch, batches, bars=10)
    sent = {e.event_id for events in batches.values() for e in events}
    assert {e.event_id for _, e in out} == sent
    assert ch.held == ()


def test_injector_when_same_plan_then_same_draws_and_no_draw_for_unplanned_fault() -> None:
    a = FaultInjector(FaultPlan(frozenset({Fault.REJECTIONS}), 0.5, 3))
    b = FaultInjector(FaultPlan(frozenset({Fault.REJECTIONS}), 0.5, 3))
    assert [a.draw(Fault.REJECTIONS) for _ in range(50)] == [
        b.draw(Fault.REJECTIONS) for _ in range(50)]
    state = a.rng.bit_generator.state
    assert a.draw(Fault.VIX_GAPS) is False
    assert a.rng.bit_generator.state == state
    assert a.risk_events() == {"fault_rejections": 0}


def _faulty_market(fault: Fault, rate: float) -> FaultyMarket:
    spec = RunSpec(date(2022, 3, 1), date(2022, 3, 4), step_minutes=15)
    env = build_environment(spec, cal=calendar_2022())
    return FaultyMarket(env.market, FaultInjector(FaultPlan(frozenset({fault}), rate, 5)))


def test_faulty_market_when_quotes_stale_then_old_time_or_missing_and_counted() -> None:
    m = _faulty_market(Fault.STALE_QUOTES, 1.0)
    times = [T + i * STEP for i in range(4)]
    m.inner.advance(times[0])
    assert m.quote(C1) is None
    assert m.vix() is not None
    for t in times[1:]:
        m.inner.advance(t)
        q = m.quote(C1)
        assert q is None or t - q.time > timedelta(minutes=5)
    assert m.injector.counts[Fault.STALE_QUOTES] == 4


def test_faulty_market_when_chain_rows_faulted_then_nan_or_old_time() -> None:
    m = _faulty_market(Fault.STALE_QUOTES, 0.3)
    m.inner.advance(T)
    raw = m.inner.chain("SPY", 10, 40)
    faulty = m.chain("SPY", 10, 40)
    assert raw is not None and faulty is not None and len(raw) == len(faulty)
    missing = np.isnan(faulty.bid) & ~np.isnan(raw.bid)
    old = faulty.quote_time.astype("datetime64[s]") < raw.quote_time.astype("datetime64[s]")
    share = float(np.mean(missing | old))
    assert 0.2 < share < 0.4
    assert m.injector.counts[Fault.STALE_QUOTES] == int(np.count_nonzero(missing | old))


def test_faulty_market_when_vix_gap_then_missing_or_stale_for_the_block() -> None:
    m = _faulty_market(Fault.VIX_GAPS, 1.0)
    m.inner.advance(T)
    assert m.vix() is None
    assert m.quote(C1) is not None
    m.inner.advance(T + timedelta(minutes=BLOCK_MINUTES))
    assert m.vix() is None
    assert m.injector.counts[Fault.VIX_GAPS] == 2
