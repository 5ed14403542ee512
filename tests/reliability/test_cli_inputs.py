"""Bad input wherever a user touches ``python -m sim``: configuration parameters, fault options,
the state directory, CSV files. Each gives a message naming what and where, a non-zero exit and no
partial results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sim.cli
import sim.engine
from config.model import Config
from sim.cli import EXIT_SAFE_MODE, main
from sim.engine import Environment
from system.trading_system import STATE_KEY

SHORT = ["--scenario", "calm", "--start", "2022-01-03", "--end", "2022-01-14",
         "--step-minutes", "30", "--quiet"]


def _exit_2(args: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main([*args, "--out", str(out)])
    assert exc.value.code == 2
    assert not out.exists()
    return capsys.readouterr().err


@pytest.mark.parametrize(("param", "names"), [
    ("friday_0dte.short_delta=abc", ["friday_0dte.short_delta", "'abc'", "not a number"]),
    ("sizing.kelly_fraction=1.5", ["sizing.kelly_fraction", "1.5", "range"]),
    ("sizing.max_risk_fraction=nan", ["sizing.max_risk_fraction", "nan"]),
    ("lt112.caps=1,2", ["lt112.caps"]),
    ("no.such.parameter=1", ["no.such.parameter", "unknown parameter"]),
    ("start=2022-01-01", ["'start'", "--start"]),
    ("novalue", ["novalue", "NAME=VALUE"]),
    ("=5", ["'=5'", "NAME=VALUE"]),
])
def test_cli_when_param_invalid_then_exit_2_naming_parameter_and_value(
        param: str, names: list[str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    err = _exit_2([*SHORT, "--param", param], tmp_path / "out", capsys)
    assert "--param" in err
    assert all(n in err for n in names), err


def test_cli_when_param_given_twice_then_exit_2_naming_both_values(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _exit_2([*SHORT, "--param", "breaker.day_loss=0.04", "--param",
                   "breaker.day_loss=0.06"], tmp_path / "out", capsys)
    assert "breaker.day_loss" in err and "'0.04'" in err and "'0.06'" in err


@pytest.mark.parametrize(("args", "names"), [
    (["--faults", "rejections,bogus"], ["--faults", "bogus", "vix_gaps"]),
    (["--faults", "all", "--fault-rate", "1.5"], ["--fault-rate", "1.5"]),
    (["--faults", "all", "--fault-rate", "x"], ["--fault-rate", "'x'"]),
    (["--fault-rate", "0.2"], ["--fault-rate", "0.2", "--faults"]),
    (["--restart-every-days", "0"], ["--restart-every-days", "0"]),
    (["--restart-every-days", "five"], ["--restart-every-days", "five"]),
])
def test_cli_when_fault_or_restart_option_invalid_then_exit_2_naming_it(
        args: list[str], names: list[str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    err = _exit_2([*SHORT, *args], tmp_path / "out", capsys)
    assert all(n in err for n in names), err


def test_cli_when_state_dir_is_a_file_then_exit_2(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state.txt"
    state.write_text("x")
    err = _exit_2([*SHORT, "--state-dir", str(state)], tmp_path / "out", capsys)
    assert "--state-dir" in err and str(state) in err


def test_cli_when_valid_params_then_overlaid_on_the_configuration(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Arrange
    seen: list[Config] = []
    real = sim.engine.build_environment

    def spy(*args: object, **kwargs: object) -> Environment:
        config = kwargs["config"]
        assert isinstance(config, Config)
        seen.append(config)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sim.cli, "build_environment", spy)
    # Act
    code = main([*SHORT, "--param", "breaker.day_loss=0.04", "--param",
                 "friday_0dte.caps=0,0,0,0", "--out", str(tmp_path / "out")])
    # Assert
    assert code == 0
    assert seen[0].breakers.day_loss == 0.04
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["strategies"]["friday_0dte"]["entries"] == 0


@pytest.mark.parametrize("text", [
    '{"format": 1, "ledger": {"positions": [',
    "not json at all",
    '{"format": 99}',
    '{"ledger": {}}',
    '{"format": 1, "ledger": {"positions": "x"}, "working": [], "counters": {}, '
    '"extras": {}, "seen_events": []}',
])
def test_cli_when_state_dir_holds_corrupted_state_then_safe_mode_reported_exit_3(
        text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Arrange
    state = tmp_path / "state"
    state.mkdir()
    (state / f"{STATE_KEY}.txt").write_text(text)
    out = tmp_path / "out"
    # Act
    code = main([*SHORT, "--state-dir", str(state), "--out", str(out)])
    # Assert
    assert code == EXIT_SAFE_MODE
    err = capsys.readouterr().err
    assert str(state / f"{STATE_KEY}.txt") in err and "safe mode" in err
    assert "corrupt-1" in err
    assert (state / f"{STATE_KEY}.corrupt-1.txt").read_text() == text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["risk_events"]["state_corrupt"] == 1
    assert sum(v["entries"] for v in summary["strategies"].values()) == 0


def test_cli_when_faults_and_restarts_then_counted_in_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main([*SHORT, "--scenario", "normal", "--faults", "all", "--fault-rate", "0.2",
                 "--restart-every-days", "2", "--out", str(out)])
    assert code == 0
    events = json.loads((out / "summary.json").read_text())["risk_events"]
    assert events["restarts"] == 4
    assert {f"fault_{n}" for n in ("rejections", "partial_fills", "duplicate_events",
                                   "disconnects", "stale_quotes", "vix_gaps")} <= set(events)
    assert not any(k.startswith("audit_") for k in events)


@pytest.mark.parametrize(("rows", "where"), [
    (["2022-01-03,4700,4720,4690,4705", "2022-01-04,4705,4690,4720,4700"], ", line 3"),
    (["2022-01-03,4700,4720,4690,abc"], ", line 2"),
    (["2022-01-03,4700,4720,4690"], ""),
])
def test_cli_when_csv_bad_then_exit_1_naming_file_and_line_nothing_written(
        rows: list[str], where: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    spx, vix = tmp_path / "spx.csv", tmp_path / "vix.csv"
    spx.write_text("\n".join(["date,open,high,low,close", *rows]) + "\n")
    vix.write_text("date,close\n2022-01-03,17\n2022-01-04,18\n")
    out = tmp_path / "out"
    code = main(["--underlying-csv", str(spx), "--vix-csv", str(vix), "--start", "2022-01-03",
                 "--end", "2022-01-04", "--quiet", "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert f"{spx}{where}" in err
    assert not out.exists()


def test_cli_when_state_file_not_utf8_then_bytes_kept_and_safe_mode_exit_3(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Arrange
    state = tmp_path / "state"
    state.mkdir()
    raw = b'{"format": 1, "ledger": \xff\xfe}'
    (state / f"{STATE_KEY}.txt").write_bytes(raw)
    # Act
    code = main([*SHORT, "--state-dir", str(state), "--out", str(tmp_path / "out")])
    # Assert
    assert code == EXIT_SAFE_MODE
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "unreadable-1" in err
    assert (state / f"{STATE_KEY}.txt.unreadable-1").read_bytes() == raw
