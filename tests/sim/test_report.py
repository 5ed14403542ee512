"""Report writer on hand-built results: summary keys, CSV columns, HTML tables."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from sim.engine import RunResult, RunSpec
from sim.report import (
    OUTPUT_FILES,
    SUMMARY_KEYS,
    TRADE_COLUMNS,
    build_outputs,
    summary,
    text_summary,
    write_report,
)
from tests.sim.builders import sample_results

EXPECTED_COLUMNS = ("position_id,strategy,root,structure,entry_time,exit_time,expiry,"
                    "dte_at_entry,contracts,legs,deltas,entry_price,exit_price,pnl,fees,"
                    "slippage,exit_reason")


def _result() -> RunResult:
    spec = RunSpec(date(2022, 1, 3), date(2022, 1, 7))
    equity = ((date(2022, 1, 3), 100_000.0), (date(2022, 1, 4), 100_500.0),
              (date(2022, 1, 5), 99_000.0), (date(2022, 1, 6), 101_000.0),
              (date(2022, 1, 7), 101_500.0))
    market = tuple((d, 4700.0 + i, 17.0 + i) for i, (d, _) in enumerate(equity))
    return RunResult(spec=spec, results=sample_results(), equity=equity, steps=395,
                     runtime_seconds=1.5, system_seconds=1.0, starting_equity=100_000.0,
                     final_equity=101_500.0, fees_paid=17.5, shock_days=(), market=market,
                     log=("ORDER x", "ENTRY y"))


def test_summary_when_results_then_every_key_present_and_metrics_finite() -> None:
    s = summary(_result())
    assert set(SUMMARY_KEYS) <= set(s)
    assert s["total_return"] == pytest.approx(0.015)
    assert s["max_drawdown"] == pytest.approx(1 - 99_000 / 100_500)
    assert s["trades"] == 2 and s["win_rate"] == pytest.approx(0.5)
    assert isinstance(s["sharpe"], float) and isinstance(s["cagr"], float)
    strategies = s["strategies"]
    assert isinstance(strategies, dict)
    assert strategies["lt112"]["losses"] == 1 and strategies["ipmcc"]["entries"] == 0
    assert set(strategies["friday_0dte"]) == {"entries", "exits", "wins", "losses", "win_rate",
                                              "pnl", "avg_days_held", "fees", "slippage"}
    inv = s["invariants"]
    assert isinstance(inv, dict)
    assert {"naked_short_legs_opened", "orders_legged", "max_bp_utilization",
            "max_positions_per_group"} <= set(inv)


def test_write_report_when_called_then_files_and_exact_csv_columns(tmp_path: Path) -> None:
    write_report(_result(), tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= set(OUTPUT_FILES)
    with (tmp_path / "trades.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert ",".join(rows[0]) == EXPECTED_COLUMNS == ",".join(TRADE_COLUMNS)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["entry_time"] == "2022-01-07T10:30:00-05:00"
    assert first["legs"] == "1:P:4500:2022-01-07;-1:P:4530:2022-01-07;-1:C:4700:2022-01-07;" \
                            "1:C:4730:2022-01-07"
    assert first["deltas"] == "-0.0500;0.1600;-0.1600;0.0500"
    loaded = json.loads((tmp_path / "summary.json").read_text())
    assert set(SUMMARY_KEYS) <= set(loaded)
    assert (tmp_path / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_html_when_written_then_tables_and_embedded_charts(tmp_path: Path) -> None:
    write_report(_result(), tmp_path)
    page = (tmp_path / "report.html").read_text()
    for text in ("<h2>Strategies</h2>", "friday_0dte", "no_strike_in_range",
                 "worst_loss_above_limit", "breaker_reduced", "Daily stress check",
                 "data:image/png;base64,", "predicted worst loss"):
        assert text in page
    assert page.count("<table>") >= 6


def test_build_outputs_when_run_fails_then_target_untouched_and_no_staging_left(
        tmp_path: Path) -> None:
    out = tmp_path / "latest"
    out.mkdir()
    (out / "keep.txt").write_text("old")

    def boom(_staging: Path) -> RunResult:
        raise RuntimeError("run failed")

    with pytest.raises(RuntimeError):
        build_outputs(out, boom)
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]
    assert (out / "keep.txt").read_text() == "old"


def test_build_outputs_when_run_succeeds_then_target_replaced(tmp_path: Path) -> None:
    out = tmp_path / "latest"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    build_outputs(out, lambda _staging: _result())
    assert not (out / "stale.txt").exists()
    assert (out / "summary.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]


def test_text_summary_when_rendered_then_headline_and_strategy_rows() -> None:
    text = text_summary(summary(_result()))
    assert "total return" in text and "1.50%" in text
    assert "lt112" in text and "friday_0dte" in text
