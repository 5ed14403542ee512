"""VIX regime manager: bands, staleness, day open, spike, BP caps and entry permissions (§3)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from config.enums import Phase, Regime, StrategyKey
from risk.vix_regime import VixRegimeManager
from tests.risk.builders import NOW, TODAY, cfg, config_with

K = StrategyKey


def manager_at(vix: float, age_minutes: float = 1.0) -> VixRegimeManager:
    m = VixRegimeManager(cfg())
    m.start_day(TODAY)
    m.update(vix, NOW - timedelta(minutes=age_minutes))
    return m


@pytest.mark.parametrize(("vix", "regime"), [
    (0.0, Regime.CALM), (12.99, Regime.CALM), (13.0, Regime.NORMAL), (17.99, Regime.NORMAL),
    (18.0, Regime.ELEVATED), (24.99, Regime.ELEVATED), (25.0, Regime.HIGH),
    (29.99, Regime.HIGH), (30.0, Regime.CRISIS), (40.0, Regime.CRISIS), (80.0, Regime.CRISIS),
])
def test_regime_when_vix_at_spec_boundary_then_band_of_spec(vix: float, regime: Regime) -> None:
    m = manager_at(vix)

    got = m.regime(NOW)

    assert got is regime


@pytest.mark.parametrize("band", cfg().vix.bands, ids=lambda b: b.regime.name)
def test_regime_when_vix_at_band_lower_then_that_band(band: object) -> None:
    from config.model import RegimeBand
    assert isinstance(band, RegimeBand)
    m = manager_at(band.lower)

    assert m.regime(NOW) is band.regime
    assert m.size_multiplier(NOW) == band.size_multiplier


@pytest.mark.parametrize(("vix", "multiplier"), [
    (12.0, 0.75), (13.0, 1.0), (18.0, 1.0), (25.0, 0.6), (30.0, 0.5), (40.0, 0.5),
])
def test_size_multiplier_when_regime_then_spec_multiplier(vix: float, multiplier: float) -> None:
    assert manager_at(vix).size_multiplier(NOW) == multiplier


@pytest.mark.parametrize("bad", [math.nan, -0.01, -20.0, math.inf])
def test_regime_when_vix_invalid_then_unknown_and_counted(bad: float) -> None:
    m = manager_at(16.0, age_minutes=2)

    m.update(bad, NOW - timedelta(minutes=1))

    assert m.regime(NOW) is Regime.UNKNOWN
    assert m.value(NOW) is None
    assert m.size_multiplier(NOW) == 0.0
    assert m.invalid_updates == 1


def test_regime_when_no_vix_then_unknown_and_entries_rejected() -> None:
    m = VixRegimeManager(cfg())

    verdict = m.allows(K.LT112, NOW)

    assert m.regime(NOW) is Regime.UNKNOWN
    assert verdict is not None and (verdict.check, verdict.reason) == ("regime", "vix_unknown")


@pytest.mark.parametrize(("age", "regime"), [
    (0.0, Regime.NORMAL), (15.0, Regime.NORMAL), (15.01, Regime.UNKNOWN), (60.0, Regime.UNKNOWN),
])
def test_regime_when_vix_aged_then_unknown_only_beyond_stale_minutes(age: float,
                                                                     regime: Regime) -> None:
    assert manager_at(16.0, age_minutes=age).regime(NOW) is regime


def test_update_when_older_than_latest_then_ignored() -> None:
    m = manager_at(16.0, age_minutes=1)

    m.update(35.0, NOW - timedelta(minutes=5))

    assert m.value(NOW) == 16.0


def test_day_open_when_first_valid_update_after_start_day_then_recorded() -> None:
    m = VixRegimeManager(cfg())
    m.start_day(TODAY)

    m.update(math.nan, NOW - timedelta(minutes=3))
    m.update(20.0, NOW - timedelta(minutes=2))
    m.update(21.0, NOW - timedelta(minutes=1))

    assert m.day_open == 20.0


def test_day_open_when_next_day_starts_then_reset_until_first_update() -> None:
    m = manager_at(20.0)
    tomorrow = TODAY + timedelta(days=1)

    m.start_day(tomorrow)
    before = m.day_open
    m.update(18.0, datetime.combine(tomorrow, NOW.time()))

    assert before is None
    assert m.day_open == 18.0


@pytest.mark.parametrize(("now_vix", "spike"), [(22.0, True), (21.99, False), (25.0, True),
                                                (18.0, False)])
def test_spike_when_vix_up_from_open_then_true_from_ten_percent(now_vix: float,
                                                                spike: bool) -> None:
    m = manager_at(20.0, age_minutes=2)

    m.update(now_vix, NOW - timedelta(minutes=1))

    assert m.spike(NOW) is spike


def test_spike_multiplier_when_spike_then_halves_friday_0dte_only() -> None:
    m = manager_at(20.0, age_minutes=2)
    m.update(23.0, NOW - timedelta(minutes=1))

    assert m.spike_multiplier(K.FRIDAY_0DTE, NOW) == 0.5
    assert m.spike_multiplier(K.LT112, NOW) == 1.0


@pytest.mark.parametrize(("vix", "phase", "key", "cap"), [
    (12.0, Phase.P4, K.LT112, 0.45),
    (16.0, Phase.P4, K.LT112, 0.65),
    (16.0, Phase.P1, K.FRIDAY_0DTE, 0.50),
    (20.0, Phase.P4, K.LT112, 0.75),
    (20.0, Phase.P3, K.LT112, 0.75),
    (20.0, Phase.P2, K.LT112, 0.65),
    (27.0, Phase.P4, K.BEAR_TRAP, 0.50),
    (30.0, Phase.P4, K.LT112, 0.80),
    (30.0, Phase.P4, K.LEAP_PUT_LADDER, 0.80),
    (30.0, Phase.P3, K.BEAR_TRAP, 0.75),
    (30.0, Phase.P1, K.LT112, 0.50),
    (30.0, Phase.P4, K.IPMCC, 0.0),
    (30.0, Phase.P4, K.FUTURES_STRANGLE, 0.0),
])
def test_max_bp_when_regime_and_phase_then_smaller_cap(vix: float, phase: Phase,
                                                       key: StrategyKey, cap: float) -> None:
    m = manager_at(vix)

    assert m.max_bp(phase, key, NOW) == pytest.approx(cap)


def test_max_bp_when_vix_stale_then_zero() -> None:
    assert manager_at(16.0, age_minutes=30).max_bp(Phase.P4, K.LT112, NOW) == 0.0


def test_max_bp_when_now_omitted_then_regime_of_latest_print() -> None:
    assert manager_at(20.0).max_bp(Phase.P4, K.LT112) == pytest.approx(0.75)


@pytest.mark.parametrize(("vix", "key", "reason"), [
    (12.0, K.FUTURES_STRANGLE, "regime_forbids"),
    (12.0, K.LT112, None),
    (13.0, K.FUTURES_STRANGLE, None),
    (18.0, K.FUTURES_STRANGLE, None),
    (25.0, K.FUTURES_STRANGLE, "regime_forbids"),
    (25.0, K.FRIDAY_0DTE, None),
    (30.0, K.FRIDAY_0DTE, "regime_forbids"),
    (30.0, K.IPMCC, "regime_forbids"),
    (30.0, K.LT112, None),
    (30.0, K.LEAP_PUT_LADDER, None),
    (30.0, K.BEAR_TRAP, None),
    (40.0, K.BUTTERFLY_0DTE, "regime_forbids"),
])
def test_allows_when_regime_table_then_spec_entries(vix: float, key: StrategyKey,
                                                    reason: str | None) -> None:
    verdict = manager_at(vix).allows(key, NOW)

    assert (None if verdict is None else verdict.reason) == reason


@pytest.mark.parametrize(("vix", "key", "reason"), [
    (39.99, K.FRIDAY_0DTE, None),
    (40.0, K.FRIDAY_0DTE, "vix_too_high"),
    (40.0, K.BUTTERFLY_0DTE, "vix_too_high"),
    (40.0, K.LT112, None),
])
def test_allows_when_vix_at_or_above_0dte_cap_then_0dte_rejected(vix: float, key: StrategyKey,
                                                                 reason: str | None) -> None:
    c = config_with(regime__crisis__allowed="friday_0dte,butterfly_0dte,lt112")
    m = VixRegimeManager(c)
    m.update(vix, NOW)

    verdict = m.allows(key, NOW)

    assert (None if verdict is None else verdict.reason) == reason


def test_start_day_when_called_again_same_day_then_day_open_kept() -> None:
    m = manager_at(20.0, age_minutes=2)

    m.start_day(TODAY)
    m.update(23.0, NOW - timedelta(minutes=1))

    assert m.day_open == 20.0
    assert m.spike(NOW) is True
