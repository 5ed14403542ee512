"""Offline backtest speed: scenario ``normal``, seed 1, 100,000 USD, from 2012-01-03.

Runs 1, 5 and 10 years at 5-minute bars, and 1 year at 15- and 30-minute bars. Each run happens
in a fresh Python process with the real ``TradingSystem`` through :func:`sim.engine.run`, and
reports wall time (inside ``run``, after imports), the process's CPU time over the same span (less
sensitive than wall time to other processes on a shared machine), steps per second, the time spent
outside the trading system (market model, chain synthesis, broker, calendar) and the process's peak
resident memory (``VmHWM`` from ``/proc/self/status``; ``getrusage``'s ``ru_maxrss`` would carry the
parent's peak over ``fork``/``exec`` and report the benchmark process's own arrays). The growth
rows say how the cost scales: wall-time ratios against the 1-year 5-minute run (linear in years
gives 5 and 10; linear in steps would give 1/3 and 1/6 for 15- and 30-minute bars), and, inside
each multi-year run, the wall time of its first simulated year (from the first bar) and of its
last (equal when the cost of a year does not depend on how long the run has gone on). The last
row is the CPU other processes used while the runs went on (cores; the machine is shared).

``python -m bench.backtest profile START END [STEP]`` profiles one run of :func:`sim.engine.run`
(scenario ``normal``, seed 1) with pyinstrument and prints the call tree.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.load import busy_seconds

ROOT = Path(__file__).resolve().parents[1]
START_YEAR = 2012
RUNS = ((1, 5), (5, 5), (10, 5), (1, 15), (1, 30))

Row = tuple[str, float, str]

_CHILD = """
import json, resource, sys, tempfile, time
from datetime import date
from pathlib import Path
from sim.engine import RunSpec, default_system_factory, run
years, step = int(sys.argv[1]), int(sys.argv[2])
spec = RunSpec(date({start}, 1, 3), date({start} + years - 1, 12, 31), step_minutes=step,
               scenario="normal", seed=1)
year_end = {{}}
first_bar = []

def factory(*args):
    system = default_system_factory(*args)
    start, session_end = system.start, system.on_session_end

    def on_start():
        first_bar.append(time.perf_counter())
        start()

    def on_session_end(now):
        session_end(now)
        year_end[now.year] = time.perf_counter()

    system.start, system.on_session_end = on_start, on_session_end
    return system

with tempfile.TemporaryDirectory() as tmp:
    cpu0 = time.process_time()
    res = run(spec, Path(tmp) / "state", system_factory=factory, progress=False)
    cpu = time.process_time() - cpu0
ends = [year_end[y] for y in sorted(year_end)]
per_year = [b - a for a, b in zip(first_bar[:1] + ends[:-1], ends)]
try:
    with open("/proc/self/status") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": res.runtime_seconds, "cpu": cpu, "steps": res.steps,
                  "system": res.system_seconds, "sessions": res.sessions,
                  "rss_mb": kb / 1024.0, "first_year": per_year[0], "last_year": per_year[-1]}}))
"""


def one(years: int, step: int) -> dict[str, float]:
    """One run in a child process: seconds, steps, system seconds, sessions, peak RSS (MB)."""
    out = subprocess.run([sys.executable, "-c", _CHILD.format(start=START_YEAR), str(years),
                          str(step)], cwd=ROOT, capture_output=True, text=True, check=True)
    parsed: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run() -> list[Row]:
    rows: list[Row] = []
    results: dict[tuple[int, int], dict[str, float]] = {}
    busy0, own0, wall0 = busy_seconds(), _children_cpu(), time.perf_counter()
    for years, step in RUNS:
        r = one(years, step)
        results[(years, step)] = r
        label = f"normal {years}y {step}-min"
        rows.append((f"{label}: wall time", r["seconds"], "s"))
        rows.append((f"{label}: CPU time", r["cpu"], "s"))
        rows.append((f"{label}: steps per second", r["steps"] / r["seconds"], "steps/s"))
        rows.append((f"{label}: outside TradingSystem", r["seconds"] - r["system"], "s"))
        rows.append((f"{label}: peak memory", r["rss_mb"], "MB"))
        if years > 1:
            rows.append((f"{label}: wall time of the first year", r["first_year"], "s"))
            rows.append((f"{label}: wall time of the last year", r["last_year"], "s"))
    base = results[(1, 5)]["seconds"]
    for years, step in RUNS:
        if (years, step) == (1, 5):
            continue
        rows.append((f"growth: {years}y {step}-min / 1y 5-min wall time",
                     results[(years, step)]["seconds"] / base, "x"))
    busy1 = busy_seconds()
    if busy0 is not None and busy1 is not None:
        others = (busy1 - busy0) - (_children_cpu() - own0)
        rows.append(("CPU used by other processes during these runs",
                     max(others, 0.0) / (time.perf_counter() - wall0), "cores"))
    return rows


def profile(start: date, end: date, step: int = 5) -> str:
    """pyinstrument call tree of one :func:`sim.engine.run` (scenario ``normal``, seed 1)."""
    from pyinstrument import Profiler

    from sim.engine import RunSpec
    from sim.engine import run as run_backtest

    spec = RunSpec(start, end, step_minutes=step, scenario="normal", seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        profiler = Profiler()
        profiler.start()
        result = run_backtest(spec, Path(tmp) / "state", progress=False)
        profiler.stop()
    head = (f"{start}..{end} {step}-min: {result.runtime_seconds:.2f} s, {result.steps} steps, "
            f"{result.system_seconds:.2f} s in TradingSystem\n")
    text: str = profiler.output_text(unicode=False, color=False)
    return head + text


def main(argv: list[str]) -> int:
    if argv and argv[0] == "profile":
        if len(argv) not in (3, 4):
            print("usage: python -m bench.backtest profile START END [STEP]", file=sys.stderr)
            return 2
        step = int(argv[3]) if len(argv) == 4 else 5
        print(profile(date.fromisoformat(argv[1]), date.fromisoformat(argv[2]), step))
        return 0
    for label, value, unit in run():
        print(f"{label:<58} {value:>12,.2f}  {unit}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
