"""Pre-trade gate: stage order, derived sizing inputs, fail-closed inputs."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.enums import Phase, Right, StrategyKey
from risk.breakers import CircuitBreakers
from risk.counter import RejectionCounter
from risk.gate import GateState, PreTradeGate
from risk.legs import StressLeg
from risk.margin import bp_per_unit
from risk.types import Approval, Rejection
from strategies.types import TradeIdea
from tests.risk.builders import (
    EXPIRY,
    NOW,
    TODAY,
    World,
    config_with,
    contract,
    idea,
    idea_leg,
    position,
    state,
    stress_leg,
    world,
)

K = StrategyKey
STAGES = ("inputs", "phase", "regime", "breakers", "correlation", "stress", "sizing")


def huge_short_put_book(pid: str = "big") -> tuple[StressLeg, ...]:
    return (stress_leg("SPY", 500.0, Right.PUT, -40, 520.0, 0.2, 0.25, position_id=pid),)


def zero_dte_idea(max_loss: float = 2_000.0) -> TradeIdea:
    short = contract("ES", 5000.0, Right.PUT, TODAY)
    long = contract("ES", 4970.0, Right.PUT, TODAY)
    legs = (idea_leg(short, -1, 3.0, 3.5, underlying=5100.0),
            idea_leg(long, 1, 1.0, 1.5, underlying=5100.0))
    return idea(K.FRIDAY_0DTE, "ES", legs=legs, expiry=TODAY, max_loss=max_loss)


def zero_dte_candidate() -> tuple[StressLeg, ...]:
    t = 4.0 / (365 * 24)
    return (StressLeg.of(contract("ES", 5000.0, Right.PUT, TODAY), -1, 5100.0, 0.2, t, 0.04),
            StressLeg.of(contract("ES", 4970.0, Right.PUT, TODAY), 1, 5100.0, 0.2, t, 0.04))


def gate_with_breakers(w: World, breakers: CircuitBreakers) -> PreTradeGate:
    return PreTradeGate(w.config, w.vix, w.phases, breakers, w.correlation, w.stress, w.sizer)


def test_evaluate_when_everything_allows_then_approval_with_binding() -> None:
    w = world()

    verdict = w.gate.evaluate(idea(), state())

    assert isinstance(verdict, Approval)
    assert verdict.contracts >= 1 and verdict.binding == "risk_budget"


def failing_world(fail: set[str]) -> tuple[World, TradeIdea, GateState]:
    """A world and request in which exactly the stages in ``fail`` would reject."""
    w = world()
    if "regime" in fail:
        w.vix.update(math.nan, NOW - timedelta(seconds=30))
    if "breakers" in fail:
        w.breakers.update(85_000.0, NOW - timedelta(seconds=30))
    s = state(
        nlv=math.nan if "inputs" in fail else 100_000.0,
        phase=Phase.P1 if "phase" in fail else Phase.P4,
        positions=tuple(position(f"p{i}", "SPY", EXPIRY + timedelta(days=7 * (i + 1)))
                        for i in range(3)) if "correlation" in fail else (),
        book=huge_short_put_book() if "stress" in fail else (),
    )
    i = idea(max_units=0 if "sizing" in fail else None)
    return w, i, s


@pytest.mark.parametrize("stage", STAGES)
def test_evaluate_when_one_stage_rejects_then_that_check_named(stage: str) -> None:
    w, i, s = failing_world({stage})

    verdict = w.gate.evaluate(i, s)

    assert isinstance(verdict, Rejection)
    assert verdict.check == stage
    assert verdict.reason


@settings(max_examples=40, deadline=None)
@given(fail=st.sets(st.sampled_from(STAGES)))
def test_evaluate_when_any_check_rejects_then_never_approves_and_first_stage_wins(
        fail: set[str]) -> None:
    w, i, s = failing_world(fail)

    verdict = w.gate.evaluate(i, s)

    if fail:
        assert isinstance(verdict, Rejection)
        assert verdict.check == next(x for x in STAGES if x in fail)
    else:
        assert isinstance(verdict, Approval)


def test_evaluate_when_undefined_risk_then_stress_loss_is_max_loss_per_unit() -> None:
    w = world()
    s = state(nlv=1_000_000.0)
    i = idea()
    unit = w.stress.run(s.candidate_legs)
    assert not isinstance(unit, Rejection)

    verdict = w.gate.evaluate(i, s)
    expected = w.sizer.size(i.key, s.nlv, unit.worst_loss, bp_per_unit(i, unit.worst_loss),
                            0.65 * s.nlv, Phase.P4, 1.0, 1.0)

    assert isinstance(verdict, Approval) and isinstance(expected, Approval)
    assert verdict.contracts == expected.contracts > 1


def test_evaluate_when_defined_risk_then_idea_max_loss_used() -> None:
    w = world()

    verdict = w.gate.evaluate(zero_dte_idea(2_000.0), state(candidate=zero_dte_candidate()))

    # budget 5% × 100,000 = 5,000 → 2.5 → 2 contracts (phase cap 4).
    assert isinstance(verdict, Approval)
    assert (verdict.contracts, verdict.binding) == (2, "risk_budget")


def test_evaluate_when_vix_spiked_then_0dte_size_halved() -> None:
    w = world(vix_level=16.0)
    w.vix.update(17.6, NOW - timedelta(seconds=30))   # +10% from the open, still NORMAL

    verdict = w.gate.evaluate(zero_dte_idea(2_000.0), state(candidate=zero_dte_candidate()))

    assert isinstance(verdict, Approval) and verdict.contracts == 1


def test_evaluate_when_calm_regime_then_size_multiplier_applied() -> None:
    w = world(vix_level=12.0)

    verdict = w.gate.evaluate(zero_dte_idea(1_000.0), state(candidate=zero_dte_candidate()))

    # 5,000 × 0.75 / 1,000 = 3.75 → 3.
    assert isinstance(verdict, Approval) and verdict.contracts == 3


def test_evaluate_when_drawdown_reduced_then_size_halved() -> None:
    w = world()
    b = CircuitBreakers(w.config)
    b.start_day(TODAY - timedelta(days=1), 100_000.0)
    b.update(100_000.0, NOW - timedelta(days=1))
    b.start_day(TODAY, 90_000.0)
    b.update(90_000.0, NOW - timedelta(minutes=1))
    gate = gate_with_breakers(w, b)

    verdict = gate.evaluate(zero_dte_idea(1_000.0), state(nlv=90_000.0,
                                                          candidate=zero_dte_candidate()))

    # 90,000 × 5% × 0.5 / 1,000 = 2.25 → 2.
    assert isinstance(verdict, Approval) and verdict.contracts == 2


def test_evaluate_when_bp_used_at_regime_cap_then_buying_power_rejection() -> None:
    w = world()

    verdict = w.gate.evaluate(idea(), state(bp_used=65_000.0))

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("sizing", "buying_power")


def test_evaluate_when_stress_room_smaller_than_budget_then_stress_binds() -> None:
    w = world()
    book = (stress_leg("SPY", 500.0, Right.PUT, -12, 520.0, 0.2, 0.25, position_id="b"),)
    cand = (stress_leg("SPY", 500.0, Right.PUT, -1, 520.0, 0.2, 0.25),)
    s = state(nlv=1_000_000.0, book=book, candidate=cand)
    spy_put = idea_leg(contract("SPY", 500.0, Right.PUT), -1, 5.0, 5.2)

    verdict = w.gate.evaluate(idea(legs=(spy_put,), max_loss=100.0), s)

    assert isinstance(verdict, Approval) and verdict.binding == "stress"


def test_evaluate_when_entries_in_flight_reserve_bp_then_room_shrinks_by_reserve() -> None:
    w = world()
    free = w.gate.evaluate(idea(), state(bp_used=30_000.0))
    assert isinstance(free, Approval) and math.isfinite(free.bp_per_unit)
    assert free.bp_per_unit > 0

    # The same account with the rest of the 65% cap reserved by entries still working.
    verdict = w.gate.evaluate(idea(), replace(state(bp_used=30_000.0), bp_reserved=35_000.0))

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("sizing", "buying_power")


@pytest.mark.parametrize("reserved", [-1.0, math.nan, math.inf])
def test_evaluate_when_bp_reserved_invalid_then_inputs_rejection(reserved: float) -> None:
    w = world()

    verdict = w.gate.evaluate(idea(), replace(state(), bp_reserved=reserved))

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("inputs", "invalid_bp_reserved")


@pytest.mark.parametrize(("unmanaged", "key", "root", "reason"), [
    (frozenset({"QQQ"}), K.LEAP_PUT_LADDER, "SPY", "unmanaged_position"),
    (frozenset({"ZZZ"}), K.LEAP_PUT_LADDER, "SPY", "unmanaged_unknown_root"),
    (frozenset({"CL"}), K.LEAP_PUT_LADDER, "SPY", None),
])
def test_evaluate_when_unmanaged_roots_then_entries_in_their_group_blocked(
        unmanaged: frozenset[str], key: StrategyKey, root: str, reason: str | None) -> None:
    w = world()

    verdict = w.gate.evaluate(idea(key, root), state(unmanaged=unmanaged))

    if reason is None:
        assert isinstance(verdict, Approval)
    else:
        assert isinstance(verdict, Rejection) and verdict.reason == reason


def test_evaluate_when_book_leg_has_no_iv_then_stress_rejection_not_zero_exposure() -> None:
    w = world()
    book = (stress_leg(iv=math.nan, position_id="a"),)

    verdict = w.gate.evaluate(idea(), state(book=book))

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("stress", "missing_iv")


def test_evaluate_when_candidate_quote_missing_then_rejected() -> None:
    w = world()
    cand = (stress_leg(underlying=math.nan),)

    verdict = w.gate.evaluate(idea(), state(candidate=cand))

    assert isinstance(verdict, Rejection) and verdict.reason == "missing_underlying_price"


def test_evaluate_when_no_candidate_legs_then_rejected() -> None:
    verdict = world().gate.evaluate(idea(), state(candidate=()))

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("inputs", "no_candidate_legs")


def test_evaluate_when_multiplier_differs_from_catalogue_then_rejected() -> None:
    verdict = world().gate.evaluate(idea(K.FRIDAY_0DTE, "ES", multiplier=100.0, max_loss=500.0),
                                    state(candidate=zero_dte_candidate()))

    assert isinstance(verdict, Rejection)
    assert (verdict.reason, verdict.limit) == ("multiplier_mismatch", 50.0)


@pytest.mark.parametrize("nlv", [math.nan, -5_000.0, 0.0])
def test_evaluate_when_nlv_invalid_then_rejected(nlv: float) -> None:
    verdict = world().gate.evaluate(idea(), state(nlv=nlv))

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("inputs", "invalid_nlv")


def test_evaluate_when_position_cap_reached_then_phase_rejection() -> None:
    held = tuple(position(f"p{i}", "SPY", EXPIRY + timedelta(days=i),
                          key=StrategyKey.LEAP_PUT_LADDER) for i in range(10))

    verdict = world().gate.evaluate(idea(), state(positions=held))

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason, verdict.limit) == ("phase", "position_cap", 10)


def test_evaluate_when_roll_replaces_position_then_its_legs_and_count_left_out() -> None:
    w = world()
    held = (position("big", "SPY", EXPIRY + timedelta(days=7)),
            position("b", "SPY", EXPIRY + timedelta(days=14)),
            position("c", "SPY", EXPIRY + timedelta(days=21)))
    s = state(positions=held, book=huge_short_put_book("big"))

    plain = w.gate.evaluate(idea(), s)
    roll = w.gate.evaluate(idea(replaces="big"), s)

    assert isinstance(plain, Rejection)
    assert isinstance(roll, Approval)


def test_evaluate_when_child_of_open_position_then_no_position_cap() -> None:
    held = (position("leap", "QQQ", EXPIRY, key=K.IPMCC),)
    c = contract("QQQ", 450.0, Right.CALL, TODAY + timedelta(days=7))
    child = idea(K.IPMCC, "QQQ", legs=(idea_leg(c, -1, 2.0, 2.2, underlying=440.0),),
                 expiry=c.expiry, max_loss=None, parent_id="leap")
    cand = (StressLeg.of(c, -1, 440.0, 0.2, 7 / 365, 0.04),)

    verdict = world().gate.evaluate(child, state(phase=Phase.P1, positions=held, candidate=cand))

    assert isinstance(verdict, Approval)


def test_rejection_counter_when_rejections_added_then_counted_by_check_and_reason() -> None:
    counter = RejectionCounter()

    for r in (Rejection("stress", "missing_iv"), Rejection("stress", "missing_iv"),
              Rejection("sizing", "risk_budget")):
        counter.add(r)

    assert counter.count("stress", "missing_iv") == 2
    assert counter.total == 3
    assert counter.as_dict() == {"sizing.risk_budget": 1, "stress.missing_iv": 2}


def test_evaluate_when_own_strategy_uses_its_stress_share_then_rejected_though_book_fits() -> None:
    # The book holds only this strategy's positions: a candidate that keeps the whole book under
    # the 20% limit is still refused once the strategy alone passes its share of that limit.
    w = world(config=config_with(stress__max_strategy_share="0.1"))
    held = (position("own", "SPY", EXPIRY + timedelta(days=7), key=StrategyKey.LEAP_PUT_LADDER),)
    book = (stress_leg("SPY", 500.0, Right.PUT, -1, 520.0, 0.2, 0.25, position_id="own"),)
    s = state(positions=held, book=book)
    assert isinstance(world().gate.evaluate(idea(), s), Approval)   # fits the whole-book limit

    verdict = w.gate.evaluate(idea(), s)

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("stress", "strategy_share_over_limit")
