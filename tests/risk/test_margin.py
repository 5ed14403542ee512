"""Buying-power estimate per unit: defined risk, Reg-T for equity/index, stress for futures."""

from __future__ import annotations

import math

import pytest

from config.enums import Right, StrategyKey
from risk.margin import bp_per_unit
from tests.risk.builders import contract, idea, idea_leg

K = StrategyKey


def test_bp_when_defined_risk_then_max_loss_per_unit() -> None:
    i = idea(K.FRIDAY_0DTE, "ES", max_loss=1_200.0)

    assert bp_per_unit(i, 5_000.0) == 1_200.0


def test_bp_when_naked_short_put_on_spy_then_reg_t_twenty_percent_rule() -> None:
    # 20% × 520 − 70 OTM = 34 < 10% × 450 = 45 → 45 + premium 1.1 = 46.1 points × 100.
    i = idea(legs=(idea_leg(contract("SPY", 450.0, Right.PUT), -1, 1.0, 1.2, underlying=520.0),))

    assert bp_per_unit(i, None) == pytest.approx(4_610.0)


def test_bp_when_naked_short_put_near_the_money_then_underlying_fraction_binds() -> None:
    # 20% × 520 − 10 = 94 > 10% × 510 = 51 → 94 + 5 = 99 points.
    i = idea(legs=(idea_leg(contract("SPY", 510.0, Right.PUT), -1, 4.9, 5.1, underlying=520.0),))

    assert bp_per_unit(i, None) == pytest.approx(9_900.0)


def test_bp_when_naked_short_call_then_ten_percent_of_underlying_floor() -> None:
    # 20% × 520 − 40 = 64 > 10% × 520 = 52 → 64 + 1 = 65 points.
    i = idea(legs=(idea_leg(contract("SPY", 560.0, Right.CALL), -1, 0.9, 1.1, underlying=520.0),))

    assert bp_per_unit(i, None) == pytest.approx(6_500.0)


def test_bp_when_short_put_covered_by_lower_long_then_spread_width() -> None:
    legs = (idea_leg(contract("SPY", 450.0, Right.PUT), -1, 2.0, 2.2),
            idea_leg(contract("SPY", 440.0, Right.PUT), 1, 1.0, 1.2))
    i = idea(legs=legs)

    assert bp_per_unit(i, None) == pytest.approx(1_000.0)


def test_bp_when_lt112_shape_then_debit_spread_plus_two_naked_puts() -> None:
    legs = (idea_leg(contract("SPY", 480.0, Right.PUT), 1, 6.0, 6.0, underlying=520.0),
            idea_leg(contract("SPY", 470.0, Right.PUT), -1, 4.0, 4.0, underlying=520.0),
            idea_leg(contract("SPY", 420.0, Right.PUT), -2, 0.5, 0.5, underlying=520.0))
    i = idea(K.BEAR_TRAP, legs=legs)

    naked = max(0.2 * 520 - 100, 0.1 * 420) + 0.5        # 42.5 points each
    debit = max(6.0 - 4.0 - 2 * 0.5, 0.0)               # net debit 1.0 point
    assert bp_per_unit(i, None) == pytest.approx((2 * naked + debit) * 100)


def test_bp_when_undefined_futures_structure_then_stress_loss() -> None:
    legs = (idea_leg(contract("CL", 60.0, Right.PUT), -1, 0.5, 0.6, underlying=75.0),
            idea_leg(contract("CL", 95.0, Right.CALL), -1, 0.4, 0.5, underlying=75.0))
    i = idea(K.FUTURES_STRANGLE, "CL", legs=legs)

    assert bp_per_unit(i, 7_300.0) == 7_300.0


@pytest.mark.parametrize("stress_loss", [None, math.nan, 0.0, -10.0])
def test_bp_when_futures_stress_loss_missing_then_nan_never_zero(
        stress_loss: float | None) -> None:
    i = idea(K.FUTURES_STRANGLE, "CL",
             legs=(idea_leg(contract("CL", 60.0, Right.PUT), -1, 0.5, 0.6, underlying=75.0),))

    assert math.isnan(bp_per_unit(i, stress_loss))


def test_bp_when_quote_missing_then_nan() -> None:
    i = idea(legs=(idea_leg(contract("SPY", 450.0, Right.PUT), -1, math.nan, 1.2),))

    assert math.isnan(bp_per_unit(i, None))


def test_bp_when_root_unknown_then_nan() -> None:
    i = idea(root="SPY", multiplier=100.0)
    unknown = type(i)(i.key, "XYZ", i.structure, i.legs, i.expiry, 100.0, i.reason, None)

    assert math.isnan(bp_per_unit(unknown, None))
