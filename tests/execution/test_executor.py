"""Executor: price walks, refusals and every order of broker events."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from config.enums import StrategyKey
from config.instruments import Contract
from execution.executor import ComboExecutor, OrderOutcome, OutcomeStatus, Walk
from execution.types import ComboLeg, ComboOrder, ExitReason, OrderPurpose
from tests.execution.builders import (
    CFG,
    CREDIT_SPREAD,
    LONG_PUT,
    NAKED_PUT,
    SHORT_PUT,
    T0,
    Events,
    FakeRouter,
    Quotes,
    executor,
    put,
    spread_quotes,
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def advance(ex: ComboExecutor, q: Quotes, minutes: float) -> list[OrderOutcome]:
    q.now = at(minutes)
    return ex.on_time(q.now, q)


def open_entry(units: int = 1) -> tuple[ComboExecutor, FakeRouter, Quotes, str]:
    ex, router = executor()
    q = spread_quotes()
    oid = ex.submit_entry("7", "friday_0dte #7", CREDIT_SPREAD, units, q, T0)
    assert oid is not None
    return ex, router, q, oid


def test_entry_walk_when_unfilled_steps_from_mid_to_natural_every_two_minutes() -> None:
    ex, router, q, oid = open_entry()

    for minute in (1, 2, 3, 4, 5, 6, 7):
        advance(ex, q, minute)

    assert router.limits[oid] == pytest.approx([1.15, 1.10, 1.05, 1.00])
    assert router.cancels == []


def test_entry_walk_when_unfilled_after_last_step_cancels_not_filled() -> None:
    ex, router, q, oid = open_entry()
    for minute in (2, 4, 6, 8):
        advance(ex, q, minute)

    outcomes = ex.on_event(Events().cancelled(oid, at(8)))

    assert router.cancels == [oid]
    assert [(o.status, o.reason, o.filled_units, o.steps) for o in outcomes] == [
        (OutcomeStatus.CANCELLED, "not_filled", 0, 3)]
    assert not ex.is_working("7")


def test_entry_walk_when_clock_coarser_than_steps_posts_natural_before_cancel() -> None:
    ex, router, q, oid = open_entry()

    advance(ex, q, 5)    # two steps elapsed: 1.05
    advance(ex, q, 10)   # past the last step, natural never posted yet: post it, keep working

    assert router.limits[oid] == pytest.approx([1.15, 1.05, 1.00])
    assert router.cancels == []
    advance(ex, q, 15)   # natural has been live for a whole bar: now cancel
    assert router.cancels == [oid]


def test_entry_order_when_credit_structure_is_oriented_with_positive_limit() -> None:
    _, router, _, oid = open_entry(units=2)

    order = router.orders[oid]

    assert order.quantity == -2
    assert [(leg.contract, leg.ratio) for leg in order.legs] == [(LONG_PUT, -1), (SHORT_PUT, 1)]
    assert order.limit == pytest.approx(1.15)
    assert order.purpose is OrderPurpose.ENTRY and order.position_id == "7"


def test_entry_when_natural_credit_below_80pct_of_mid_refuses_credit_below_floor() -> None:
    ex, router = executor()
    q = Quotes().set(LONG_PUT, 0.90, 1.10).set(SHORT_PUT, 2.00, 2.40)  # mid -1.20, natural -0.90

    oid = ex.submit_entry("1", "t", CREDIT_SPREAD, 1, q, T0)

    assert oid is None
    assert ex.last_refusal_reason == "credit_below_floor"
    assert "credit_below_floor" in ex.last_refusal
    assert router.orders == {}


def test_entry_when_natural_credit_exactly_80pct_of_mid_submits() -> None:
    ex, _ = executor()
    q = Quotes().set(LONG_PUT, 0.90, 1.10).set(SHORT_PUT, 2.10, 2.40)  # mid -1.25, natural -1.00

    oid = ex.submit_entry("1", "t", CREDIT_SPREAD, 1, q, T0)

    assert oid is not None


@pytest.mark.parametrize("ask", [1.25, 1.50, 1.90])
def test_entry_when_debit_natural_far_above_mid_then_still_submitted_at_mid(ask: float) -> None:
    # SPEC §10's floor is about credits; a debit entry walks from mid to natural.
    ex, router = executor()
    q = Quotes().set(LONG_PUT, 2.0 - ask, ask)  # mid 1.00

    oid = ex.submit_entry("1", "t", (ComboLeg(LONG_PUT, 1),), 1, q, T0)

    assert oid is not None
    assert router.orders[oid].limit == pytest.approx(1.00)


def test_entry_when_market_moves_below_floor_during_walk_abandons() -> None:
    ex, router, q, oid = open_entry()
    q.set(SHORT_PUT, 1.80, 2.20)  # natural credit 0.80 < 0.8 x 1.15

    advance(ex, q, 2)
    outcomes = ex.on_event(Events().cancelled(oid, at(2)))

    assert router.cancels == [oid]
    assert [(o.status, o.reason) for o in outcomes] == [
        (OutcomeStatus.ABANDONED, "credit_below_floor")]


def test_urgent_exit_when_unfilled_steps_one_tick_beyond_natural_each_minute() -> None:
    ex, router = executor()
    q = spread_quotes()
    oid = ex.submit_exit("7", "close", CREDIT_SPREAD, -1, q, T0, urgent=True)
    assert oid is not None

    for minute in range(1, 15):
        advance(ex, q, minute)

    expected = [round(1.30 + 0.05 * k, 2) for k in range(CFG.execution.urgent_max_steps + 1)]
    assert router.limits[oid] == pytest.approx(expected)
    assert router.orders[oid].urgent
    assert router.orders[oid].quantity == 1


def test_exit_walk_when_unfilled_steps_every_minute_from_mid_to_natural_then_holds() -> None:
    ex, router = executor()
    q = spread_quotes()
    oid = ex.submit_exit("7", "close", CREDIT_SPREAD, -1, q, T0)
    assert oid is not None

    for minute in range(1, 8):
        advance(ex, q, minute)

    assert router.limits[oid] == pytest.approx([1.15, 1.20, 1.25, 1.30])
    assert router.cancels == []


def test_escalate_when_exit_working_moves_to_natural_then_beyond() -> None:
    ex, router = executor()
    q = spread_quotes()
    oid = ex.submit_exit("7", "close", CREDIT_SPREAD, -1, q, T0)
    assert oid is not None

    assert ex.escalate("7", at(0.5), q)
    advance(ex, q, 1.5)

    assert router.limits[oid] == pytest.approx([1.15, 1.30, 1.35])
    assert ex.working_orders()[0].walk is Walk.URGENT


def test_walk_when_quotes_unusable_holds_limit() -> None:
    ex, router, q, oid = open_entry()
    q.book.pop(SHORT_PUT)

    advance(ex, q, 2)

    assert router.limits[oid] == pytest.approx([1.15])
    assert ex.last_actions[0].action == "hold"


def test_walk_when_on_time_called_late_jumps_to_current_step() -> None:
    ex, router, q, oid = open_entry()

    advance(ex, q, 5)

    assert router.limits[oid] == pytest.approx([1.15, 1.05])


cents = st.integers(min_value=0, max_value=400)


@settings(max_examples=60, deadline=None)
@given(b1=cents, w1=st.integers(1, 60), b2=cents, w2=st.integers(1, 60),
       units=st.sampled_from([-2, -1, 1, 2]))
def test_entry_walk_when_any_market_never_worse_than_natural(
        b1: int, w1: int, b2: int, w2: int, units: int) -> None:
    legs = (ComboLeg(put(500, "SPY"), 1), ComboLeg(put(490, "SPY"), -1))
    q = Quotes().set(legs[0].contract, b1 / 100, (b1 + w1) / 100)
    q.set(legs[1].contract, b2 / 100, (b2 + w2) / 100)
    ex, router = executor()
    oid = ex.submit_entry("1", "t", legs, units, q, T0)
    assume(oid is not None)
    assert oid is not None
    d = 1 if units > 0 else -1
    natural_cost = d * (
        legs[0].ratio * ((b1 + w1) / 100 if d > 0 else b1 / 100)
        + legs[1].ratio * (b2 / 100 if d > 0 else (b2 + w2) / 100))
    mid_cost = d * ((b1 + w1 / 2) - (b2 + w2 / 2)) / 100

    for minute in (2, 4, 6):
        advance(ex, q, minute)

    order = router.orders[oid]
    costs = [lim if order.quantity > 0 else -lim for lim in router.limits[oid]]
    assert all(c <= natural_cost + 1e-9 for c in costs)
    assert all(c >= mid_cost - 0.005 - 1e-9 for c in costs)
    assert costs == sorted(costs)
    assert costs[-1] == pytest.approx(natural_cost)
    for leg, oriented in zip(legs, order.legs, strict=True):
        assert oriented.ratio * order.quantity == leg.ratio * units


def test_submit_when_position_has_working_order_returns_none_order_working() -> None:
    ex, router, q, _ = open_entry()

    second = ex.submit_exit("7", "close", CREDIT_SPREAD, -1, q, T0)

    assert second is None
    assert ex.last_refusal_reason == "order_working"
    assert len(router.orders) == 1


def test_submit_roll_when_replaced_position_is_working_refuses() -> None:
    ex, _, q, _ = open_entry()

    roll = ex.submit_entry("8", "roll", CREDIT_SPREAD, 1, q, T0, purpose=OrderPurpose.ROLL,
                           replaces="7")

    assert roll is None
    assert ex.last_refusal_reason == "order_working"


@pytest.mark.parametrize(("legs", "units", "quotes", "reason"), [
    (CREDIT_SPREAD, 0, spread_quotes(), "zero_units"),
    ((), 1, spread_quotes(), "invalid_order"),
    ((ComboLeg(LONG_PUT, 1), ComboLeg(LONG_PUT, -1)), 1, spread_quotes(), "invalid_order"),
    ((ComboLeg(LONG_PUT, 0),), 1, spread_quotes(), "invalid_order"),
    (CREDIT_SPREAD, 1, Quotes().set(LONG_PUT, 0.9, 1.0), "no_quote"),
    (CREDIT_SPREAD, 1, spread_quotes(T0 - timedelta(minutes=6)), "stale_quote"),
    (CREDIT_SPREAD, 1, Quotes().set(LONG_PUT, 1.1, 1.0).set(SHORT_PUT, 2, 2.2), "bad_quote"),
    ((ComboLeg(put(100, "XYZ"), 1),), 1, Quotes(), "unknown_root"),
])
def test_submit_when_input_unusable_refuses_with_reason(
        legs: tuple[ComboLeg, ...], units: int, quotes: Quotes, reason: str) -> None:
    ex, router = executor()

    oid = ex.submit_entry("1", "t", legs, units, quotes, T0)

    assert oid is None
    assert ex.last_refusal_reason == reason
    assert router.orders == {}


def test_submit_when_router_raises_refuses_submit_failed() -> None:
    ex, _router = executor(FakeRouter(fail_submit=True))

    oid = ex.submit_entry("1", "t", CREDIT_SPREAD, 1, spread_quotes(), T0)

    assert oid is None
    assert ex.last_refusal_reason == "submit_failed"
    assert not ex.is_working("1")


def test_submit_when_ratios_share_a_factor_normalises_ratios_into_quantity() -> None:
    ex, router = executor()
    q = Quotes().set(NAKED_PUT, 0.40, 0.50)

    oid = ex.submit_exit("7", "close naked pair", (ComboLeg(NAKED_PUT, 2),), 3, q, T0)

    assert oid is not None
    order = router.orders[oid]
    assert [leg.ratio for leg in order.legs] == [1]
    assert order.quantity == 6


@pytest.mark.parametrize(("legs", "quantity", "limit"), [
    ((ComboLeg(LONG_PUT, 0),), 1, 1.0),
    ((ComboLeg(LONG_PUT, 2), ComboLeg(SHORT_PUT, -2)), 1, 1.0),
    ((ComboLeg(LONG_PUT, 1), ComboLeg(LONG_PUT, -1)), 1, 1.0),
    ((), 1, 1.0),
    (CREDIT_SPREAD, 1, 0.0),
    (CREDIT_SPREAD, 1, -1.0),
    (CREDIT_SPREAD, 1, math.nan),
    (CREDIT_SPREAD, 0, 1.0),
])
def test_combo_order_when_invalid_raises_value_error(
        legs: tuple[ComboLeg, ...], quantity: int, limit: float) -> None:
    with pytest.raises(ValueError, match="combo order"):
        ComboOrder(legs, quantity, limit, "t", OrderPurpose.ENTRY, "1")


def test_combo_order_when_valid_constructs() -> None:
    order = ComboOrder(CREDIT_SPREAD, -1, 1.15, "t", OrderPurpose.ENTRY, "1")

    assert order.quantity == -1


def fill_prices(long: float = 1.00, short: float = 2.15) -> dict[Contract, float]:
    return {LONG_PUT: long, SHORT_PUT: short}


def test_on_event_when_every_leg_fills_reports_filled_with_prices_and_slippage() -> None:
    ex, router, _q, oid = open_entry(units=2)
    ev = Events()
    events = ev.fill_order(router.orders[oid], oid, fill_prices(0.98, 2.08), at(1), fee=1.0)

    first = ex.on_event(events[0])
    outcomes = ex.on_event(events[1])

    assert first == []
    (o,) = outcomes
    assert o.status is OutcomeStatus.FILLED
    assert o.filled_units == 2
    assert o.leg_prices == pytest.approx((0.98, 2.08))
    assert o.net_price == pytest.approx(-1.10)
    assert o.mid == pytest.approx(-1.15)
    assert o.natural == pytest.approx(-1.00)
    assert o.slippage == pytest.approx(0.05)
    assert o.slippage_points == pytest.approx(0.10)
    assert o.fees == pytest.approx(2.0)
    assert o.time_to_fill == timedelta(minutes=1)
    assert [(f.contract, f.quantity) for f in o.leg_fills] == [(LONG_PUT, 2), (SHORT_PUT, -2)]
    assert not ex.is_working("7")


def test_on_event_when_fill_arrives_before_replace_sends_no_replace() -> None:
    ex, router, q, oid = open_entry()
    outs: list[OrderOutcome] = []
    for event in Events().fill_order(router.orders[oid], oid, fill_prices(), at(1.5)):
        outs += ex.on_event(event)

    advance(ex, q, 2)

    assert [o.status for o in outs] == [OutcomeStatus.FILLED]
    assert router.limits[oid] == pytest.approx([1.15])


def test_on_event_when_fill_arrives_after_replace_reports_steps_used() -> None:
    ex, router, q, oid = open_entry()
    advance(ex, q, 2)
    outs: list[OrderOutcome] = []

    for event in Events().fill_order(router.orders[oid], oid, fill_prices(1.00, 2.10), at(3)):
        outs += ex.on_event(event)

    (o,) = outs
    assert o.steps == 1
    assert o.net_price == pytest.approx(-1.10)
    assert o.slippage == pytest.approx(0.05)


def test_on_event_when_fill_at_old_limit_arrives_after_replace_books_fill_price() -> None:
    ex, router, q, oid = open_entry()
    advance(ex, q, 2)
    outs: list[OrderOutcome] = []

    for event in Events().fill_order(router.orders[oid], oid, fill_prices(), at(2)):
        outs += ex.on_event(event)

    (o,) = outs
    assert o.net_price == pytest.approx(-1.15)
    assert o.slippage == pytest.approx(0.0)


def test_on_event_when_fill_races_cancel_request_reports_filled_and_ignores_cancel() -> None:
    ex, router, q, oid = open_entry()
    for minute in (2, 4, 6, 8):
        advance(ex, q, minute)
    ev = Events()
    outs: list[OrderOutcome] = []

    for event in ev.fill_order(router.orders[oid], oid, fill_prices(), at(8)):
        outs += ex.on_event(event)
    after = ex.on_event(ev.cancelled(oid, at(8.1)))

    assert router.cancels == [oid]
    assert [o.status for o in outs] == [OutcomeStatus.FILLED]
    assert after == []


def test_on_event_when_fill_arrives_after_cancel_confirm_reports_late_fill() -> None:
    ex, router, _q, oid = open_entry()
    ev = Events()
    ex.cancel(oid, at(1))
    cancelled = ex.on_event(ev.cancelled(oid, at(1)))
    events = ev.fill_order(router.orders[oid], oid, fill_prices(), at(0.9))

    late_first = ex.on_event(events[0])
    late_second = ex.on_event(events[1])

    assert [(o.status, o.filled_units) for o in cancelled] == [(OutcomeStatus.CANCELLED, 0)]
    assert [(o.status, o.late) for o in late_first] == [(OutcomeStatus.LEGGED, True)]
    assert [(o.status, o.late, o.reason) for o in late_second] == [
        (OutcomeStatus.FILLED, True, "late_fill")]
    assert [f.quantity for f in late_second[0].leg_fills] == [0, -1]


def test_on_event_when_rejected_reports_rejected_with_message() -> None:
    ex, _, _, oid = open_entry()

    outs = ex.on_event(Events().rejected(oid, at(0.1), "insufficient buying power"))

    assert [(o.status, o.reason) for o in outs] == [
        (OutcomeStatus.REJECTED, "insufficient buying power")]
    assert not ex.is_working("7")


def test_on_event_when_one_leg_partly_filled_holds_until_order_ends_legged() -> None:
    ex, _router, _q, oid = open_entry(units=2)
    ev = Events()

    held = ex.on_event(ev.leg(oid, LONG_PUT, 2, 1.00, at(1)))
    held += ex.on_event(ev.leg(oid, SHORT_PUT, -1, 2.15, at(1)))
    pending = ex.pending_fills()
    outs = ex.on_event(ev.cancelled(oid, at(2)))

    assert held == []
    assert pending == {LONG_PUT: 2, SHORT_PUT: -1}
    (o,) = outs
    assert o.status is OutcomeStatus.LEGGED
    assert o.filled_units == 1
    assert [f.quantity for f in o.leg_fills] == [2, -1]
    assert ex.pending_fills() == {}


def test_on_event_when_legs_equally_part_filled_then_cancelled_reports_cancelled_units() -> None:
    ex, _router, _q, oid = open_entry(units=2)
    ev = Events()
    ex.on_event(ev.leg(oid, LONG_PUT, 1, 1.00, at(1)))
    ex.on_event(ev.leg(oid, SHORT_PUT, -1, 2.15, at(1)))

    outs = ex.on_event(ev.cancelled(oid, at(2)))

    assert [(o.status, o.filled_units) for o in outs] == [(OutcomeStatus.CANCELLED, 1)]


def test_on_event_when_leg_fills_in_pieces_completes_on_last_piece() -> None:
    ex, _router, _q, oid = open_entry(units=3)
    ev = Events()
    outs: list[OrderOutcome] = []

    for qty in (1, 2):
        outs += ex.on_event(ev.leg(oid, LONG_PUT, qty, 1.00 if qty == 1 else 0.97, at(1)))
    outs += ex.on_event(ev.leg(oid, SHORT_PUT, -3, 2.15, at(1)))

    (o,) = outs
    assert o.status is OutcomeStatus.FILLED
    assert o.leg_prices[0] == pytest.approx((1.00 + 2 * 0.97) / 3)


def test_on_event_when_duplicate_event_id_ignores_repeat() -> None:
    ex, _router, _q, oid = open_entry(units=2)
    event = Events().leg(oid, LONG_PUT, 1, 1.00, at(1))

    ex.on_event(event)
    ex.on_event(event)

    assert ex.pending_fills() == {LONG_PUT: 1}


def test_on_event_when_events_arrive_out_of_time_order_done_time_is_latest() -> None:
    ex, router, _q, oid = open_entry()
    ev = Events()
    late, early = ev.fill_order(router.orders[oid], oid, fill_prices(), at(3))
    early = ev.leg(oid, SHORT_PUT, -1, 2.15, at(1))

    ex.on_event(late)
    outs = ex.on_event(early)

    assert outs[0].done_time == at(3)


def test_on_event_when_whole_combo_fill_spreads_net_price_over_legs() -> None:
    ex, _router, _q, oid = open_entry(units=2)

    outs = ex.on_event(Events().combo(oid, -2, 1.10, at(1)))

    (o,) = outs
    assert o.status is OutcomeStatus.FILLED
    assert o.net_price == pytest.approx(-1.10)
    assert o.leg_prices[0] - o.leg_prices[1] == pytest.approx(-1.10)
    assert [f.quantity for f in o.leg_fills] == [2, -2]


def test_on_event_when_leg_overfills_reports_excess_unmatched() -> None:
    ex, _router, _q, oid = open_entry()
    ev = Events()

    ex.on_event(ev.leg(oid, LONG_PUT, 3, 1.00, at(1)))
    outs = ex.on_event(ev.leg(oid, SHORT_PUT, -1, 2.15, at(1)))
    stray = [o for o in ex.on_event(ev.leg(oid, SHORT_PUT, -1, 2.15, at(1)))]

    assert ex.pending_fills() == {}
    assert [o.status for o in outs] == [OutcomeStatus.FILLED]
    assert [(o.status, [(f.contract, f.quantity) for f in o.leg_fills]) for o in stray] == [
        (OutcomeStatus.UNMATCHED, [(SHORT_PUT, -1)])]


def test_on_event_when_first_leg_overfills_reports_excess_at_once() -> None:
    ex, _router, _q, oid = open_entry()

    outs = ex.on_event(Events().leg(oid, LONG_PUT, 3, 1.00, at(1)))

    assert [(o.status, o.leg_fills[0].quantity) for o in outs] == [(OutcomeStatus.UNMATCHED, 2)]


def test_on_event_when_broker_reports_before_submit_returns_replays_after_submit() -> None:
    ev = Events()
    router = FakeRouter()
    ex = ComboExecutor(CFG, router)

    def report(order_id: str) -> None:
        order = router.orders[order_id]
        for event in ev.fill_order(order, order_id, fill_prices(), T0):
            assert ex.on_event(event) == []

    router.on_submit = report
    oid = ex.submit_entry("7", "t", CREDIT_SPREAD, 1, spread_quotes(), T0)
    outs = ex.take_outcomes()

    assert oid == "B1"
    assert [o.status for o in outs] == [OutcomeStatus.FILLED]


def test_on_time_when_unknown_order_fill_unclaimed_reports_unmatched() -> None:
    ex, _ = executor()
    ex.on_event(Events().leg("X9", LONG_PUT, -1, 1.0, T0))

    outs = ex.on_time(at(1), spread_quotes(at(1)))

    assert [(o.status, o.reason, o.leg_fills[0].quantity) for o in outs] == [
        (OutcomeStatus.UNMATCHED, "unknown_order", -1)]
    assert ex.pending_fills() == {}


def test_on_time_when_replace_raises_keeps_limit_and_continues() -> None:
    ex, router, q, _oid = open_entry()
    router.fail_replace = True

    advance(ex, q, 2)

    assert ex.last_actions[0].action == "replace_failed"
    assert ex.working_orders()[0].limit == pytest.approx(1.15)


def test_on_time_when_cancel_raises_retries_next_call() -> None:
    ex, router, q, oid = open_entry()
    router.fail_cancel = True
    advance(ex, q, 8)
    router.fail_cancel = False

    advance(ex, q, 9)

    assert router.cancels == [oid]


def test_cancel_when_system_cancels_outcome_carries_reason() -> None:
    ex, _router, _q, oid = open_entry()

    assert ex.cancel(oid, at(1), "breaker_flatten")
    outs = ex.on_event(Events().cancelled(oid, at(1)))

    assert [(o.status, o.reason) for o in outs] == [(OutcomeStatus.CANCELLED, "breaker_flatten")]


def test_cancel_when_broker_cancels_unasked_reports_broker_reason() -> None:
    ex, _router, _q, oid = open_entry()

    outs = ex.on_event(Events().cancelled(oid, at(1), "day order expired"))

    assert [(o.status, o.reason) for o in outs] == [
        (OutcomeStatus.CANCELLED, "day order expired")]


def test_restore_when_snapshot_reattached_continues_walk_and_accepts_fills() -> None:
    ex, router, q, oid = open_entry()
    ev = Events()
    first = ev.leg(oid, LONG_PUT, 1, 1.00, at(1))
    ex.on_event(first)
    snapshot = ex.working_orders()
    again = ComboExecutor(CFG, router)

    again.restore(snapshot)
    advance(again, q, 2)
    repeat = again.on_event(first)
    outs = again.on_event(ev.leg(oid, SHORT_PUT, -1, 2.10, at(3)))

    assert len(router.orders) == 1
    assert repeat == []
    assert router.limits[oid] == pytest.approx([1.15, 1.10])
    (o,) = outs
    assert o.status is OutcomeStatus.FILLED
    assert o.net_price == pytest.approx(-1.10)


def test_submit_exit_when_reason_given_outcome_carries_exit_reason() -> None:
    ex, router = executor()
    q = spread_quotes()
    oid = ex.submit_exit("7", "close", CREDIT_SPREAD, -1, q, T0, urgent=True,
                         exit_reason=ExitReason.STOP_LOSS)
    assert oid is not None

    outs: list[OrderOutcome] = []
    for event in Events().fill_order(router.orders[oid], oid, fill_prices(0.90, 2.20), at(1)):
        outs += ex.on_event(event)

    (o,) = outs
    assert o.exit_reason is ExitReason.STOP_LOSS
    assert o.urgent
    assert o.net_price == pytest.approx(-1.30)
    assert o.slippage == pytest.approx(0.15)


def test_working_queries_when_entry_working_report_it() -> None:
    ex, _router = executor()
    oid = ex.submit_entry("7", "t", CREDIT_SPREAD, 1, spread_quotes(), T0,
                          key=StrategyKey.FRIDAY_0DTE)

    assert ex.working_entries() == (oid,)
    assert ex.has_working_entry(StrategyKey.FRIDAY_0DTE, "SPXW")
    assert not ex.has_working_entry(StrategyKey.FRIDAY_0DTE, "SPY")
    assert ex.working_order_id("7") == oid


def test_recent_event_ids_when_last_given_then_newest_and_revision_counts_changes() -> None:
    ex, _ = executor()
    assert ex.recent_event_revision() == (0, 0) and ex.recent_event_ids(3) == ()
    ex.remember_events(["a", "b", "c", "d"])

    assert ex.recent_event_ids(2) == ("c", "d")
    assert ex.recent_event_ids(10) == ex.recent_event_ids() == ("a", "b", "c", "d")
    assert ex.recent_event_ids(0) == ()
    assert ex.recent_event_revision() == (0, 4) and ex.recent_event_count() == 4
    ex.remember_events(["b"])
    assert ex.recent_event_ids() == ("a", "c", "d", "b")
    assert ex.recent_event_revision() == (1, 4)


def test_pending_fills_when_many_orders_done_then_only_unreported_fills() -> None:
    ex, router, q, oid = open_entry(units=2)
    ev = Events()
    ex.on_event(ev.leg(oid, LONG_PUT, 1, 1.00, at(1)))
    for n in range(30):  # completed orders on other positions
        other = ex.submit_entry(f"p{n}", "t", CREDIT_SPREAD, 1, q, T0)
        assert other is not None
        for event in ev.fill_order(router.orders[other], other, fill_prices(), at(1)):
            ex.on_event(event)

    assert ex.pending_fills() == {LONG_PUT: 1}
    ex.on_event(ev.cancelled(oid, at(2)))
    assert ex.pending_fills() == {}
