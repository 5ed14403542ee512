"""Configuration: defaults build, overrides convert, bad values raise ConfigError naming the key."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from config import ConfigError, Phase, Regime, StrategyKey, load_config
from config.defaults import DEFAULTS
from config.instruments import CATALOGUE, Contract, instrument
from config.universe import GROUP_MEMBERS, ROOTS

ROOT = Path(__file__).resolve().parents[1]


def test_load_config_when_no_parameters_builds_spec_defaults() -> None:
    cfg = load_config()
    bands = cfg.vix.bands
    assert [b.regime for b in bands] == [Regime.CALM, Regime.NORMAL, Regime.ELEVATED,
                                         Regime.HIGH, Regime.CRISIS]
    assert [b.lower for b in bands] == [0.0, 13.0, 18.0, 25.0, 30.0]
    assert math.isinf(bands[-1].upper)
    assert cfg.phases.min_nlv == (0.0, 55_000, 75_000, 95_000)
    assert cfg.strategies.friday_0dte.short.target == 0.16
    assert cfg.strategies.lt112.dte.target == 120
    assert cfg.stress.moves == (-0.10, -0.05, -0.03, 0.03, 0.05)


def test_load_config_when_every_strategy_listed_has_schedule_and_prior() -> None:
    cfg = load_config()
    for key in StrategyKey:
        common = cfg.strategies.common(key)
        assert common.key is key
        assert common.schedules, key
        assert 0 < common.prior.win_rate < 1


def test_kelly_prior_when_butterfly_prior_then_edge_is_zero_or_less() -> None:
    # SPEC §5: butterfly p=0.20, b=5.0 → f* = (1.0 − 0.8)/5 = 0.04; 0DTE p=.85 b=.35 → positive.
    cfg = load_config()
    assert cfg.strategies.butterfly_0dte.common.prior.kelly == pytest.approx(0.04)
    assert cfg.strategies.friday_0dte.common.prior.kelly == pytest.approx((0.85 * 0.35 - 0.15)
                                                                          / 0.35)


def test_load_config_when_parameter_overrides_then_typed_value_used() -> None:
    cfg = load_config({"friday_0dte.short_delta": "0.2", "lt112.target_dte": "115",
                       "stress.max_loss_nlv": "0.25", "brokerage": "interactive_brokers"})
    assert cfg.strategies.friday_0dte.short.target == 0.2
    assert cfg.strategies.lt112.dte.target == 115
    assert cfg.stress.max_loss_nlv == 0.25
    assert cfg.brokerage.value == "interactive_brokers"


def test_load_config_when_callable_source_then_only_known_names_asked() -> None:
    asked: list[str] = []

    def get_parameter(name: str) -> str | None:
        asked.append(name)
        return "0.18" if name == "friday_0dte.short_delta" else None

    cfg = load_config(get_parameter)
    assert cfg.strategies.friday_0dte.short.target == 0.18
    assert set(asked) == set(DEFAULTS)


def test_load_config_when_shell_parameters_present_then_ignored() -> None:
    cfg = load_config({"start": "2024-01-01", "end": "2024-06-01", "cash": "100000"})
    assert cfg.phases.min_nlv[1] == 55_000


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"no_such_parameter": "1"}, "unknown parameter 'no_such_parameter'"),
        ({"friday_0dte.short_delta": "abc"}, "'friday_0dte.short_delta': value 'abc' is not a"),
        ({"friday_0dte.short_delta": "1.5"}, "friday_0dte.short_delta: value 1.5"),
        ({"friday_0dte.short_delta": "0"}, "friday_0dte.short_delta: value 0.0"),
        ({"friday_0dte.short_delta_min": "0.17"}, "must lie inside"),
        ({"lt112.target_dte": "-5"}, "lt112.target_dte: value -5"),
        ({"lt112.dte_min": "-1"}, "lt112.dte_min: value -1"),
        ({"lt112.target_dte": "12.5"}, "is not an integer"),
        ({"regime.normal.lower": "12"}, "overlap"),
        ({"regime.normal.lower": "14"}, "leave a gap"),
        ({"regime.calm.lower": "1"}, "bands cover [0, inf)"),
        ({"regime.crisis.upper": "90"}, "bands cover [0, inf)"),
        ({"regime.high.allowed": "lt112,zero_dte"}, "'zero_dte' is not a strategy key"),
        ({"breaker.halted.drawdown": "0.25"}, "must increase"),
        ({"breaker.reduced.rearm": "0.12"}, "must be below breaker.reduced.drawdown"),
        ({"friday_0dte.time": "25:00"}, "not a time HH:MM"),
        ({"stress.moves": "-0.1,x"}, "comma-separated list of numbers"),
        ({"friday_0dte.caps": "1,2,3"}, "exactly 4"),
        ({"brokerage": "robinhood"}, "brokerage: value 'robinhood'"),
        ({"stress.max_loss_nlv": "nan"}, "finite"),
        ({"phase.3.min_nlv": "50000"}, "strictly increasing"),
        ({"leap_put_ladder.week_deltas": "0.12,0.13,0.2,0.12,0.12"}, "5 deltas inside"),
    ],
)
def test_load_config_when_value_invalid_then_config_error_names_key_and_value(
    params: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(params)
    assert fragment in str(err.value)


def test_load_config_when_non_string_value_then_config_error() -> None:
    with pytest.raises(ConfigError, match="must be a string"):
        load_config({"lt112.target_dte": 120})  # type: ignore[dict-item]


def test_catalogue_when_looked_up_then_spec_multipliers() -> None:
    assert instrument("ES").multiplier == 50
    assert instrument("MES").multiplier == 5
    assert instrument("SPXW").underlying == "SPX"
    assert instrument("CL").strike_step == 0.5
    with pytest.raises(KeyError, match="unknown root 'XYZ'"):
        instrument("XYZ")


def test_catalogue_when_lean_engine_then_no_weekly_futures_options_or_micro_options() -> None:
    from config.enums import Engine, ExpiryKind

    assert not instrument("ES").supports(Engine.LEAN, ExpiryKind.WEEKLY)
    assert instrument("ES").supports(Engine.LEAN, ExpiryKind.QUARTERLY)
    assert instrument("ES").supports(Engine.OFFLINE, ExpiryKind.DAILY)
    assert not instrument("MES").supports(Engine.LEAN)
    assert instrument("SPXW").supports(Engine.LEAN, ExpiryKind.DAILY)


def test_universe_when_any_strategy_root_then_in_catalogue_and_in_a_group() -> None:
    members = {m for ms in GROUP_MEMBERS.values() for m in ms}
    for by_phase in ROOTS.values():
        for roots in by_phase.values():
            for root in roots:
                assert root in CATALOGUE
                assert instrument(root).underlying in members


def test_contract_when_symbol_round_trips_then_equal() -> None:
    from datetime import date

    from config import Right

    c = Contract("ES", date(2026, 3, 20), 5000.0, Right.PUT)
    assert Contract.parse(c.symbol) == c
    assert c.symbol == "ES 2026-03-20 P 5000"
    with pytest.raises(ValueError, match="option strike"):
        Contract("ES", date(2026, 3, 20), 0.0, Right.CALL)


def test_contract_when_equal_then_same_hash_and_replace_rehashes() -> None:
    import dataclasses
    from datetime import date

    from config import Right

    a = Contract("ES", date(2026, 3, 20), 5000.0, Right.PUT)
    b = Contract("ES", date(2026, 3, 20), 5000.0, Right.PUT)
    moved = dataclasses.replace(a, strike=4995.0)

    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert moved != a and moved == Contract("ES", date(2026, 3, 20), 4995.0, Right.PUT)
    assert hash(moved) == hash(Contract("ES", date(2026, 3, 20), 4995.0, Right.PUT))
    assert "_hash" not in repr(a)


def test_phase_caps_when_lt112_then_locked_in_phase_one() -> None:
    cfg = load_config()
    assert cfg.strategies.lt112.common.cap(Phase.P1) == 0
    assert cfg.strategies.lt112.common.cap(Phase.P4) == 4


# --- "every number from SPEC.md lives once, in config/" -------------------------------------

_SPEC_NUMBERS = [
    # thresholds that must never be restated outside config/ (as literals in code)
    "55_000", "55000", "75_000", "75000", "95_000", "95000", "40_000", "40000",
    "0.16", "0.85", "0.35", "0.45", "0.65", "0.75", "0.95",
]
_CODE_DIRS = ["greeks", "risk", "strategies", "execution", "system", "lean_bridge"]


def _code_files() -> list[Path]:
    files = [ROOT / "main.py"] if (ROOT / "main.py").exists() else []
    for d in _CODE_DIRS:
        files.extend(sorted((ROOT / d).rglob("*.py")))
    return files


def test_spec_thresholds_when_searching_core_code_then_only_config_has_them() -> None:
    offenders = []
    for path in _code_files():
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for num in _SPEC_NUMBERS:
                if re.search(rf"(?<![\w.]){re.escape(num)}(?![\w])", code):
                    offenders.append(f"{path.relative_to(ROOT)}:{lineno}: {num}")
    assert offenders == []
