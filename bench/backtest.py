"""Offline backtest speed: the ``normal`` scenario for 1, 5 and 10 years at 5-minute steps.

Each run happens in a fresh Python process (so peak memory is that run's own, from
``resource.getrusage``) with the real ``TradingSystem``; reports seconds, steps per second and
peak resident memory. Also reports the time spent outside the trading system (engine overhead).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
YEARS = (1, 5, 10)
START_YEAR = 2012

_CHILD = """
import json, resource, sys, tempfile
from datetime import date
from pathlib import Path
from sim.engine import RunSpec, run
years = int(sys.argv[1])
spec = RunSpec(date({start}, 1, 3), date({start} + years - 1, 12, 31), step_minutes=5)
with tempfile.TemporaryDirectory() as tmp:
    res = run(spec, Path(tmp) / "state", progress=False)
print(json.dumps({{"seconds": res.runtime_seconds, "steps": res.steps,
                  "system": res.system_seconds,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}}))
"""


def _one(years: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD.format(start=START_YEAR), str(years)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    parsed: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


def run() -> list[tuple[str, float, str]]:
    rows: list[tuple[str, float, str]] = []
    for years in YEARS:
        r = _one(years)
        label = f"normal {years}y 5-min"
        rows.append((f"{label}: wall time", r["seconds"], "s"))
        rows.append((f"{label}: engine overhead (outside TradingSystem)",
                     r["seconds"] - r["system"], "s"))
        rows.append((f"{label}: steps per second", r["steps"] / r["seconds"], "steps/s"))
        rows.append((f"{label}: peak memory", r["rss_mb"], "MB"))
    return rows
