"""Counts rejections by ``(check, reason)`` for logs and the report (SPEC §11b)."""

from __future__ import annotations

from collections import Counter

from risk.types import Rejection


class RejectionCounter:
    """Tally of rejections keyed by ``(check, reason)``."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, rejection: Rejection) -> None:
        self._counts[(rejection.check, rejection.reason)] += 1

    def count(self, check: str, reason: str) -> int:
        return self._counts[(check, reason)]

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def as_dict(self) -> dict[str, int]:
        """``{"check.reason": count}`` sorted by key, for JSON reports."""
        return {f"{c}.{r}": n for (c, r), n in sorted(self._counts.items())}
