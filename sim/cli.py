"""Command line of the offline engine: ``python -m sim``.

Exit codes: 0 success; 2 invalid arguments, including configuration parameters given with
``--param`` (the message names the argument, the parameter and the value); 1 invalid user data
(:class:`sim.userdata.DataError`, nothing written) or a failed run (no partial results: the output
directory is replaced only after a complete run); 3 the run completed in safe mode because the
stored state in ``--state-dir`` was unusable (the results are complete and written; the message
names the state file, the problem and where the bad copy was kept).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from config import load_config
from config.loader import SHELL_PARAMETERS
from config.model import Config, ConfigError
from sim.engine import (
    EARLIEST_START,
    LATEST_END,
    MAX_RESTART_DAYS,
    MAX_STEP_MINUTES,
    RunResult,
    RunSpec,
    build_environment,
    calendar_for,
    load_data,
    run,
    sessions_for,
)
from sim.faults import Fault, fault_names, parse_faults
from sim.report import build_outputs, text_summary
from sim.scenarios import DEFAULT_SCENARIO, SCENARIOS
from sim.store import FileStore
from sim.userdata import DataError
from system.trading_system import STATE_KEY

DEFAULT_START = date(2022, 1, 3)
DEFAULT_END = date(2023, 12, 29)
DEFAULT_CASH = 100_000.0
DEFAULT_OUT = Path("reports/latest")
DEFAULT_FAULT_RATE = 0.02
EXIT_SAFE_MODE = 3


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


def _faults(text: str) -> frozenset[Fault]:
    try:
        return parse_faults(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _rate(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid rate {text!r} (expected a number in [0, 1])") \
            from None
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise argparse.ArgumentTypeError(f"rate {text!r} must be a number in [0, 1]")
    return v


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"invalid parameter {text!r} (expected NAME=VALUE)")
    return name.strip(), value


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
    p.add_argument("--param", type=_param, action="append", default=[], metavar="NAME=VALUE",
                   help="override a configuration parameter as a LEAN project parameter does "
                        "(repeatable; names are the keys of config.defaults.DEFAULTS)")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="directory of the system's stored state (default: state/ inside the "
                        "output); stored state found there is loaded and reconciled")
    p.add_argument("--faults", type=_faults, default=None, metavar="NAME[,NAME]",
                   help=f"inject faults: {', '.join(fault_names())}")
    p.add_argument("--fault-rate", type=_rate, default=None, metavar="P",
                   help=f"probability per opportunity of each fault (default "
                        f"{DEFAULT_FAULT_RATE})")
    p.add_argument("--restart-every-days", type=_int_in(1, MAX_RESTART_DAYS), default=0,
                   metavar="N", help="crash and restart the trading system every N trading days")
    return p


def config_from_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> Config:
    """The configuration with every ``--param`` overlaid (``p.error`` exits with code 2)."""
    params: dict[str, str] = {}
    for name, value in args.param:
        if name in SHELL_PARAMETERS:
            p.error(f"argument --param: {name!r} (value {value!r}) is set with --{name}")
        if name in params:
            p.error(f"argument --param: {name!r} given twice (values {params[name]!r} and "
                    f"{value!r})")
        params[name] = value
    try:
        return load_config(params)
    except ConfigError as exc:
        p.error(f"argument --param: {exc}")


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
    state: Path | None = args.state_dir
    if state is not None and state.exists() and not state.is_dir():
        p.error(f"argument --state-dir: value {str(state)!r} exists and is not a directory")
    if args.fault_rate is not None and args.faults is None:
        p.error(f"argument --fault-rate: value {args.fault_rate} needs --faults")
    rate = DEFAULT_FAULT_RATE if args.fault_rate is None else args.fault_rate
    return RunSpec(start=args.start, end=args.end, cash=args.cash, seed=args.seed,
                   step_minutes=args.step_minutes, scenario=args.scenario or DEFAULT_SCENARIO,
                   underlying_csv=args.underlying_csv, vix_csv=args.vix_csv,
                   faults=args.faults or frozenset(), fault_rate=rate,
                   restart_every_days=args.restart_every_days)


def safe_mode_lines(result: RunResult) -> list[str]:
    """The system's safe-mode log lines (empty when the run was not in safe mode)."""
    return [line for line in result.log if line.startswith("SAFE-MODE")]


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    spec = spec_from_args(p, args)
    config = config_from_args(p, args)
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
    state_dir: Path | None = args.state_dir
    if state_dir is not None:
        try:
            FileStore(state_dir, durable=False)
        except OSError as exc:
            p.error(f"argument --state-dir: value {str(state_dir)!r} cannot be used: {exc}")
    env = build_environment(spec, config=config, cal=cal, data=data)

    def produce(staging: Path) -> RunResult:
        return run(spec, state_dir or staging / "state", env=env, progress=not args.quiet)

    try:
        result, summ = build_outputs(out, produce)
    except KeyboardInterrupt:
        print("interrupted; no results written", file=sys.stderr)
        return 130
    print(text_summary(summ))
    print(f"\nresults in {out}/ (summary.json, trades.csv, equity.png, report.html)")
    unsafe = safe_mode_lines(result)
    if unsafe:
        where = FileStore(state_dir or out / "state", durable=False).path(STATE_KEY)
        print(f"error: the stored state {where} was unusable; the run traded in safe mode "
              "(no new entries):", file=sys.stderr)
        for line in unsafe:
            print(f"  {line}", file=sys.stderr)
        return EXIT_SAFE_MODE
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
