"""User data: a daily S&P 500 OHLC file and a daily VIX file, validated line by line.

``--underlying-csv``: columns ``date,open,high,low,close`` (S&P 500 index level; other columns
ignored, names case-insensitive). ``--vix-csv``: ``date,close`` and optionally ``open,high,low``
(a missing open is the previous close, a missing high/low the larger/smaller of open and close).
Dates are ``YYYY-MM-DD``, strictly increasing. Every problem raises :class:`DataError` naming the
file, the line (1 = header) and the problem. Both files must have a row for every NYSE session of
the requested range; rows before the start are used as daily history.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sim.model import DailyBar


class DataError(ValueError):
    """A problem in a user data file. ``line`` is 1-based (the header is line 1); None when the
    problem concerns the file as a whole."""

    def __init__(self, file: Path | str, line: int | None, problem: str) -> None:
        self.file = str(file)
        self.line = line
        self.problem = problem
        where = f"{self.file}, line {line}" if line is not None else self.file
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class UserData:
    """Validated daily bars by date (S&P 500 index level, VIX points)."""

    spx: dict[date, DailyBar]
    vix: dict[date, DailyBar]


def _parse_date(path: Path, line: int, text: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise DataError(path, line, f"unparsable date {text!r} (expected YYYY-MM-DD)") from None


def _parse_price(path: Path, line: int, column: str, text: str) -> float:
    if text == "" or text.lower() in {"nan", "na", "n/a", "null", "none"}:
        raise DataError(path, line, f"missing or NaN value in column {column!r}")
    try:
        value = float(text)
    except ValueError:
        raise DataError(path, line, f"value {text!r} in column {column!r} is not a number") \
            from None
    if math.isnan(value):
        raise DataError(path, line, f"missing or NaN value in column {column!r}")
    if not math.isfinite(value):
        raise DataError(path, line, f"value {text!r} in column {column!r} is not finite")
    if value <= 0:
        raise DataError(path, line, f"non-positive price {text} in column {column!r}")
    return value


def _read(path: Path, required: tuple[str, ...],
          optional: tuple[str, ...]) -> list[tuple[int, date, dict[str, float]]]:
    """Rows as (line, date, {column: value}) with the columns present, validated per row."""
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(path, None, "empty file; expected a header line with columns "
                            f"{', '.join(required)}") from None
        except csv.Error as exc:
            raise DataError(path, 1, f"malformed CSV: {exc}") from None
        names = [h.strip().lower() for h in header]
        missing = [c for c in required if c not in names]
        if missing:
            raise DataError(path, 1, f"missing column(s) {', '.join(missing)}; the header has "
                            f"{', '.join(h.strip() for h in header) or 'no columns'}")
        cols = {c: names.index(c) for c in (*required, *optional) if c in names}
        rows: list[tuple[int, date, dict[str, float]]] = []
        seen: dict[date, int] = {}
        try:
            for cells in reader:
                line = reader.line_num
                if not cells or all(not c.strip() for c in cells):
                    continue
                if len(cells) < len(names):
                    cells = cells + [""] * (len(names) - len(cells))
                day = _parse_date(path, line, cells[cols["date"]].strip())
                values = {c: _parse_price(path, line, c, cells[i].strip())
                          for c, i in cols.items() if c != "date"}
                if day in seen:
                    raise DataError(path, line,
                                    f"duplicate date {day} (also on line {seen[day]})")
                if rows and day < rows[-1][1]:
                    raise DataError(path, line, f"date {day} is before the previous row's date "
                                    f"{rows[-1][1]}; rows must be sorted by date")
                seen[day] = line
                rows.append((line, day, values))
        except csv.Error as exc:
            raise DataError(path, reader.line_num, f"malformed CSV: {exc}") from None
    if not rows:
        raise DataError(path, None, "no data rows after the header")
    return rows


def _bar(path: Path, line: int, day: date, o: float, h: float, lo: float, c: float) -> DailyBar:
    if h < lo:
        raise DataError(path, line, f"high {h:g} is below low {lo:g}")
    for name, v in (("open", o), ("close", c)):
        if not lo <= v <= h:
            raise DataError(path, line, f"{name} {v:g} is outside [low {lo:g}, high {h:g}]")
    return DailyBar(day, o, h, lo, c)


def load_underlying(path: Path | str) -> dict[date, DailyBar]:
    """Validated daily S&P 500 bars from ``path``."""
    p = Path(path)
    rows = _read(p, ("date", "open", "high", "low", "close"), ())
    return {d: _bar(p, line, d, v["open"], v["high"], v["low"], v["close"])
            for line, d, v in rows}


def load_vix(path: Path | str) -> dict[date, DailyBar]:
    """Validated daily VIX bars from ``path`` (open/high/low optional)."""
    p = Path(path)
    rows = _read(p, ("date", "close"), ("open", "high", "low"))
    out: dict[date, DailyBar] = {}
    prev_close: float | None = None
    for line, d, v in rows:
        c = v["close"]
        o = v.get("open", prev_close if prev_close is not None else c)
        h = v.get("high", max(o, c))
        lo = v.get("low", min(o, c))
        out[d] = _bar(p, line, d, o, h, lo, c)
        prev_close = c
    return out


def _check_cover(path: Path, bars: dict[date, DailyBar], sessions: tuple[date, ...],
                 what: str, lines: dict[date, int] | None = None) -> None:
    first, last = min(bars), max(bars)
    if first > sessions[0] or last < sessions[-1]:
        raise DataError(path, None, f"{what} data covers {first}..{last}, which does not cover "
                        f"the requested range {sessions[0]}..{sessions[-1]}")
    wanted = set(sessions)
    for d in sessions:
        if d not in bars:
            raise DataError(path, None, f"no row for NYSE trading day {d} inside the requested "
                            f"range {sessions[0]}..{sessions[-1]}")
    for d in bars:
        if sessions[0] <= d <= sessions[-1] and d not in wanted:
            line = lines.get(d) if lines else None
            raise DataError(path, line, f"date {d} is not an NYSE trading day")


def _lines(path: Path) -> dict[date, int]:
    out: dict[date, int] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader)]
        i = header.index("date")
        for cells in reader:
            if cells and len(cells) > i:
                try:
                    out[date.fromisoformat(cells[i].strip())] = reader.line_num
                except ValueError:
                    continue
    return out


def load_user_data(underlying: Path | str, vix: Path | str,
                   sessions: tuple[date, ...]) -> UserData:
    """Both files, validated and checked to cover every session of ``sessions``."""
    if not sessions:
        raise ValueError("no sessions requested")
    up, vp = Path(underlying), Path(vix)
    spx = load_underlying(up)
    vx = load_vix(vp)
    _check_cover(up, spx, sessions, "S&P 500", _lines(up))
    _check_cover(vp, vx, sessions, "VIX", _lines(vp))
    return UserData(spx, vx)
