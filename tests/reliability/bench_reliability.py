"""Reliability measurements too slow for the test suite.

Run: ``python -m tests.reliability.bench_reliability`` (about 80 s on two cores).

1. Each fault at 2% and 20% over six months of the normal scenario: injected counts, audit
   result (book = broker at every close, no legged remainder, no duplicate entry, no overlapping
   order), final equity and runtime.
2. A year with a restart every 5 trading days against the uninterrupted run (15- and 5-minute
   bars): final equity difference, restarts, restarts with orders working, runtimes.
3. Every fault at 20% with restarts every 5 days over six months.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from sim.engine import RunResult
from sim.faults import Fault
from tests.reliability.builders import YEAR_END, YEAR_START, short_run

HALF_END = date(2022, 6, 30)


def _timed(tmp: Path, name: str, **kwargs: object) -> tuple[RunResult, float]:
    t0 = time.perf_counter()
    result = short_run(tmp / name, **kwargs)  # type: ignore[arg-type]
    return result, time.perf_counter() - t0


def _audit(r: RunResult) -> str:
    a = r.audit
    return (f"{'ok' if a.ok else 'FAILED'} ({a.sessions_checked} closes, {a.submits} orders"
            + (f", {len(a.book_mismatches)} book mismatches" if a.book_mismatches else "")
            + (f", {len(a.legged_at_close)} legged" if a.legged_at_close else "")
            + ")")


def faults_table(tmp: Path, step: int) -> None:
    base, secs = _timed(tmp, "base", start=YEAR_START, end=HALF_END, step=step)
    print(f"\n## Faults, normal scenario {YEAR_START}..{HALF_END}, {step}-minute bars")
    print(f"baseline: final equity {base.final_equity:,.2f}, {len(base.results.trades)} trades, "
          f"{secs:.1f} s, audit {_audit(base)}")
    print("| fault | rate | injected | audit | final equity | trades | runtime (s) |")
    print("|---|---|---|---|---|---|---|")
    for fault in Fault:
        for rate in (0.02, 0.2):
            r, secs = _timed(tmp, f"{fault.value}-{rate}", start=YEAR_START, end=HALF_END,
                             step=step, faults=frozenset({fault}), rate=rate)
            print(f"| {fault.value} | {rate} | {r.faults[fault.event_name]:,} | {_audit(r)} | "
                  f"{r.final_equity:,.2f} | {len(r.results.trades)} | {secs:.1f} |")


def restart_table(tmp: Path, steps: tuple[int, ...]) -> None:
    print(f"\n## Restart every 5 trading days, normal scenario {YEAR_START}..{YEAR_END}")
    print("| bars (min) | uninterrupted | restarted | difference | restarts | with orders "
          "working | audit | runtimes (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for step in steps:
        plain, t1 = _timed(tmp, f"plain-{step}", start=YEAR_START, end=YEAR_END, step=step)
        crashed, t2 = _timed(tmp, f"crashed-{step}", start=YEAR_START, end=YEAR_END, step=step,
                             restart_every_days=5)
        diff = crashed.final_equity / plain.final_equity - 1.0
        a = crashed.audit
        print(f"| {step} | {plain.final_equity:,.2f} | {crashed.final_equity:,.2f} | "
              f"{diff * 100:+.4f}% | {a.restarts} | {a.restarts_with_working_orders} | "
              f"{_audit(crashed)} | {t1:.1f} / {t2:.1f} |")


def combined(tmp: Path, step: int) -> None:
    r, secs = _timed(tmp, "combined", start=YEAR_START, end=HALF_END, step=step,
                     faults=frozenset(Fault), rate=0.2, restart_every_days=5)
    print(f"\n## Every fault at 0.2 and a restart every 5 days, {YEAR_START}..{HALF_END}")
    print(f"faults {r.faults}; restarts {r.audit.restarts}; audit {_audit(r)}; final equity "
          f"{r.final_equity:,.2f}; {secs:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--step-minutes", type=int, default=15)
    p.add_argument("--restart-steps", default="15,5",
                   help="bar steps of the restart comparison (comma separated)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        faults_table(tmp, args.step_minutes)
        restart_table(tmp, tuple(int(x) for x in args.restart_steps.split(",")))
        combined(tmp, args.step_minutes)


if __name__ == "__main__":
    main()
