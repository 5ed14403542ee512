"""Charts and runtime statistics shown in LEAN's result views, built from ``SystemResults``.

One point per chart per trading day (LEAN limits the points a chart series may hold, so
per-minute plotting is avoided).
"""

from __future__ import annotations

from dataclasses import dataclass

from system.results import DailyRecord, SystemResults


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """``algorithm.plot(chart, series, value)``."""

    chart: str
    series: str
    value: float


def daily_points(record: DailyRecord) -> tuple[ChartPoint, ...]:
    """The day's chart points: equity (USD), BP used (percent of NLV), VIX regime (its ordinal;
    -1 = unknown) and the book's worst stress-scenario loss (USD, positive = loss)."""
    return (
        ChartPoint("Equity", "NLV", record.equity),
        ChartPoint("Buying power", "BP used %", 100.0 * record.bp_utilization),
        ChartPoint("Regime", "VIX regime", float(int(record.regime))),
        ChartPoint("Stress", "Worst scenario loss", record.stress_worst_loss),
        ChartPoint("Positions", "Open", float(record.open_positions)),
    )


def runtime_statistics(results: SystemResults) -> dict[str, str]:
    """Headline figures for LEAN's runtime statistics panel."""
    inv = results.invariants
    violations = (inv.naked_short_legs_opened + inv.orders_legged + inv.bp_cap_breaches
                  + inv.group_limit_breaches)
    stats = {
        "Entries": str(sum(s.entries for s in results.strategies.values())),
        "Exits": str(sum(s.exits for s in results.strategies.values())),
        "Skips": str(sum(sum(v.values()) for v in results.skips.values())),
        "Rejections": str(sum(sum(v.values()) for v in results.rejections.values())),
        "Max BP used %": f"{100.0 * inv.max_bp_utilization:.1f}",
        "Invariant violations": str(violations),
    }
    if results.daily:
        last = results.daily[-1]
        stats["Regime"] = last.regime.name
        stats["Open positions"] = str(last.open_positions)
        stats["Worst stress loss"] = f"{last.stress_worst_loss:,.0f}"
    return stats
