"""``python -m bench``: run every benchmark module and print one table.

Each module in :data:`MODULES` exposes ``run() -> list[tuple[str, float, str]]`` (name, value,
unit). ``python -m bench greeks chain`` runs a subset.
"""

from __future__ import annotations

import importlib
import platform
import sys
import time

MODULES = ("greeks", "chain", "system", "backtest")


def main(argv: list[str]) -> int:
    wanted = argv or list(MODULES)
    unknown = [m for m in wanted if m not in MODULES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(MODULES)}", file=sys.stderr)
        return 2
    print(f"# python {platform.python_version()} on {platform.machine()}, "
          f"{platform.processor() or 'cpu'}")
    print(f"{'benchmark':<58} {'value':>14}  unit")
    print("-" * 84)
    for name in wanted:
        start = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        rows = module.run()
        for label, value, unit in rows:
            print(f"{name + ': ' + label:<58} {value:>14,.2f}  {unit}", flush=True)
        print(f"{'  (' + name + ' total wall time)':<58} {time.perf_counter() - start:>14,.1f}  s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
