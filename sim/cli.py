"""Command line of the offline engine: ``python -m sim``.

Exit codes: 0 success; 2 invalid arguments (the message names the argument and the value);
1 invalid user data (:class:`sim.userdata.DataError`, nothing written) or a failed run (no partial
results: the output directory is replaced only after a complete run).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from sim.engine import (
    EARLIEST_START,
    LATEST_END,
    MAX_STEP_MINUTES,
    RunResult,
    RunSpec,
    build_environment,
    calendar_for,
    load_data,
    run,
    sessions_for,
)
from sim.report import build_outputs, text_summary
from sim.scenarios import DEFAULT_SCENARIO, SCENARIOS
from sim.userdata import DataError

DEFAULT_START = date(2022, 1, 3)
DEFAULT_END = date(2023, 12, 29)
DEFAULT_CASH = 100_000.0
DEFAULT_OUT = Path("reports/latest")


def _date(text: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError(text)
        d = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r} (expected YYYY-MM-DD)") \
            from None
    if not EARLIEST_START <= d <= LATEST_END:
        raise argparse.ArgumentTypeError(
            f"date {text} is outside the supported range {EARLIEST_START}..{LATEST_END}")
    return d


def _cash(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid amount {text!r} (expected a number)") \
            from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"amount {text!r} must be a positive finite number")
    return v


def _int_in(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"value {v} is outside {lo}..{hi}")
        return v

    return parse


def _csv_file(text: str) -> Path:
    p = Path(text)
    if not p.is_file():
        raise argparse.ArgumentTypeError(f"file {text!r} does not exist or is not a file")
    return p


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sim",
        description="Offline backtest of the trading system on a synthetic scenario or on a "
                    "daily S&P 500 OHLC file plus a daily VIX file.")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default=None,
                   help=f"named market scenario (default {DEFAULT_SCENARIO})")
    p.add_argument("--underlying-csv", type=_csv_file, default=None,
                   help="daily S&P 500 index OHLC: columns date,open,high,low,close")
    p.add_argument("--vix-csv", type=_csv_file, default=None,
                   help="daily VIX: columns date,close (optionally open,high,low)")
    p.add_argument("--start", type=_date, default=DEFAULT_START,
                   help=f"first day, YYYY-MM-DD (default {DEFAULT_START})")
    p.add_argument("--end", type=_date, default=DEFAULT_END,
                   help=f"last day, YYYY-MM-DD (default {DEFAULT_END})")
    p.add_argument("--cash", type=_cash, default=DEFAULT_CASH,
                   help=f"starting cash in USD (default {DEFAULT_CASH:,.0f})")
    p.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=1,
                   help="random seed of the market model (default 1)")
    p.add_argument("--step-minutes", type=_int_in(1, MAX_STEP_MINUTES), default=5,
                   help="bar step in minutes (default 5)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"output directory, replaced on success (default {DEFAULT_OUT})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def spec_from_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> RunSpec:
    """Cross-argument checks (``p.error`` exits with code 2) and the :class:`RunSpec`."""
    if (args.underlying_csv is None) != (args.vix_csv is None):
        given = "--underlying-csv" if args.underlying_csv is not None else "--vix-csv"
        p.error(f"argument {given}: user data needs both --underlying-csv and --vix-csv")
    if args.underlying_csv is not None and args.scenario is not None:
        p.error(f"argument --scenario: value {args.scenario!r} cannot be combined with "
                "--underlying-csv/--vix-csv")
    if args.start >= args.end:
        p.error(f"argument --end: value {args.end} must be after --start {args.start}")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        p.error(f"argument --out: value {str(out)!r} exists and is not a directory")
    return RunSpec(start=args.start, end=args.end, cash=args.cash, seed=args.seed,
                   step_minutes=args.step_minutes, scenario=args.scenario or DEFAULT_SCENARIO,
                   underlying_csv=args.underlying_csv, vix_csv=args.vix_csv)


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    spec = spec_from_args(p, args)
    out: Path = args.out
    try:
        cal = calendar_for(spec)
        sessions_for(cal, spec)
        data = load_data(spec, cal)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        p.error(f"argument --start/--end: {exc}")
    env = build_environment(spec, cal=cal, data=data)

    def produce(staging: Path) -> RunResult:
        return run(spec, staging / "state", env=env, progress=not args.quiet)

    try:
        _, summ = build_outputs(out, produce)
    except KeyboardInterrupt:
        print("interrupted; no results written", file=sys.stderr)
        return 130
    print(text_summary(summ))
    print(f"\nresults in {out}/ (summary.json, trades.csv, equity.png, report.html)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
