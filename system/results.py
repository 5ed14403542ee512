"""What a run of :class:`system.trading_system.TradingSystem` reports (read by sim/ and main.py).

``ClosedTrade`` is the ledger's own type (one row of trades.csv), re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from config.enums import Regime
from execution.ledger import ClosedTrade


@dataclass(frozen=True, slots=True)
class DailyRecord:
    """End-of-day figures. ``bp_utilization`` = BP used / NLV; ``stress_worst_loss`` is the
    morning's predicted worst scenario loss of the book (dollars, positive = loss) and
    ``realized_change`` the day's equity change (dollars)."""

    day: date
    equity: float
    bp_utilization: float
    stress_worst_loss: float
    stress_scenario: str
    realized_change: float
    regime: Regime
    open_positions: int


@dataclass(frozen=True, slots=True)
class StrategyStats:
    """Per-strategy attribution as reported (from :meth:`execution.ledger.Ledger.attribution`).
    Money in USD, days in calendar days."""

    entries: int = 0
    exits: int = 0
    wins: int = 0
    losses: int = 0
    win_rate: float = 0.0
    pnl: float = 0.0
    avg_days_held: float = 0.0
    fees: float = 0.0
    slippage: float = 0.0


@dataclass(slots=True)
class Invariants:
    """Checked continuously by the system; any non-zero violation count is a defect."""

    naked_short_legs_opened: int = 0
    orders_legged: int = 0
    max_bp_utilization: float = 0.0
    bp_cap_breaches: int = 0
    max_positions_per_group: dict[str, int] = field(default_factory=dict)
    group_limit_breaches: int = 0


@dataclass(slots=True)
class SystemResults:
    """Everything a report needs, accumulated over the run."""

    trades: list[ClosedTrade] = field(default_factory=list)
    strategies: dict[str, StrategyStats] = field(default_factory=dict)
    skips: dict[str, dict[str, int]] = field(default_factory=dict)
    rejections: dict[str, dict[str, int]] = field(default_factory=dict)
    rejections_by_strategy: dict[str, dict[str, int]] = field(default_factory=dict)
    risk_events: dict[str, int] = field(default_factory=dict)
    daily: list[DailyRecord] = field(default_factory=list)
    invariants: Invariants = field(default_factory=Invariants)
