"""Position sizer: Kelly budget, caps, binding constraint, zero answers, bad inputs (§5)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.enums import Phase, StrategyKey
from risk.sizing import PositionSizer
from risk.types import Approval, Rejection
from tests.risk.builders import cfg, config_with

K = StrategyKey
SIZER = PositionSizer(cfg())

# SPEC §5 priors (p, b).
PRIORS = {
    K.FRIDAY_0DTE: (0.85, 0.35), K.LT112: (0.90, 0.25), K.FUTURES_STRANGLE: (0.85, 0.40),
    K.IPMCC: (0.70, 1.0), K.LEAP_PUT_LADDER: (0.90, 0.30), K.BEAR_TRAP: (0.75, 0.50),
    K.BUTTERFLY_0DTE: (0.20, 5.0),
}


def size(key: StrategyKey = K.LT112, nlv: float = 100_000.0, max_loss: float = 1_000.0,
         bp: float = 1_000.0, room: float = 1e9, phase: Phase = Phase.P4, vix_m: float = 1.0,
         dd_m: float = 1.0, **kw: object) -> Approval | Rejection:
    return SIZER.size(key, nlv, max_loss, bp, room, phase, vix_m, dd_m, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", list(StrategyKey))
def test_size_when_prior_then_quarter_kelly_capped_at_five_percent(key: StrategyKey) -> None:
    p, b = PRIORS[key]
    f = (p * b - (1 - p)) / b
    expected = math.floor(100_000.0 * min(0.25 * f, 0.05) / 700.0 + 1e-9)

    verdict = size(key, max_loss=700.0, phase=Phase.P4, max_units=1_000)

    if key is K.FRIDAY_0DTE:
        expected = min(expected, 4)
    assert isinstance(verdict, Approval)
    assert verdict.contracts == expected


def test_size_when_budget_divides_exactly_then_not_floored_short() -> None:
    verdict = size(max_loss=2_500.0)

    assert isinstance(verdict, Approval)
    assert (verdict.contracts, verdict.binding) == (2, "risk_budget")


def test_size_when_butterfly_prior_then_one_percent_budget() -> None:
    verdict = size(K.BUTTERFLY_0DTE, max_loss=250.0)

    assert isinstance(verdict, Approval) and verdict.contracts == 4


def test_size_when_kelly_non_positive_then_zero_with_reason() -> None:
    sizer = PositionSizer(config_with(lt112__prior__win_rate="0.2", lt112__prior__payoff="2.0"))

    verdict = sizer.size(K.LT112, 100_000.0, 100.0, 100.0, 1e9, Phase.P4, 1.0, 1.0)

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("sizing", "kelly_non_positive")


def test_size_when_one_unit_exceeds_budget_then_zero_never_rounded_up() -> None:
    verdict = size(max_loss=5_001.0)

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("sizing", "risk_budget")


@pytest.mark.parametrize(("kw", "contracts", "binding"), [
    ({"room": 2_500.0}, 2, "buying_power"),
    ({"room": -50.0}, 0, "buying_power"),
    ({"max_units": 3}, 3, "max_units"),
    ({"max_units": 0}, 0, "max_units"),
    ({"stress_units": 1.7}, 1, "stress"),
    ({"stress_units": 0.4}, 0, "stress"),
    ({"dd_m": 0.5}, 2, "risk_budget"),
    ({"vix_m": 0.0}, 0, "risk_budget"),
    ({"size_factor": 2.0}, 10, "risk_budget"),
])
def test_size_when_constraint_tightest_then_it_binds(kw: dict[str, float], contracts: int,
                                                     binding: str) -> None:
    verdict = size(max_loss=1_000.0, bp=1_000.0, **kw)  # type: ignore[arg-type]

    if contracts == 0:
        assert isinstance(verdict, Rejection) and verdict.reason == binding
    else:
        assert isinstance(verdict, Approval)
        assert (verdict.contracts, verdict.binding) == (contracts, binding)


@pytest.mark.parametrize(("phase", "cap"), [(Phase.P1, 1), (Phase.P2, 2), (Phase.P3, 3),
                                            (Phase.P4, 4)])
def test_size_when_contract_capped_strategy_then_phase_cap_binds(phase: Phase, cap: int) -> None:
    verdict = size(K.FRIDAY_0DTE, max_loss=100.0, phase=phase)

    assert isinstance(verdict, Approval)
    assert (verdict.contracts, verdict.binding) == (cap, "phase_cap")


def test_size_when_position_capped_strategy_then_no_contract_cap() -> None:
    verdict = size(K.LT112, max_loss=100.0, phase=Phase.P2)

    assert isinstance(verdict, Approval) and verdict.contracts == 50


@pytest.mark.parametrize(("kw", "reason"), [
    ({"nlv": math.nan}, "invalid_nlv"),
    ({"nlv": -1.0}, "invalid_nlv"),
    ({"nlv": 0.0}, "invalid_nlv"),
    ({"max_loss": 0.0}, "invalid_max_loss"),
    ({"max_loss": -10.0}, "invalid_max_loss"),
    ({"max_loss": math.nan}, "invalid_max_loss"),
    ({"bp": math.nan}, "invalid_bp_per_unit"),
    ({"bp": 0.0}, "invalid_bp_per_unit"),
    ({"room": math.nan}, "invalid_bp_room"),
    ({"vix_m": math.nan}, "invalid_vix_multiplier"),
    ({"vix_m": -0.5}, "invalid_vix_multiplier"),
    ({"dd_m": math.inf}, "invalid_drawdown_multiplier"),
    ({"size_factor": -1.0}, "invalid_size_factor"),
    ({"max_units": -1}, "invalid_max_units"),
    ({"stress_units": math.nan}, "invalid_stress_units"),
    ({"realised": (40, 1.5, 0.3)}, "invalid_realised_stats"),
    ({"realised": (40, 0.8, math.inf)}, "invalid_realised_stats"),
])
def test_size_when_input_invalid_then_rejection_with_reason(kw: dict[str, object],
                                                            reason: str) -> None:
    verdict = size(**kw)  # type: ignore[arg-type]

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("sizing", reason)


def test_kelly_when_fewer_trades_than_blend_minimum_then_prior() -> None:
    assert SIZER.kelly(K.IPMCC, (29, 0.2, 0.5)) == pytest.approx(0.4)


def test_kelly_when_blend_minimum_reached_then_equal_weights() -> None:
    # prior p=0.70 b=1.0; realised p=0.50 b=0.6 at n=m=30: p=0.60, b=0.80 → f*=(0.48−0.40)/0.80.
    got = SIZER.kelly(K.IPMCC, (30, 0.5, 0.6))

    assert got == pytest.approx(0.1)


def test_kelly_when_many_trades_then_realised_dominates() -> None:
    got = SIZER.kelly(K.IPMCC, (3_000, 0.5, 0.6))

    assert isinstance(got, float)
    realised_only = (0.5 * 0.6 - 0.5) / 0.6
    assert abs(got - realised_only) < 0.02 < abs(0.4 - realised_only)


def test_size_when_realised_poor_then_fewer_contracts_than_prior() -> None:
    prior = size(K.IPMCC, max_loss=100.0)
    blended = size(K.IPMCC, max_loss=100.0, realised=(60, 0.55, 0.9))

    assert isinstance(prior, Approval) and isinstance(blended, Approval)
    assert blended.contracts < prior.contracts


finite_pos = st.floats(1.0, 1e5, allow_nan=False)
mult = st.floats(0.0, 2.0, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(key=st.sampled_from(list(StrategyKey)), nlv=st.floats(1e3, 1e7), max_loss=finite_pos,
       bp=finite_pos, room=st.floats(-1e4, 1e7), phase=st.sampled_from(list(Phase)),
       vix_m=mult, dd_m=mult, factor=mult, max_units=st.none() | st.integers(0, 50),
       stress=st.none() | st.floats(0.0, 100.0))
def test_size_when_any_inputs_then_never_exceeds_any_cap(
        key: StrategyKey, nlv: float, max_loss: float, bp: float, room: float, phase: Phase,
        vix_m: float, dd_m: float, factor: float, max_units: int | None,
        stress: float | None) -> None:
    verdict = SIZER.size(key, nlv, max_loss, bp, room, phase, vix_m, dd_m, factor, max_units,
                         None, stress)

    if isinstance(verdict, Rejection):
        return
    n = verdict.contracts
    common = cfg().strategies.common(key)
    budget = nlv * min(0.25 * common.prior.kelly, 0.05) * vix_m * dd_m * factor
    assert n >= 1
    assert n * max_loss <= budget * (1 + 1e-9) + 1e-6
    assert n * bp <= room * (1 + 1e-9) + 1e-6
    if common.cap_unit == "contracts":
        assert n <= common.cap(phase)
    if max_units is not None:
        assert n <= max_units
    if stress is not None:
        assert n <= stress + 1e-9


def contracts(v: Approval | Rejection) -> int:
    return v.contracts if isinstance(v, Approval) else 0


@settings(max_examples=80, deadline=None)
@given(key=st.sampled_from(list(StrategyKey)), max_loss=finite_pos,
       worse_loss=st.floats(1.0, 10.0), vix_m=mult, dd_m=mult,
       vix_cut=st.floats(0.0, 1.0), dd_cut=st.floats(0.0, 1.0))
def test_size_when_multipliers_or_risk_worsen_then_never_more_contracts(
        key: StrategyKey, max_loss: float, worse_loss: float, vix_m: float, dd_m: float,
        vix_cut: float, dd_cut: float) -> None:
    base = contracts(size(key, max_loss=max_loss, vix_m=vix_m, dd_m=dd_m))

    assert contracts(size(key, max_loss=max_loss * worse_loss, vix_m=vix_m, dd_m=dd_m)) <= base
    assert contracts(size(key, max_loss=max_loss, vix_m=vix_m * vix_cut, dd_m=dd_m)) <= base
    assert contracts(size(key, max_loss=max_loss, vix_m=vix_m, dd_m=dd_m * dd_cut)) <= base
