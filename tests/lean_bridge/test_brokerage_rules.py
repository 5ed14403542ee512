"""What each brokerage accepts, refused before an order is sent (LEAN_NOTES.md)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.enums import Brokerage
from lean_bridge.brokerage_rules import (
    RULES,
    BrokerageRules,
    ComboOrderType,
    check_combo,
    market_exit_allowed,
    rules_for,
)


def test_rules_when_every_brokerage_listed_then_table_complete() -> None:
    assert set(RULES) == set(Brokerage)


def test_check_combo_when_tastytrade_limit_then_accepted() -> None:
    assert check_combo(Brokerage.TASTYTRADE, ComboOrderType.LIMIT, 4) is None


@pytest.mark.parametrize("order_type", [ComboOrderType.MARKET, ComboOrderType.LEG_LIMIT])
def test_check_combo_when_tastytrade_not_limit_then_rejected(order_type: ComboOrderType) -> None:
    rejection = check_combo(Brokerage.TASTYTRADE, order_type, 2)

    assert rejection is not None
    assert rejection.check == "brokerage"
    assert rejection.reason == f"{order_type.value}_not_accepted"


@pytest.mark.parametrize("order_type", list(ComboOrderType))
def test_check_combo_when_ib_three_legs_then_every_type_accepted(
        order_type: ComboOrderType) -> None:
    assert check_combo(Brokerage.INTERACTIVE_BROKERS, order_type, 3) is None


def test_check_combo_when_ib_leg_limit_four_legs_then_rejected() -> None:
    rejection = check_combo(Brokerage.INTERACTIVE_BROKERS, ComboOrderType.LEG_LIMIT, 4)

    assert rejection is not None
    assert rejection.reason == "combo_leg_limit_too_many_legs"
    assert (rejection.limit, rejection.observed) == (3, 4)


def test_check_combo_when_ib_limit_four_legs_then_accepted() -> None:
    assert check_combo(Brokerage.INTERACTIVE_BROKERS, ComboOrderType.LIMIT, 4) is None


@pytest.mark.parametrize("brokerage", list(Brokerage))
def test_check_combo_when_no_legs_then_rejected(brokerage: Brokerage) -> None:
    rejection = check_combo(brokerage, ComboOrderType.LIMIT, 0)

    assert rejection is not None and rejection.reason == "no_legs"


def test_market_exit_allowed_when_each_brokerage_then_only_ib() -> None:
    assert not market_exit_allowed(Brokerage.TASTYTRADE)
    assert market_exit_allowed(Brokerage.INTERACTIVE_BROKERS)


def test_brokerage_rules_when_leg_limit_without_leg_count_then_invalid() -> None:
    with pytest.raises(ValueError, match="disagree"):
        BrokerageRules(Brokerage.TASTYTRADE, frozenset({ComboOrderType.LEG_LIMIT}), 0)


@given(brokerage=st.sampled_from(list(Brokerage)),
       order_type=st.sampled_from(list(ComboOrderType)),
       legs=st.integers(min_value=1, max_value=8))
def test_check_combo_when_any_order_then_accepts_exactly_the_table(
        brokerage: Brokerage, order_type: ComboOrderType, legs: int) -> None:
    rules = rules_for(brokerage)
    expected = order_type in rules.combo_types and (
        order_type is not ComboOrderType.LEG_LIMIT or legs <= rules.max_leg_limit_legs)

    assert (check_combo(brokerage, order_type, legs) is None) == expected
