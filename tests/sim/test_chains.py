"""Expiry calendars, strike grids, chains and quotes of the synthetic market."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from config.enums import Right
from config.instruments import Contract, instrument
from sim.calendar import TradingCalendar
from sim.chains import strike_grid
from sim.engine import Environment
from sim.expiries import ExpiryCalendar, ExpiryRule, Listing, rule_dates
from sim.pricing import FloatArray, MarketState
from sim.products import BASE_SERIES, product
from sim.surface import bid_ask
from tests.sim.conftest import advance_to

FRIDAY_1030 = datetime(2022, 1, 7, 10, 30)


def _listed(cal: TradingCalendar, root: str, today: date) -> tuple[date, ...]:
    return ExpiryCalendar(cal, product(root).listings, today, today).listed(today)


def test_es_expiries_when_any_week_then_a_friday_expiry(calendar: TradingCalendar) -> None:
    fridays = [d for d in rule_dates(calendar, Listing(ExpiryRule.FRIDAY, 0), date(2022, 1, 1),
                                     date(2022, 12, 31))]
    assert len(fridays) == 52
    assert date(2022, 4, 14) in fridays  # Good Friday week: Thursday
    listed = _listed(calendar, "ES", date(2022, 3, 1))
    for week in range(8):
        friday = date(2022, 3, 4) + timedelta(days=7 * week)
        assert calendar.previous_or_same(friday) in listed


def test_es_expiries_when_listed_then_dailies_near_and_quarterlies_far(
        calendar: TradingCalendar) -> None:
    listed = _listed(calendar, "ES", date(2022, 3, 1))
    assert date(2022, 3, 2) in listed  # a Wednesday daily
    far = [d for d in listed if (d - date(2022, 3, 1)).days > 365]
    assert far and all(d.month in (3, 6, 9, 12) for d in far)


def test_spy_expiries_when_beyond_monthlies_then_quarterlies_and_january_leaps(
        calendar: TradingCalendar) -> None:
    listed = _listed(calendar, "SPY", date(2022, 3, 1))
    far = [d for d in listed if (d - date(2022, 3, 1)).days > 400]
    assert far[-1] == date(2024, 1, 19)
    assert all(d.month in (1, 3, 6, 9, 12) for d in far)
    later = _listed(calendar, "SPY", date(2022, 9, 1))
    assert date(2025, 1, 17) in later


def test_cl_expiries_when_a_year_then_one_per_month_before_the_25th(
        calendar: TradingCalendar) -> None:
    dates = rule_dates(calendar, Listing(ExpiryRule.CL, 0), date(2022, 1, 1), date(2022, 12, 31))
    assert len(dates) == 12
    assert len({d.month for d in dates}) == 12
    assert all(15 <= d.day <= 21 for d in dates)
    assert date(2022, 3, 21) in dates  # 25 March 2022 is a Friday: four sessions before


def test_gc_zb_eur_expiries_when_a_year_then_monthly(calendar: TradingCalendar) -> None:
    for rule in (ExpiryRule.GC, ExpiryRule.ZB, ExpiryRule.EUR):
        dates = rule_dates(calendar, Listing(rule, 0), date(2022, 1, 1), date(2022, 12, 31))
        assert len({d.month for d in dates}) == 12, rule
    eur = rule_dates(calendar, Listing(ExpiryRule.EUR, 0), date(2022, 3, 1), date(2022, 3, 31))
    assert eur == [date(2022, 3, 4)]  # two Fridays before Wednesday 16 March


def test_strike_grid_when_built_then_fine_near_money_and_on_catalogue_step() -> None:
    grid = strike_grid(4500.0, 0.11, 5.0)
    assert np.all(np.mod(grid, 5.0) == 0)
    near = grid[(grid > 4400) & (grid < 4600)]
    assert np.all(np.diff(near) == 5.0)
    assert grid.min() < 4500 * np.exp(-6 * 0.11) + 50
    assert grid.max() > 4500 * np.exp(3 * 0.11) - 50


def test_chain_when_window_requested_then_only_those_expiries(
        make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, FRIDAY_1030)
    raw = env.market.chain("ES", 100, 150)
    assert raw is not None and len(raw) > 100
    dte = (raw.expiry - np.datetime64(FRIDAY_1030.date(), "D")).astype(int)
    assert dte.min() >= 100 and dte.max() <= 150
    assert np.all(raw.ask >= raw.bid) and np.all(raw.bid >= 0)
    assert raw.quote_time[0] == np.datetime64(FRIDAY_1030)


def test_chain_when_zero_dte_es_then_underlying_is_quarterly_future(
        make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, FRIDAY_1030)
    raw = env.market.chain("ES", 0, 0)
    spx = env.market.price("SPX")
    assert raw is not None and spx is not None
    assert set(raw.expiry.astype(object)) == {FRIDAY_1030.date()}
    assert raw.underlying[0] > spx.value  # carry to the March future


def test_chain_when_root_without_options_then_none(
        make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, FRIDAY_1030)
    assert env.market.chain("NQ", 0, 30) is None
    assert env.market.chain("XYZ", 0, 30) is None


def test_chain_when_lt112_window_then_five_delta_put_strikes_listed(
        make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, FRIDAY_1030)
    raw = env.market.chain("ES", 100, 150)
    assert raw is not None and len(raw) > 0
    puts = ~raw.is_call
    f = raw.underlying[0]
    # a 5-delta put at 120 DTE sits roughly 25-30% below the future with the equity skew
    assert raw.strike[puts].min() < 0.72 * f


def _state(vix: float) -> MarketState:
    levels = np.array([4500.0, 380.0, 200.0, 80.0, 1800.0, 150.0, 1.1])
    vols = np.full(len(BASE_SERIES), np.nan)
    vols[3:] = [0.35, 0.16, 0.12, 0.08]
    return MarketState.build(datetime(2022, 3, 1, 10, 0), 100, 0.9, levels, vix, vols, 0.04)


def _relative_spread(make_env: Callable[..., Environment], vix: float) -> FloatArray:
    env = make_env()
    st = _state(vix)
    expiry = date(2022, 4, 14)
    strikes = np.array([4500.0, 4200.0, 3900.0])
    batch = env.market.pricer.grid("SPXW", [expiry], [strikes])
    val = env.market.pricer.value(batch, st)
    puts = ~batch.is_call
    mid = 0.5 * (val.bid + val.ask)
    return np.asarray(((val.ask - val.bid) / mid)[puts])


def test_quotes_when_out_of_the_money_then_relatively_wider(
        make_env: Callable[..., Environment]) -> None:
    rel = _relative_spread(make_env, 15.0)
    assert rel[0] < rel[1] < rel[2]


def test_quotes_when_vix_rises_then_wider(make_env: Callable[..., Environment]) -> None:
    calm = _relative_spread(make_env, 15.0)
    stressed = _relative_spread(make_env, 35.0)
    assert np.all(stressed > calm)


@pytest.mark.parametrize(("root", "mid"), [("SPY", 5.0), ("ES", 50.0), ("CL", 2.0)])
def test_bid_ask_when_calm_near_money_then_a_few_ticks(root: str, mid: float) -> None:
    tick = instrument(root).tick
    bid, ask = bid_ask(product(root).spread, tick, np.array([mid]), np.array([0.0]),
                       np.array([0.05]), np.array([1.0]))
    ticks = (ask - bid) / tick
    assert 1 <= round(ticks[0]) <= 8
    assert (ask - bid)[0] <= 0.01 * mid + 1e-9


def test_bid_ask_when_option_worth_a_few_ticks_then_one_tick_wide() -> None:
    bid, ask = bid_ask(product("ES").spread, 0.05, np.array([0.12]), np.array([3.0]),
                       np.array([0.001]), np.array([1.4]))
    assert (bid[0], ask[0]) == pytest.approx((0.10, 0.15))


def test_bid_ask_when_far_otm_cheap_then_bid_not_negative() -> None:
    bid, ask = bid_ask(product("SPY").spread, 0.01, np.array([0.001]), np.array([-4.0]),
                       np.array([0.1]), np.array([1.0]))
    assert bid[0] == 0.0 and ask[0] >= 0.01


def test_quote_when_held_contract_then_priced_and_stamped(
        make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, FRIDAY_1030)
    c = Contract("SPY", date(2022, 3, 18), 450.0, Right.PUT)
    q = env.market.quote(c)
    assert q is not None and 0 < q.bid < q.ask and q.time == FRIDAY_1030
    spy = env.market.price("SPY")
    assert spy is not None
    assert env.market.underlying_price(c) == pytest.approx(spy.value)


def test_quote_when_expired_or_unknown_then_none(make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, FRIDAY_1030)
    assert env.market.quote(Contract("SPY", date(2022, 1, 5), 450.0, Right.PUT)) is None
    assert env.market.quote(Contract("XYZ", date(2022, 3, 18), 45.0, Right.PUT)) is None


def test_quote_when_expiry_close_then_intrinsic(make_env: Callable[..., Environment]) -> None:
    env = make_env()
    close = datetime(2022, 1, 7, 16, 0)
    advance_to(env, close)
    spx = env.market.price("SPX")
    assert spx is not None
    k = round(spx.value / 5) * 5 + 50
    q = env.market.quote(Contract("SPXW", close.date(), k, Right.PUT))
    assert q is not None
    assert 0.5 * (q.bid + q.ask) == pytest.approx(k - spx.value, abs=0.1)


def test_market_when_started_then_history_and_iv_cover_a_year(
        make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, FRIDAY_1030)
    closes = env.market.daily_history("SPY", 252)
    ivs = env.market.atm_iv_history("CL", 252)
    assert closes.shape == (252,) and ivs.shape == (252,)
    assert np.all(closes > 0) and np.all(ivs > 0)
    assert ivs.std() > 0  # IV rank is meaningful


def test_daily_history_when_session_ends_then_includes_today(
        make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, datetime(2022, 1, 7, 15, 55))
    before = env.market.daily_history("SPX", 5)
    env.market.advance(datetime(2022, 1, 7, 16, 0))
    after = env.market.daily_history("SPX", 5)
    spx = env.market.price("SPX")
    assert spx is not None
    assert after[-2] == before[-1]
    assert after[-1] == pytest.approx(spx.value)


def test_market_when_session_open_then_first_bar_price(
        make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, datetime(2022, 1, 7, 9, 30))
    first = env.market.price("QQQ")
    advance_to(env, FRIDAY_1030)
    assert first is not None
    assert env.market.session_open("QQQ") == pytest.approx(first.value)
    vix = env.market.vix()
    assert vix is not None and vix.time == FRIDAY_1030
