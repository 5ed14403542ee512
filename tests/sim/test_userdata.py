"""User data files: every bad input names the file, the line and the problem; the CLI writes
nothing and exits non-zero."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sim.calendar import TradingCalendar
from sim.cli import main
from sim.userdata import DataError, load_underlying, load_user_data, load_vix
from tests.sim.builders import write_csv

HEADER = "date,open,high,low,close"
GOOD = ["2022-01-03,4778.1,4796.6,4758.2,4796.6",
        "2022-01-04,4804.5,4818.6,4774.3,4793.5",
        "2022-01-05,4787.9,4797.7,4699.4,4700.6"]


@pytest.mark.parametrize(("rows", "line", "problem"), [
    (["2022-01-03,4778.1,4796.6,4758.2"], 2, "missing or NaN value in column 'close'"),
    (["03/01/2022,4778.1,4796.6,4758.2,4796.6"], 2, "unparsable date"),
    ([GOOD[0], "2022-01-04,4804.5,nan,4774.3,4793.5"], 3, "missing or NaN value in column 'high'"),
    ([GOOD[0], "2022-01-04,4804.5,abc,4774.3,4793.5"], 3, "is not a number"),
    ([GOOD[0], "2022-01-04,-1,4818.6,4774.3,4793.5"], 3, "non-positive price"),
    ([GOOD[0], "2022-01-04,0,4818.6,4774.3,4793.5"], 3, "non-positive price"),
    ([GOOD[0], "2022-01-04,4804.5,4774.0,4818.6,4793.5"], 3, "high 4774 is below low 4818.6"),
    ([GOOD[0], "2022-01-04,4900.0,4818.6,4774.3,4793.5"], 3, "open 4900 is outside"),
    ([GOOD[0], "2022-01-04,4804.5,4818.6,4774.3,4700.0"], 3, "close 4700 is outside"),
    ([GOOD[1], GOOD[0]], 3, "rows must be sorted by date"),
    ([GOOD[0], GOOD[0]], 3, "duplicate date 2022-01-03 (also on line 2)"),
])
def test_load_underlying_when_bad_row_then_data_error_names_file_and_line(
        tmp_path: Path, rows: list[str], line: int, problem: str) -> None:
    path = write_csv(tmp_path / "spx.csv", HEADER, rows)
    with pytest.raises(DataError) as err:
        load_underlying(path)
    assert err.value.line == line
    assert problem in err.value.problem
    assert str(path) in str(err.value) and f"line {line}" in str(err.value)


def test_load_underlying_when_column_missing_then_data_error_on_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "spx.csv", "date,open,high,close", ["2022-01-03,1,2,1.5"])
    with pytest.raises(DataError) as err:
        load_underlying(path)
    assert err.value.line == 1
    assert "missing column(s) low" in err.value.problem


def test_load_underlying_when_header_case_and_extra_columns_then_parsed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "spx.csv", "Date,Open,High,Low,Close,Adj Close,Volume",
                     [r + ",0,0" for r in GOOD])
    bars = load_underlying(path)
    assert bars[date(2022, 1, 5)].low == pytest.approx(4699.4)


def test_load_underlying_when_file_missing_then_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        load_underlying(tmp_path / "absent.csv")


def test_load_vix_when_only_close_then_open_is_previous_close(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "vix.csv", "date,close", ["2022-01-03,16.6", "2022-01-04,16.9"])
    bars = load_vix(path)
    assert bars[date(2022, 1, 4)].open == pytest.approx(16.6)
    assert bars[date(2022, 1, 4)].high == pytest.approx(16.9)


def test_load_user_data_when_vix_short_of_range_then_data_error(
        tmp_path: Path, calendar: TradingCalendar) -> None:
    spx = write_csv(tmp_path / "spx.csv", HEADER, GOOD)
    vix = write_csv(tmp_path / "vix.csv", "date,close", ["2022-01-03,16.6", "2022-01-04,16.9"])
    sessions = calendar.sessions(date(2022, 1, 3), date(2022, 1, 5))
    with pytest.raises(DataError) as err:
        load_user_data(spx, vix, sessions)
    assert err.value.file == str(vix)
    assert "does not cover the requested range" in err.value.problem


def test_load_user_data_when_row_on_holiday_then_data_error_with_line(
        tmp_path: Path, calendar: TradingCalendar) -> None:
    rows = ["2022-07-01,3800,3830,3780,3825", "2022-07-04,3825,3830,3800,3810",
            "2022-07-05,3810,3835,3750,3831"]
    spx = write_csv(tmp_path / "spx.csv", HEADER, rows)
    vix = write_csv(tmp_path / "vix.csv", "date,close",
                    ["2022-07-01,26.7", "2022-07-05,27.5"])
    sessions = calendar.sessions(date(2022, 7, 1), date(2022, 7, 5))
    with pytest.raises(DataError) as err:
        load_user_data(spx, vix, sessions)
    assert err.value.line == 3
    assert "not an NYSE trading day" in err.value.problem


def test_cli_when_bad_user_data_then_exit_1_and_nothing_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spx = write_csv(tmp_path / "spx.csv", HEADER, [GOOD[0], "2022-01-04,4804.5,nan,4774,4793"])
    vix = write_csv(tmp_path / "vix.csv", "date,close", ["2022-01-03,16.6", "2022-01-04,16.9"])
    out = tmp_path / "reports" / "run"
    code = main(["--underlying-csv", str(spx), "--vix-csv", str(vix), "--start", "2022-01-03",
                 "--end", "2022-01-04", "--out", str(out), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "spx.csv, line 3" in err and "column 'high'" in err
    assert not (tmp_path / "reports").exists()
