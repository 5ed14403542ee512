"""Portfolio greeks: dollar units with catalogue multipliers, addition, scaling, missing IV."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.enums import Right
from risk.portfolio_greeks import PortfolioGreeks
from risk.types import Rejection
from tests.risk.builders import stress_leg


def greeks_of(*legs: object) -> PortfolioGreeks:
    g = PortfolioGreeks.of(legs)  # type: ignore[arg-type]
    assert isinstance(g, PortfolioGreeks), g
    return g


def test_add_when_two_values_then_fieldwise_sum() -> None:
    a = PortfolioGreeks(1.0, 2.0, 3.0, 4.0)
    b = PortfolioGreeks(10.0, 20.0, 30.0, 40.0)

    assert a + b == PortfolioGreeks(11.0, 22.0, 33.0, 44.0)
    assert b - a == PortfolioGreeks(9.0, 18.0, 27.0, 36.0)


def test_scale_when_multiplied_then_every_field_scaled() -> None:
    assert 2 * PortfolioGreeks(1.0, -2.0, 3.0, -4.0) == PortfolioGreeks(2.0, -4.0, 6.0, -8.0)


def test_of_when_empty_then_zero() -> None:
    assert greeks_of() == PortfolioGreeks.zero()


def test_of_when_long_future_then_delta_is_one_percent_of_notional() -> None:
    g = greeks_of(stress_leg("ES", 0.0, None, 2, 5000.0, math.nan, math.nan))

    assert g.delta == pytest.approx(2 * 50 * 5000.0 * 0.01)
    assert (g.gamma, g.theta, g.vega) == (0.0, 0.0, 0.0)


def test_of_when_short_put_then_long_delta_short_gamma_long_theta_short_vega() -> None:
    g = greeks_of(stress_leg("SPY", 500.0, Right.PUT, -1, 520.0, 0.2, 0.25))

    assert g.delta > 0.0 and g.gamma < 0.0 and g.theta > 0.0 and g.vega < 0.0


@pytest.mark.parametrize(("big", "small", "ratio"), [("ES", "MES", 10.0), ("SPXW", "SPY", 1.0)])
def test_of_when_same_option_on_other_root_then_scaled_by_catalogue_multiplier(
        big: str, small: str, ratio: float) -> None:
    a = greeks_of(stress_leg(big, 5000.0, Right.CALL, 1, 5100.0, 0.2, 0.1))
    b = greeks_of(stress_leg(small, 5000.0, Right.CALL, 1, 5100.0, 0.2, 0.1))

    assert a.delta == pytest.approx(ratio * b.delta)
    assert a.gamma == pytest.approx(ratio * b.gamma)
    assert a.vega == pytest.approx(ratio * b.vega)


def test_of_when_one_es_call_then_dollar_delta_uses_multiplier_fifty() -> None:
    g = greeks_of(stress_leg("ES", 5000.0, Right.CALL, 1, 5000.0, 0.2, 0.1))

    # An at-the-money call has delta near 0.5: 0.5 × 50 × 5000 × 1% ≈ $1,250 per 1% move.
    assert g.delta == pytest.approx(1_250.0, rel=0.1)


def test_of_when_leg_has_no_iv_then_rejection_never_zero() -> None:
    g = PortfolioGreeks.of([stress_leg(), stress_leg(iv=math.nan)])

    assert isinstance(g, Rejection)
    assert (g.check, g.reason) == ("greeks", "missing_iv")


@settings(max_examples=30, deadline=None)
@given(qa=st.integers(-5, 5), qb=st.integers(-5, 5), ka=st.floats(450.0, 560.0),
       kb=st.floats(450.0, 560.0), call=st.booleans())
def test_of_when_legs_combined_then_greeks_add(qa: int, qb: int, ka: float, kb: float,
                                               call: bool) -> None:
    right = Right.CALL if call else Right.PUT
    a = stress_leg("SPY", round(ka), right, qa, 520.0, 0.22, 0.3)
    b = stress_leg("QQQ", round(kb), Right.PUT, qb, 510.0, 0.25, 0.2)

    both = greeks_of(a, b)
    parts = greeks_of(a) + greeks_of(b)

    for x, y in zip((both.delta, both.gamma, both.theta, both.vega),
                    (parts.delta, parts.gamma, parts.theta, parts.vega), strict=True):
        assert x == pytest.approx(y, abs=1e-6)
