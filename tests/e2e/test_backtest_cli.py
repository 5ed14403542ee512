"""The offline backtest end to end through its CLI: outputs, determinism, invariants."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--start", "2022-01-03", "--end", "2022-03-31", "--cash", "100000", "--seed", "3",
        "--step-minutes", "15"]
SUMMARY_KEYS = {"start", "end", "starting_equity", "final_equity", "total_return", "cagr",
                "max_drawdown", "sharpe", "sortino", "trades", "win_rate", "strategies", "skips",
                "rejections", "risk_events", "invariants", "runtime_seconds", "steps"}
TRADE_COLUMNS = ["position_id", "strategy", "root", "structure", "entry_time", "exit_time",
                 "expiry", "dte_at_entry", "contracts", "legs", "deltas", "entry_price",
                 "exit_price", "pnl", "fees", "slippage", "exit_reason"]


def run_sim(out: Path, *extra: str, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.run([sys.executable, "-m", "sim", *ARGS, *extra, "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bt") / "a"
    proc = run_sim(out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_backtest_when_run_then_writes_the_four_outputs_with_spec_columns(
        first_run: Path) -> None:
    summary = json.loads((first_run / "summary.json").read_text())
    assert set(summary) >= SUMMARY_KEYS
    with (first_run / "trades.csv").open() as f:
        header = next(csv.reader(f))
    assert header == TRADE_COLUMNS
    assert (first_run / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (first_run / "report.html").read_text()
    assert "friday_0dte" in html and "<table" in html


def test_backtest_when_run_then_invariants_hold_and_every_strategy_accounted(
        first_run: Path) -> None:
    summary = json.loads((first_run / "summary.json").read_text())
    inv = summary["invariants"]
    assert inv["naked_short_legs_opened"] == 0
    assert inv["orders_legged"] == 0
    assert inv["group_limit_breaches"] == 0
    assert inv["bp_cap_breaches"] == 0
    assert summary["trades"] > 0
    for key in ("friday_0dte", "lt112", "futures_strangle", "ipmcc", "leap_put_ladder",
                "bear_trap", "butterfly_0dte"):
        traded = summary["strategies"][key]["entries"] > 0
        explained = bool(summary["skips"].get(key)) or traded
        assert explained, f"{key} neither traded nor reported a skip reason"


def test_backtest_when_repeated_with_other_hash_seed_then_same_summary(
        first_run: Path, tmp_path: Path) -> None:
    proc = run_sim(tmp_path / "b", hash_seed="12345")
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = json.loads((first_run / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    a.pop("runtime_seconds")
    b.pop("runtime_seconds")
    assert a == b
    assert (first_run / "trades.csv").read_text() == (tmp_path / "b" / "trades.csv").read_text()


def test_backtest_when_scenario_unknown_then_exit_2_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "bad"
    proc = run_sim(out, "--scenario", "nosuch")
    assert proc.returncode == 2
    assert "nosuch" in proc.stderr
    assert not out.exists()
