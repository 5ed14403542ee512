"""Stress test: scenario grid, labels, catalogue multipliers, bad legs, the NLV limit (§7)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.enums import PricingModel, Right
from risk.legs import StressLeg
from risk.stress import StressResult, StressTest, scenario_label
from risk.types import Rejection
from tests.risk.builders import cfg, contract, stress_leg

STRESS = StressTest(cfg())


def result(*legs: StressLeg) -> StressResult:
    r = STRESS.run(legs)
    assert isinstance(r, StressResult), r
    return r


def loss_of(r: StressResult, label: str) -> float:
    return dict(r.per_scenario)[label]


def short_put_book(n: int = 1) -> StressLeg:
    return stress_leg("SPY", 500.0, Right.PUT, -n, 520.0, 0.18, 0.25)


def test_labels_when_default_config_then_every_move_times_every_multiplier() -> None:
    labels = STRESS.labels

    assert len(labels) == 15
    assert labels[0] == "-10% x IV 1.0"
    assert "+3% x IV 1.5" in labels and "-5% x IV 2.0" in labels


@pytest.mark.parametrize(("move", "mult", "label"), [
    (-0.10, 2.0, "-10% x IV 2.0"), (0.03, 1.0, "+3% x IV 1.0"), (-0.03, 1.5, "-3% x IV 1.5"),
])
def test_scenario_label_when_move_and_multiplier_then_text(move: float, mult: float,
                                                           label: str) -> None:
    assert scenario_label(move, mult) == label


def test_run_when_short_put_book_then_crash_with_iv_doubling_worse_than_rally() -> None:
    r = result(short_put_book())

    crash = loss_of(r, "-10% x IV 2.0")
    rally = loss_of(r, "+3% x IV 1.0")

    assert crash > rally
    assert crash > 0.0 > rally


def test_run_when_short_put_book_then_worst_scenario_is_crash_with_iv_doubling() -> None:
    r = result(short_put_book())

    assert r.scenario == "-10% x IV 2.0"
    assert r.worst_loss == pytest.approx(max(x for _, x in r.per_scenario))


def test_run_when_long_call_book_then_worst_scenario_is_a_fall() -> None:
    r = result(stress_leg("SPY", 540.0, Right.CALL, 2, 520.0, 0.2, 0.25))

    assert r.scenario.startswith("-10% x IV")


def test_run_when_empty_book_then_zero_loss() -> None:
    r = result()

    assert (r.worst_loss, r.scenario) == (0.0, "")
    assert all(x == 0.0 for _, x in r.per_scenario)


@pytest.mark.parametrize(("root", "multiplier", "model"), [
    ("ES", 50.0, PricingModel.BLACK76), ("MES", 5.0, PricingModel.BLACK76),
    ("SPY", 100.0, PricingModel.BSM), ("SPXW", 100.0, PricingModel.BSM),
    ("CL", 1000.0, PricingModel.BLACK76),
])
def test_leg_of_when_root_then_catalogue_multiplier_and_model(root: str, multiplier: float,
                                                             model: PricingModel) -> None:
    leg = StressLeg.of(contract(root, 100.0, Right.PUT), -1, 100.0, 0.2, 0.1, 0.04)

    assert (leg.multiplier, leg.model) == (multiplier, model)


def test_run_when_es_versus_mes_then_losses_scale_with_multiplier_ten() -> None:
    es = result(stress_leg("ES", 5000.0, Right.PUT, -1, 5200.0, 0.2, 0.1))
    mes = result(stress_leg("MES", 5000.0, Right.PUT, -1, 5200.0, 0.2, 0.1))

    assert es.worst_loss == pytest.approx(10.0 * mes.worst_loss)


def test_run_when_spy_option_then_dollars_are_points_times_one_hundred() -> None:
    leg = stress_leg("SPY", 500.0, Right.PUT, -1, 520.0, 0.2, 0.0)   # at expiry: intrinsic

    r = result(leg)

    # −10%: spot 468 → put worth 32 points → $3,200 loss on one short contract.
    assert loss_of(r, "-10% x IV 1.0") == pytest.approx(3_200.0)


def test_run_when_long_future_then_linear_loss_with_multiplier() -> None:
    leg = stress_leg("ES", 0.0, None, 1, 5000.0, math.nan, math.nan)

    r = result(leg)

    assert r.worst_loss == pytest.approx(0.10 * 5000.0 * 50.0)
    assert r.scenario == "-10% x IV 1.0"


@pytest.mark.parametrize(("leg", "reason"), [
    (stress_leg(iv=math.nan), "missing_iv"),
    (stress_leg(iv=0.0), "missing_iv"),
    (stress_leg(underlying=math.nan), "missing_underlying_price"),
    (stress_leg(underlying=-5.0), "missing_underlying_price"),
    (stress_leg(t_years=math.nan), "missing_time_to_expiry"),
    (StressLeg.of(contract("XYZ", 10.0, Right.PUT), -1, 10.0, 0.3, 0.2, 0.04),
     "unknown_instrument"),
])
def test_run_when_leg_cannot_be_priced_then_rejection_never_zero(leg: StressLeg,
                                                                 reason: str) -> None:
    verdict = STRESS.run([short_put_book(), leg])

    assert isinstance(verdict, Rejection)
    assert (verdict.check, verdict.reason) == ("stress", reason)


def test_check_when_worst_loss_over_fraction_of_nlv_then_rejected() -> None:
    book = [short_put_book(1)]
    worst = result(*book).worst_loss

    over = STRESS.check(book, [], worst / 0.20 * 0.99)
    under = STRESS.check(book, [], worst / 0.20 * 1.01)

    assert over is not None and over.reason == "worst_loss_over_limit"
    assert over.detail == "scenario -10% x IV 2.0"
    assert under is None


def test_check_when_candidate_added_then_book_plus_candidate_checked() -> None:
    book = [short_put_book(1)]
    nlv = result(*book).worst_loss / 0.20 * 1.5

    assert STRESS.check(book, [], nlv) is None
    assert STRESS.check(book, [short_put_book(1)], nlv) is not None


@pytest.mark.parametrize("nlv", [math.nan, -1.0, 0.0])
def test_check_when_nlv_invalid_then_rejected(nlv: float) -> None:
    verdict = STRESS.check([short_put_book()], [], nlv)

    assert verdict is not None and verdict.reason == "invalid_nlv"


def test_check_when_book_empty_and_candidate_small_then_admitted() -> None:
    assert STRESS.check([], [short_put_book(1)], 1_000_000.0) is None


@settings(max_examples=40, deadline=None)
@given(book_n=st.integers(0, 5), nlv=st.floats(20_000.0, 500_000.0))
def test_max_units_when_book_and_unit_then_largest_count_within_limit(book_n: int,
                                                                     nlv: float) -> None:
    book = [short_put_book(book_n)] if book_n else []
    unit = [short_put_book(1)]
    book_losses = STRESS.scenario_losses(book)
    unit_losses = STRESS.scenario_losses(unit)
    assert not isinstance(book_losses, Rejection) and not isinstance(unit_losses, Rejection)

    n = math.floor(STRESS.max_units(book_losses, unit_losses, nlv) + 1e-9)

    limit = 0.20 * nlv
    if n > 0:
        assert np.max(book_losses + n * unit_losses) <= limit * (1 + 1e-9)
    assert np.max(book_losses + (n + 1) * unit_losses) > limit


def test_verdict_when_losses_over_limit_then_names_worst_scenario() -> None:
    losses = np.zeros(len(STRESS.labels))
    losses[7] = 30_000.0

    verdict = STRESS.verdict(losses, 100_000.0)

    assert verdict is not None
    assert (verdict.limit, verdict.observed) == (20_000.0, 30_000.0)
    assert verdict.detail == f"scenario {STRESS.labels[7]}"
