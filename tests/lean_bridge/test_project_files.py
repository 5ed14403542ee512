"""config.json, lean_smoke/config.json and lean.json: valid, and config.json's parameters are the
configuration defaults (as strings)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from config import load_config
from config.defaults import DEFAULTS
from config.loader import SHELL_PARAMETERS
from lean_bridge.shell import SHELL_DEFAULTS, core_parameters, shell_settings
from lean_bridge.smoke import parse_strategies

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / "config.json").read_text())
SMOKE = json.loads((ROOT / "lean_smoke" / "config.json").read_text())
TUNABLES = {
    "brokerage", "friday_0dte.short_delta", "friday_0dte.wing_points", "lt112.target_dte",
    "stress.max_loss_nlv", "exits.default_profit_target", "friday_0dte.profit_target",
    "futures_strangle.profit_target", "leap_put_ladder.profit_target",
    "bear_trap.profit_target", "butterfly_0dte.profit_target", "lt112.naked_profit_target",
} | {f"regime.{r}.max_bp" for r in ("calm", "normal", "elevated", "high", "crisis")}


def test_config_json_when_read_then_python_project_with_string_parameters() -> None:
    params = CONFIG["parameters"]

    assert CONFIG["algorithm-language"] == "Python"
    assert all(isinstance(v, str) for v in params.values())
    assert set(params) >= TUNABLES | SHELL_PARAMETERS


def test_config_json_when_loaded_then_every_parameter_equals_its_default() -> None:
    params = CONFIG["parameters"]

    cfg = load_config(core_parameters(params))

    for name in core_parameters(params):
        assert cfg.values[name] == DEFAULTS[name], name


def test_config_json_when_shell_parameters_then_same_as_shell_defaults() -> None:
    assert {k: CONFIG["parameters"][k] for k in SHELL_DEFAULTS} == SHELL_DEFAULTS


def test_smoke_config_when_read_then_loads_and_expects_known_strategies() -> None:
    params = SMOKE["parameters"]

    shell = shell_settings(params)
    load_config(core_parameters(params, SHELL_PARAMETERS | {"expect_trades"}))

    assert shell.start < shell.end
    assert parse_strategies(params["expect_trades"])


def test_lean_json_when_read_then_workspace_with_data_folder_and_backtesting() -> None:
    lean = json.loads((ROOT / "lean.json").read_text())

    assert lean["data-folder"] == "data"
    assert lean["environments"]["backtesting"]["live-mode"] is False


@pytest.mark.parametrize("text", [
    "python -m lean_bridge.export", "lean backtest", "lean cloud backtest", "lean optimize",
    "--brokerage Tastytrade", '--brokerage "Interactive Brokers"', "Paper Trading", "SPXW",
])
def test_lean_doc_when_read_then_documents_the_commands(text: str) -> None:
    assert text in (ROOT / "docs" / "LEAN.md").read_text()


def _calls(path: Path, name: str) -> list[int]:
    tree = ast.parse(path.read_text())
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == name]


@pytest.mark.parametrize("name", ["liquidate", "market_order", "limit_order",
                                  "combo_leg_limit_order"])
def test_lean_code_when_scanned_then_never_sends_single_leg_or_liquidating_orders(
        name: str) -> None:
    files = [ROOT / "main.py", ROOT / "lean_smoke" / "main.py",
             *sorted((ROOT / "lean_bridge").glob("*.py"))]

    assert {str(p.relative_to(ROOT)): _calls(p, name) for p in files if _calls(p, name)} == {}
