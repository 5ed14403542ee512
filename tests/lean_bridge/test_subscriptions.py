"""Subscription plan and the option universe filter (bands derived from the configuration)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from config import load_config
from config.enums import Engine, InstrumentKind, Phase, Right, StrategyKey
from config.instruments import instrument
from config.universe import roots_for
from lean_bridge.subscriptions import (
    COVER_VOL,
    UNDERLYING_FUTURE_REACH_DAYS,
    OptionSubscription,
    StrikeBand,
    history_days,
    plan_subscriptions,
    select_contracts,
    strike_for_delta,
    warmup_calendar_days,
)

CFG = load_config()
PLAN = plan_subscriptions(CFG)
SUBS = {s.root: s for s in PLAN.options}
TODAY = date(2026, 1, 5)


def black76_abs_delta(k_over_f: float, vol: float, years: float, right: Right) -> float:
    d1 = (math.log(1.0 / k_over_f) + 0.5 * vol * vol * years) / (vol * math.sqrt(years))
    return float(norm.cdf(d1) if right is Right.CALL else norm.cdf(-d1))


def kept(sub: OptionSubscription, dte: int, strike: float, right: Right, price: float) -> bool:
    item = (TODAY + timedelta(days=dte), strike, right)
    return bool(select_contracts([item], lambda x: x, price, TODAY, sub.bands))


@settings(max_examples=50, deadline=None)
@given(delta=st.floats(0.02, 0.95), vol=st.floats(0.05, 1.0), days=st.integers(1, 500),
       right=st.sampled_from(list(Right)))
def test_strike_for_delta_when_priced_back_then_black76_delta_matches(
        delta: float, vol: float, days: int, right: Right) -> None:
    years = days / 365.0

    k = strike_for_delta(delta, right, vol, years)

    assert black76_abs_delta(k, vol, years, right) == pytest.approx(delta, abs=1e-9)


def test_plan_when_lean_then_option_roots_and_instruments_without_data_listed() -> None:
    assert set(SUBS) == {"SPXW", "ES", "CL", "GC", "ZB", "6E", "QQQ", "SPY", "IWM"}
    assert {("lt112", "MES"), ("futures_strangle", "MCL"),
            ("futures_strangle", "MGC")} <= {(k.value, r) for k, r in PLAN.unavailable}
    assert set(PLAN.futures) == {"ES", "MES", "CL", "MCL", "GC", "MGC", "ZB", "6E"}
    assert PLAN.indices == ("SPX",)
    assert set(PLAN.equities) == {"SPY", "QQQ", "IWM"}
    assert SUBS["SPXW"].kind is InstrumentKind.INDEX and SUBS["SPXW"].underlying == "SPX"


def test_plan_when_futures_options_then_future_filter_reaches_past_the_options() -> None:
    for root in ("ES", "CL", "GC", "ZB", "6E"):
        assert PLAN.futures[root] >= SUBS[root].dte_hi + UNDERLYING_FUTURE_REACH_DAYS


@pytest.mark.parametrize(("root", "dte", "delta", "right", "price", "vol"), [
    # LT112 naked puts: 5Δ at 120 DTE (and the 4Δ edge at 150 DTE) on ES
    ("ES", 120, 0.05, Right.PUT, 6000.0, 0.30),
    ("ES", 150, 0.04, Right.PUT, 6000.0, COVER_VOL["ES"]),
    # LEAP ladder: 12Δ puts at 365 DTE on SPY
    ("SPY", 365, 0.12, Right.PUT, 600.0, 0.35),
    ("SPY", 400, 0.12, Right.PUT, 600.0, COVER_VOL["SPY"]),
    # IPMCC LEAP: 85Δ call at 450 DTE
    ("QQQ", 450, 0.85, Right.CALL, 500.0, COVER_VOL["QQQ"]),
    # Strangles: 5Δ call and put at 100 DTE on crude
    ("CL", 100, 0.05, Right.CALL, 80.0, 0.60),
    ("CL", 100, 0.05, Right.PUT, 80.0, 0.60),
    # Bear trap: 8Δ put at 70 DTE on SPY
    ("SPY", 70, 0.08, Right.PUT, 600.0, 0.40),
])
def test_filter_when_target_delta_strike_then_kept(root: str, dte: int, delta: float,
                                                   right: Right, price: float,
                                                   vol: float) -> None:
    step = instrument(root).strike_step
    strike = round(price * strike_for_delta(delta, right, vol, dte / 365.0) / step) * step

    assert kept(SUBS[root], dte, strike, right, price)


def test_filter_when_0dte_then_16_delta_shorts_and_30_point_wings_kept() -> None:
    spx = 6000.0
    put = spx * strike_for_delta(0.16, Right.PUT, 0.30, 1.0 / 365.0)
    call = spx * strike_for_delta(0.16, Right.CALL, 0.30, 1.0 / 365.0)
    wing = CFG.strategies.friday_0dte.wing_points

    for strike, right in ((put - wing, Right.PUT), (call + wing, Right.CALL)):
        assert kept(SUBS["SPXW"], 0, round(strike / 5) * 5, right, spx)
    assert not kept(SUBS["SPXW"], 1, round(put / 5) * 5, Right.PUT, spx)


def test_filter_when_far_outside_bands_then_dropped() -> None:
    spy = SUBS["SPY"]

    assert not kept(spy, 365, 660.0, Right.CALL, 600.0)  # LEAP calls are in the money
    assert not kept(spy, 200, 590.0, Right.PUT, 600.0)  # no SPY strategy trades 200 DTE
    assert not kept(spy, 365, 100.0, Right.PUT, 600.0)  # far below every band


def test_select_contracts_when_underlying_missing_then_nothing_kept() -> None:
    items = [(TODAY, 100.0, Right.PUT)]
    band = StrikeBand(0, 10, 0.5, 1.5, 0.0, frozenset({Right.PUT}))

    assert select_contracts(items, lambda x: x, float("nan"), TODAY, [band]) == []
    assert select_contracts(items, lambda x: x, 0.0, TODAY, [band]) == []
    assert select_contracts(items, lambda x: x, 100.0, TODAY, [band]) == items


def test_strike_band_when_window_inverted_then_invalid() -> None:
    with pytest.raises(ValueError, match="DTE window"):
        StrikeBand(10, 5, 0.9, 1.0, 0.0, frozenset({Right.PUT}))


def test_history_days_when_defaults_then_a_trading_year() -> None:
    assert history_days(CFG) == max(252, CFG.strategies.futures_strangle.iv_rank_days)


@pytest.mark.parametrize("sessions", [21, 252, 300])
def test_warmup_calendar_days_when_ten_holidays_a_year_then_enough_sessions(
        sessions: int) -> None:
    days = warmup_calendar_days(sessions)
    start = date(2025, 1, 6)
    weekdays = sum((start + timedelta(days=n)).weekday() < 5 for n in range(days))

    assert weekdays - math.ceil(10 * days / 365) >= sessions


def test_plan_when_any_strategy_root_then_subscribed_or_listed_unavailable() -> None:
    for key in StrategyKey:
        for phase in Phase:
            for root in roots_for(key, phase, Engine.LEAN):
                if instrument(root).supports(Engine.LEAN):
                    assert root in SUBS, (key, root)
                else:
                    assert (key, root) in PLAN.unavailable, (key, root)
