"""What a run of :class:`system.trading_system.TradingSystem` reports (read by sim/ and main.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from config.enums import Regime


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One position from entry to final exit (one row of trades.csv).

    ``legs`` are ``ratio:right:strike:expiry`` strings; ``deltas`` the signed entry deltas of the
    legs in the same order. Prices are net points per unit (positive = debit); ``pnl``, ``fees``
    and ``slippage`` are dollars for the whole position.
    """

    position_id: str
    strategy: str
    root: str
    structure: str
    entry_time: datetime
    exit_time: datetime
    expiry: date
    dte_at_entry: int
    contracts: int
    legs: tuple[str, ...]
    deltas: tuple[float, ...]
    entry_price: float
    exit_price: float
    pnl: float
    fees: float
    slippage: float
    exit_reason: str


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


@dataclass(slots=True)
class StrategyStats:
    entries: int = 0
    exits: int = 0
    wins: int = 0
    losses: int = 0
    pnl: float = 0.0
    days_held: float = 0.0
    fees: float = 0.0
    slippage: float = 0.0

    @property
    def win_rate(self) -> float:
        closed = self.wins + self.losses
        return self.wins / closed if closed else 0.0

    @property
    def avg_days_held(self) -> float:
        return self.days_held / self.exits if self.exits else 0.0


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
    risk_events: dict[str, int] = field(default_factory=dict)
    daily: list[DailyRecord] = field(default_factory=list)
    invariants: Invariants = field(default_factory=Invariants)
