"""Invariants the LEAN smoke algorithm (``lean_smoke/main.py``) raises on, as LEAN's regression
algorithms do: checked on every order event and at the end of the run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from config.enums import StrategyKey
from system.results import SystemResults

T = TypeVar("T")


def parse_strategies(text: str) -> tuple[StrategyKey, ...]:
    """Comma-separated strategy keys (``friday_0dte,lt112``); raises ``ValueError`` naming an
    unknown key."""
    out: list[StrategyKey] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.append(StrategyKey(part))
        except ValueError:
            allowed = ", ".join(k.value for k in StrategyKey)
            raise ValueError(f"unknown strategy {part!r}; allowed: {allowed}") from None
    return tuple(out)


def order_type_violation(order_type: T, combo_types: Sequence[T],
                         exempt: Sequence[T] = ()) -> str | None:
    """A fill from an order that is not a combo means a spread was legged in or out.

    ``exempt`` order types (option exercise and expiry) are the exchange's doing, not an order
    the system sent.
    """
    if order_type in combo_types or order_type in exempt:
        return None
    return (f"fill from a {order_type} order: every fill must come from a combo order "
            f"({', '.join(str(t) for t in combo_types)})")


def end_of_run_violations(results: SystemResults, expected: Iterable[StrategyKey],
                          legged: Iterable[str]) -> list[str]:
    """Everything wrong at the end of a smoke run: invariant counters above zero, legged
    combos, and expected strategies that never opened a position."""
    problems: list[str] = []
    inv = results.invariants
    counters = {
        "naked short legs opened": inv.naked_short_legs_opened,
        "orders legged": inv.orders_legged,
        "BP cap breaches": inv.bp_cap_breaches,
        "correlation group limit breaches": inv.group_limit_breaches,
    }
    problems.extend(f"{name}: {count}" for name, count in counters.items() if count)
    problems.extend(f"legged combo {text}" for text in legged)
    for key in expected:
        stats = results.strategies.get(key.value)
        if stats is None or stats.entries == 0:
            skips = results.skips.get(key.value, {})
            rejections = results.rejections.get(key.value, {})
            problems.append(f"{key.value} never traded (skips {dict(skips)}, "
                            f"rejections {dict(rejections)})")
    return problems
