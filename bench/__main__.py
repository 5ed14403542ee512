"""``python -m bench``: run every benchmark module and print one table.

Each module in :data:`MODULES` exposes ``run() -> list[tuple[str, float, str]]`` (name, value,
unit). ``python -m bench greeks chain`` runs a subset. A module whose bench-only dependency is
missing (``references`` needs QuantLib and py_vollib_vectorized: ``make bench-deps``) is reported
as skipped and the exit code is 1.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time

MODULES = ("greeks", "references", "chain", "system", "backtest")
OPTIONAL = frozenset({"QuantLib", "py_vollib_vectorized"})
WIDTH = 72


def _value(value: float) -> str:
    """Thousands separators; scientific notation for small non-zero magnitudes."""
    if value != 0.0 and abs(value) < 0.01:
        return f"{value:.2e}"
    return f"{value:,.2f}"


def main(argv: list[str]) -> int:
    wanted = argv or list(MODULES)
    unknown = [m for m in wanted if m not in MODULES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(MODULES)}", file=sys.stderr)
        return 2
    print(f"# python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} logical CPUs; {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'benchmark':<{WIDTH}} {'value':>16}  unit")
    print("-" * (WIDTH + 30))
    status = 0
    for name in wanted:
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            rows = module.run()
        except ModuleNotFoundError as exc:
            if exc.name not in OPTIONAL:
                raise
            print(f"{name}: skipped ({exc})", flush=True)
            status = 1
            continue
        for label, value, unit in rows:
            print(f"{name + ': ' + label:<{WIDTH}} {_value(value):>16}  {unit}", flush=True)
        print(f"{'  (' + name + ' total wall time)':<{WIDTH}} "
              f"{time.perf_counter() - start:>16,.1f}  s", flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
