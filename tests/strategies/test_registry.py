"""build_strategies: one strategy per key with the configured schedules."""

from __future__ import annotations

from config.enums import StrategyKey
from strategies.registry import build_strategies
from strategies.types import Strategy
from tests.strategies.builders import CFG


def test_build_strategies_when_default_config_has_one_per_key_in_order() -> None:
    strategies: tuple[Strategy, ...] = build_strategies(CFG)

    assert [s.key for s in strategies] == list(StrategyKey)


def test_schedules_when_built_are_the_configured_rules() -> None:
    rules = {s.key: [x.rule for x in s.schedules()] for s in build_strategies(CFG)}

    assert rules == {
        StrategyKey.FRIDAY_0DTE: ["friday_0dte.entry"],
        StrategyKey.LT112: ["lt112.entry", "lt112.entry_extra"],
        StrategyKey.FUTURES_STRANGLE: ["futures_strangle.entry"],
        StrategyKey.IPMCC: ["ipmcc.entry", "ipmcc.call"],
        StrategyKey.LEAP_PUT_LADDER: ["leap_put_ladder.entry"],
        StrategyKey.BEAR_TRAP: ["bear_trap.entry"],
        StrategyKey.BUTTERFLY_0DTE: ["butterfly_0dte.baseline", "butterfly_0dte.entry"],
    }
    for s in build_strategies(CFG):
        assert s.schedules() == CFG.strategies.common(s.key).schedules


def test_build_strategies_when_called_twice_gives_fresh_state() -> None:
    a, b = build_strategies(CFG), build_strategies(CFG)

    assert all(x is not y for x, y in zip(a, b, strict=True))
