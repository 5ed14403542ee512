"""Pricing: net mid, natural, tick rounding and order orientation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execution.pricing import (
    ComboQuote,
    LegQuote,
    PriceFailure,
    combo_tick,
    cost_to_limit,
    normalise,
    orient,
    quote_combo,
    quote_problem,
    round_cost,
)
from execution.types import ComboLeg, Quote
from tests.execution.builders import (
    CFG,
    CREDIT_SPREAD,
    LONG_PUT,
    SHORT_PUT,
    T0,
    Quotes,
    put,
    spread_quotes,
)

AGE = CFG.data.max_quote_age_minutes


def test_combo_quote_when_credit_spread_gives_mid_and_naturals() -> None:
    market = quote_combo(CREDIT_SPREAD, spread_quotes(), T0, AGE)

    assert isinstance(market, ComboQuote)
    assert market.mid == pytest.approx(-1.15)
    assert market.natural(1) == pytest.approx(-1.00)
    assert market.natural(-1) == pytest.approx(-1.30)
    assert market.natural_cost(-1) == pytest.approx(1.30)
    assert market.tick == 0.05


def test_lt112_natural_when_bought_pays_asks_on_longs_and_takes_bids_on_shorts() -> None:
    legs = (LegQuote(put(5000, "ES"), 1, 40.0, 41.0), LegQuote(put(4950, "ES"), -1, 30.0, 31.0),
            LegQuote(put(4500, "ES"), -2, 3.0, 3.5))
    market = ComboQuote(legs, 0.25)

    assert market.natural(1) == pytest.approx(41.0 - 30.0 - 2 * 3.0)
    assert market.mid == pytest.approx(40.5 - 30.5 - 2 * 3.25)


@pytest.mark.parametrize(("cost", "tick", "expected"), [
    (1.025, 0.05, 1.00), (1.026, 0.05, 1.05), (-1.025, 0.05, -1.05), (-1.024, 0.05, -1.00),
    (10.125, 0.25, 10.0), (10.13, 0.25, 10.25), (3.0 + 1 / 128, 1 / 64, 3.0),
])
def test_round_cost_when_between_ticks_rounds_nearest_ties_to_lower_cost(
        cost: float, tick: float, expected: float) -> None:
    assert round_cost(cost, tick) == pytest.approx(expected)


def test_combo_tick_when_roots_differ_uses_coarsest() -> None:
    legs = (ComboLeg(put(500, "SPY"), 1), ComboLeg(put(5000, "SPXW"), -1))

    assert combo_tick(legs) == 0.05


def test_quote_problem_when_quote_bad_names_reason() -> None:
    assert quote_problem(None, T0, AGE) == "no_quote"
    assert quote_problem(Quote(float("nan"), 1.0, T0), T0, AGE) == "bad_quote"
    assert quote_problem(Quote(0.0, 0.0, T0), T0, AGE) == "bad_quote"
    assert quote_problem(Quote(1.0, 1.1, T0 - timedelta(minutes=AGE + 1)), T0, AGE) == \
        "stale_quote"
    assert quote_problem(Quote(0.0, 0.05, T0), T0, AGE) is None


def test_quote_combo_when_leg_missing_fails_closed() -> None:
    got = quote_combo(CREDIT_SPREAD, Quotes().set(LONG_PUT, 1, 1.1), T0, AGE)

    assert got == PriceFailure("no_quote", SHORT_PUT.symbol)


def test_normalise_when_ratios_share_factor_moves_it_into_units() -> None:
    legs, units = normalise((ComboLeg(LONG_PUT, 2), ComboLeg(SHORT_PUT, -4)), -3)

    assert [leg.ratio for leg in legs] == [1, -2]
    assert units == -6


@settings(max_examples=80, deadline=None)
@given(ratios=st.lists(st.integers(-3, 3).filter(bool), min_size=1, max_size=4),
       units=st.integers(-5, 5).filter(bool),
       final=st.floats(-20, 20, allow_nan=False), start=st.floats(-20, 20, allow_nan=False))
def test_orient_when_any_trade_keeps_contracts_and_positive_limit(
        ratios: list[int], units: int, final: float, start: float) -> None:
    legs = tuple(ComboLeg(put(100 + i), r) for i, r in enumerate(ratios))

    o = orient(legs, units, final, start)
    limit = cost_to_limit(final, o.buy, 0.05)

    for leg, oriented in zip(legs, o.legs, strict=True):
        assert oriented.ratio * o.quantity == leg.ratio * units
    assert (o.quantity > 0) == o.buy
    assert limit > 0
    if abs(final) >= 0.05:
        assert limit == pytest.approx(abs(final))
