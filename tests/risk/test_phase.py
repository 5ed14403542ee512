"""Phase manager: thresholds, hysteresis, once-per-day evaluation, access and the 0DTE root (§1)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from config.enums import Engine, Phase, StrategyKey
from risk.phase import PhaseManager
from tests.risk.builders import TODAY, cfg, config_with

K = StrategyKey


def day(n: int) -> object:
    return TODAY + timedelta(days=n)


def evaluated(*nlvs: float) -> PhaseManager:
    m = PhaseManager(cfg())
    for i, nlv in enumerate(nlvs):
        m.evaluate(nlv, TODAY + timedelta(days=i))
    return m


@pytest.mark.parametrize(("nlv", "phase"), [
    (0.0, Phase.P1), (39_999.0, Phase.P1), (54_999.99, Phase.P1), (55_000.0, Phase.P2),
    (74_999.99, Phase.P2), (75_000.0, Phase.P3), (94_999.99, Phase.P3), (95_000.0, Phase.P4),
    (1_000_000.0, Phase.P4),
])
def test_evaluate_when_first_call_then_phase_set_directly(nlv: float, phase: Phase) -> None:
    m = PhaseManager(cfg())

    got = m.evaluate(nlv, TODAY)

    assert got is phase


@pytest.mark.parametrize(("start", "nlv", "phase"), [
    (60_000.0, 52_250.0, Phase.P2),      # 55,000 × 0.95 exactly: stays
    (60_000.0, 52_249.99, Phase.P1),
    (80_000.0, 71_250.0, Phase.P3),      # 75,000 × 0.95
    (80_000.0, 71_249.99, Phase.P2),
    (100_000.0, 90_250.0, Phase.P4),     # 95,000 × 0.95
    (100_000.0, 90_249.99, Phase.P3),
    (100_000.0, 94_000.0, Phase.P4),     # inside the band: no change
    (100_000.0, 50_000.0, Phase.P1),     # several phases at once
])
def test_evaluate_when_nlv_falls_then_down_only_below_threshold_times_hysteresis(
        start: float, nlv: float, phase: Phase) -> None:
    m = evaluated(start)

    got = m.evaluate(nlv, TODAY + timedelta(days=1))

    assert got is phase


@pytest.mark.parametrize(("start", "nlv", "phase"), [
    (50_000.0, 54_999.99, Phase.P1), (50_000.0, 55_000.0, Phase.P2),
    (53_000.0, 75_000.0, Phase.P3), (53_000.0, 95_000.0, Phase.P4),
])
def test_evaluate_when_nlv_rises_then_up_at_threshold(start: float, nlv: float,
                                                      phase: Phase) -> None:
    m = evaluated(start)

    assert m.evaluate(nlv, TODAY + timedelta(days=1)) is phase


def test_evaluate_when_called_twice_same_day_then_stored_phase() -> None:
    m = PhaseManager(cfg())
    m.evaluate(60_000.0, TODAY)

    got = m.evaluate(200_000.0, TODAY)

    assert got is Phase.P2
    assert m.evaluate(200_000.0, TODAY + timedelta(days=1)) is Phase.P4


@pytest.mark.parametrize("bad", [math.nan, -1.0, math.inf, -math.inf])
def test_evaluate_when_nlv_invalid_then_previous_phase_kept_and_reported(bad: float) -> None:
    m = evaluated(80_000.0)

    got = m.evaluate(bad, TODAY + timedelta(days=1))

    assert got is Phase.P3
    assert m.invalid_nlv == 1 and m.last_issue == "invalid_nlv"


def test_evaluate_when_first_nlv_invalid_then_phase_one_and_later_valid_same_day_applies() -> None:
    m = PhaseManager(cfg())

    first = m.evaluate(math.nan, TODAY)
    second = m.evaluate(80_000.0, TODAY)

    assert first is Phase.P1
    assert second is Phase.P3


@pytest.mark.parametrize("key", list(StrategyKey))
@pytest.mark.parametrize("phase", list(Phase))
def test_allows_when_phase_below_min_phase_then_rejected(key: StrategyKey, phase: Phase) -> None:
    common = cfg().strategies.common(key)
    m = PhaseManager(cfg())

    verdict = m.allows(key, phase)

    if phase < common.min_phase:
        assert verdict is not None and (verdict.check, verdict.reason) == ("phase",
                                                                           "below_min_phase")
    elif common.cap(phase) == 0:
        assert verdict is not None and verdict.reason == "zero_cap"
    else:
        assert verdict is None


@pytest.mark.parametrize(("key", "phase", "reason"), [
    (K.LT112, Phase.P1, "below_min_phase"), (K.LT112, Phase.P2, None),
    (K.LEAP_PUT_LADDER, Phase.P1, "below_min_phase"), (K.BEAR_TRAP, Phase.P2, "below_min_phase"),
    (K.BEAR_TRAP, Phase.P3, None), (K.BUTTERFLY_0DTE, Phase.P2, "below_min_phase"),
    (K.FRIDAY_0DTE, Phase.P1, None), (K.FUTURES_STRANGLE, Phase.P1, None),
])
def test_allows_when_spec_unlock_table_then_matches(key: StrategyKey, phase: Phase,
                                                    reason: str | None) -> None:
    verdict = PhaseManager(cfg()).allows(key, phase)

    assert (None if verdict is None else verdict.reason) == reason


def test_allows_when_cap_zero_in_unlocked_phase_then_zero_cap() -> None:
    m = PhaseManager(config_with(lt112__caps="0,0,2,4"))

    verdict = m.allows(K.LT112, Phase.P2)

    assert verdict is not None and verdict.reason == "zero_cap"


def test_allows_when_no_phase_given_then_stored_phase_used() -> None:
    m = evaluated(60_000.0)

    assert m.allows(K.LT112) is None
    assert m.allows(K.BEAR_TRAP) is not None


@pytest.mark.parametrize(("nlv", "engine", "root"), [
    (39_999.99, Engine.OFFLINE, "MES"), (40_000.0, Engine.OFFLINE, "ES"),
    (100_000.0, Engine.OFFLINE, "ES"), (math.nan, Engine.OFFLINE, "MES"),
    (39_999.99, Engine.LEAN, "SPXW"), (100_000.0, Engine.LEAN, "SPXW"),
])
def test_zero_dte_root_when_nlv_and_engine_then_catalogue_root(nlv: float, engine: Engine,
                                                               root: str) -> None:
    m = evaluated(100_000.0)

    assert m.zero_dte_root(nlv, engine) == root
