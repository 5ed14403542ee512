"""How busy the rest of the machine was while a benchmark ran (the figures move with it)."""

from __future__ import annotations

import os


def busy_seconds() -> float | None:
    """CPU seconds used by all processes so far (Linux ``/proc/stat``), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")
