"""Chart points, runtime statistics and the smoke algorithm's invariant checks."""

from __future__ import annotations

from datetime import date

import pytest

from config.enums import Regime, StrategyKey
from lean_bridge.reporting import daily_points, runtime_statistics
from lean_bridge.smoke import end_of_run_violations, order_type_violation, parse_strategies
from system.results import DailyRecord, StrategyStats, SystemResults

RECORD = DailyRecord(date(2026, 1, 9), 101_000.0, 0.42, 8_500.0, "-10%/IVx2", 1_000.0,
                     Regime.ELEVATED, 3)


def results(entries: dict[str, int] | None = None) -> SystemResults:
    out = SystemResults()
    for key in StrategyKey:
        out.strategies[key.value] = StrategyStats(entries=(entries or {}).get(key.value, 0))
    return out


def test_daily_points_when_record_then_equity_bp_regime_stress_values() -> None:
    points = {(p.chart, p.series): p.value for p in daily_points(RECORD)}

    assert points[("Equity", "NLV")] == 101_000.0
    assert points[("Buying power", "BP used %")] == pytest.approx(42.0)
    assert points[("Regime", "VIX regime")] == float(Regime.ELEVATED)
    assert points[("Stress", "Worst scenario loss")] == 8_500.0


def test_runtime_statistics_when_days_recorded_then_last_day_shown() -> None:
    res = results({"lt112": 2})
    res.daily.append(RECORD)
    res.skips["lt112"] = {"near_52w_high": 3}

    stats = runtime_statistics(res)

    assert stats["Entries"] == "2"
    assert stats["Skips"] == "3"
    assert stats["Regime"] == "ELEVATED"
    assert stats["Invariant violations"] == "0"


def test_end_of_run_violations_when_clean_run_then_none() -> None:
    res = results({"friday_0dte": 4, "lt112": 1})

    assert end_of_run_violations(res, (StrategyKey.FRIDAY_0DTE, StrategyKey.LT112), []) == []


def test_end_of_run_violations_when_strategy_never_traded_then_reported_with_skips() -> None:
    res = results({"friday_0dte": 4})
    res.skips["lt112"] = {"near_52w_high": 6}

    problems = end_of_run_violations(res, (StrategyKey.LT112,), [])

    assert len(problems) == 1 and "lt112 never traded" in problems[0]
    assert "near_52w_high" in problems[0]


def test_end_of_run_violations_when_invariant_breached_or_legged_then_reported() -> None:
    res = results()
    res.invariants.bp_cap_breaches = 1

    problems = end_of_run_violations(res, (), ["L3 (t): SPXW=+1"])

    assert problems == ["BP cap breaches: 1", "legged combo L3 (t): SPXW=+1"]


def test_order_type_violation_when_combo_or_exempt_then_none_else_message() -> None:
    combos = ("ComboLimit", "ComboMarket")

    assert order_type_violation("ComboLimit", combos, ("OptionExercise",)) is None
    assert order_type_violation("OptionExercise", combos, ("OptionExercise",)) is None
    message = order_type_violation("Market", combos)
    assert message is not None and "Market" in message


def test_parse_strategies_when_list_then_keys_and_unknown_rejected() -> None:
    assert parse_strategies(" lt112, friday_0dte ,") == (StrategyKey.LT112,
                                                        StrategyKey.FRIDAY_0DTE)
    assert parse_strategies("") == ()
    with pytest.raises(ValueError, match="unknown strategy 'lt113'"):
        parse_strategies("lt113")
