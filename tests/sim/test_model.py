"""Market model: determinism, the Brownian bridge, scenario shapes, correlations."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.calendar import TradingCalendar
from sim.model import DailyBar, FloatArray, MarketModel, bridge_path
from sim.products import BASE_SERIES, CORRELATION
from sim.scenarios import SCENARIOS, ShockDay, scenario

START, END = date(2022, 1, 3), date(2023, 12, 29)
SPX = BASE_SERIES.index("SPX")


def _model(cal: TradingCalendar, name: str, seed: int = 1, end: date = END,
           step: int = 5) -> MarketModel:
    return MarketModel(cal, cal.sessions(START, end), seed, step, scenario=scenario(name))


def _run(model: MarketModel) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Daily SPX close, VIX close, VIX intraday max, VIX intraday min."""
    closes, vix, hi, lo = [], [], [], []
    for d in model.sessions:
        path = model.day(d)
        closes.append(path.series[-1, SPX])
        vix.append(path.vix[-1])
        hi.append(path.vix.max())
        lo.append(path.vix.min())
    return np.array(closes), np.array(vix), np.array(hi), np.array(lo)


def test_model_when_same_seed_then_identical_paths(calendar: TradingCalendar) -> None:
    a = _model(calendar, "normal", seed=7, end=date(2022, 2, 28))
    b = _model(calendar, "normal", seed=7, end=date(2022, 2, 28))
    for d in a.sessions:
        pa, pb = a.day(d), b.day(d)
        np.testing.assert_array_equal(pa.series, pb.series)
        np.testing.assert_array_equal(pa.vix, pb.vix)
    np.testing.assert_array_equal(a.hist_close, b.hist_close)


def test_model_when_different_seed_then_paths_differ(calendar: TradingCalendar) -> None:
    a = _model(calendar, "normal", seed=1, end=date(2022, 1, 31))
    b = _model(calendar, "normal", seed=2, end=date(2022, 1, 31))
    d = a.sessions[0]
    assert not np.allclose(a.day(d).series, b.day(d).series)


def test_model_when_days_out_of_order_then_value_error(calendar: TradingCalendar) -> None:
    m = _model(calendar, "normal", end=date(2022, 1, 31))
    with pytest.raises(ValueError, match="in order"):
        m.day(m.sessions[1])


def test_model_when_started_then_history_covers_a_year(calendar: TradingCalendar) -> None:
    m = _model(calendar, "normal", end=date(2022, 1, 31))
    assert m.closes("SPX", 252).shape == (252,)
    assert np.all(np.isfinite(m.atm_history("CL", 252)))
    assert m.hist_days[-1] < START


def test_day_path_when_generated_then_bar_grid_and_positive_prices(
        calendar: TradingCalendar) -> None:
    m = _model(calendar, "normal", end=date(2022, 1, 31), step=15)
    path = m.day(m.sessions[0])
    assert path.series.shape == (len(calendar.bar_times(m.sessions[0], 15)), len(BASE_SERIES))
    assert np.all(path.series > 0) and np.all(path.vix > 0)


def test_scenario_when_crash_then_vix_above_60_and_spx_drawdown_25pct(
        calendar: TradingCalendar) -> None:
    closes, _vix, hi, _ = _run(_model(calendar, "crash", end=date(2022, 6, 30)))
    drawdown = 1.0 - closes / np.maximum.accumulate(closes)
    assert hi.max() >= 60.0
    assert drawdown.max() >= 0.25


def test_scenario_when_calm_then_vix_stays_in_band(calendar: TradingCalendar) -> None:
    _, _, hi, lo = _run(_model(calendar, "calm"))
    assert lo.min() >= 11.0 - 1e-9
    assert hi.max() <= 16.0 + 1e-9


def test_scenario_when_aug2024_then_intraday_peak_60_close_near_38(
        calendar: TradingCalendar) -> None:
    model = _model(calendar, "aug2024", end=date(2022, 3, 31))
    closes, vix, hi, _ = _run(model)
    i = int(np.argmax(hi))
    assert hi[i] >= 60.0
    assert vix[i] == pytest.approx(38.57, abs=1.0)
    assert closes[i] / closes[i - 1] - 1.0 == pytest.approx(-0.03, abs=0.002)


def test_scenario_when_volmageddon_then_vix_doubles_and_spx_down_4pct(
        calendar: TradingCalendar) -> None:
    closes, vix, _, _ = _run(_model(calendar, "volmageddon", end=date(2022, 3, 31)))
    ratio = vix[1:] / vix[:-1]
    i = int(np.argmax(ratio)) + 1
    assert ratio[i - 1] >= 2.0
    assert closes[i] / closes[i - 1] - 1.0 == pytest.approx(-0.041, abs=0.002)


def test_scenario_when_normal_two_years_then_every_regime_occurs(
        calendar: TradingCalendar) -> None:
    _, vix, _, _ = _run(_model(calendar, "normal"))
    bands = [(0, 13), (13, 18), (18, 25), (25, 30), (30, math.inf)]
    assert all(((vix >= lo) & (vix < hi)).any() for lo, hi in bands)
    assert 14.0 <= vix.mean() <= 22.0


def test_scenario_when_shock_range_short_then_shock_still_inside(
        calendar: TradingCalendar) -> None:
    sessions = calendar.sessions(START, date(2022, 1, 14))
    m = MarketModel(calendar, sessions, 1, 30, scenario=scenario("crash"))
    assert m.shock_days()
    assert set(m.shock_days()) <= set(sessions)


def test_correlation_matrix_when_checked_then_positive_definite() -> None:
    assert np.all(np.linalg.eigvalsh(CORRELATION) > 0)
    np.testing.assert_allclose(CORRELATION, CORRELATION.T)


def test_shock_day_when_ohlc_inconsistent_then_value_error() -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        ShockDay((0.0, -0.01, -0.02, 0.0), (20.0, 25.0, 19.0, 22.0))


def test_scenarios_when_listed_then_required_names_present() -> None:
    assert {"normal", "calm", "volmageddon", "crash", "aug2024"} <= set(SCENARIOS)


_ohlc = st.tuples(st.floats(1.0, 5000.0), st.floats(0.0, 0.2), st.floats(0.0, 0.2),
                  st.floats(0.0, 1.0), st.floats(0.0, 1.0))


@settings(max_examples=60, deadline=None)
@given(_ohlc, st.integers(4, 400), st.integers(0, 2**31))
def test_bridge_path_when_any_ohlc_then_hits_open_high_low_close(
        bar: tuple[float, float, float, float, float], n: int, seed: int) -> None:
    base, up, down, fo, fc = bar
    lo, hi = base * (1 - down), base * (1 + up)
    o, c = lo + fo * (hi - lo), lo + fc * (hi - lo)
    path = bridge_path(np.random.default_rng(seed), o, hi, lo, c, n)
    assert path.shape == (n,)
    assert path[0] == pytest.approx(o, rel=1e-12)
    assert path[-1] == pytest.approx(c, rel=1e-12)
    assert path.max() == pytest.approx(hi, rel=1e-12)
    assert path.min() == pytest.approx(lo, rel=1e-12)


def test_bridge_path_when_high_time_given_then_high_at_that_bar() -> None:
    path = bridge_path(np.random.default_rng(3), 23.0, 65.0, 22.0, 38.0, 79, high_at=0.01)
    assert int(np.argmax(path)) == 1


def _user_bars(cal: TradingCalendar, first: date, last: date) -> tuple[dict[date, DailyBar],
                                                                        dict[date, DailyBar]]:
    rng = np.random.default_rng(5)
    spx: dict[date, DailyBar] = {}
    vix: dict[date, DailyBar] = {}
    level, v = 4500.0, 18.0
    for d in cal.sessions(first, last):
        o = level * (1 + rng.normal(0, 0.003))
        c = o * (1 + rng.normal(0, 0.01))
        spx[d] = DailyBar(d, o, max(o, c) * 1.004, min(o, c) * 0.995, c)
        vc = v * (1 + rng.normal(0, 0.05))
        vix[d] = DailyBar(d, v, max(v, vc) * 1.05, min(v, vc) * 0.97, vc)
        level, v = c, vc
    return spx, vix


def test_model_when_user_data_then_spx_and_vix_paths_hit_each_days_ohlc(
        calendar: TradingCalendar) -> None:
    spx, vix = _user_bars(calendar, date(2021, 11, 1), date(2022, 2, 28))
    sessions = calendar.sessions(START, date(2022, 2, 28))
    m = MarketModel(calendar, sessions, 1, 5, spx=spx, vix=vix)
    assert m.closes("SPX", 300).shape == (300,)
    assert m.closes("SPX", 1)[0] == pytest.approx(spx[date(2021, 12, 31)].close)
    for d in sessions[:10]:
        path = m.day(d)
        s, v = path.series[:, SPX], path.vix
        bar, vbar = spx[d], vix[d]
        assert (s[0], s.max(), s.min(), s[-1]) == pytest.approx(
            (bar.open, bar.high, bar.low, bar.close))
        assert (v[0], v.max(), v.min(), v[-1]) == pytest.approx(
            (vbar.open, vbar.high, vbar.low, vbar.close))
        assert np.all(path.series > 0)
