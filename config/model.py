"""Typed, frozen configuration built from :mod:`config.defaults` by :mod:`config.loader`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from config.enums import Brokerage, Phase, Regime, ScheduleKind, StrategyKey


class ConfigError(ValueError):
    """An invalid configuration value; the message names the key, the value and what is allowed."""


@dataclass(frozen=True, slots=True)
class PhaseConfig:
    """§1: ``min_nlv[i]`` is the NLV at which phase i+1 starts (phase 1 starts at 0)."""

    min_nlv: tuple[float, float, float, float]
    down_hysteresis: float
    max_bp: tuple[float, float, float, float]

    def phase_max_bp(self, phase: Phase) -> float:
        return self.max_bp[int(phase) - 1]


@dataclass(frozen=True, slots=True)
class RegimeBand:
    """§3: one VIX band ``lower <= vix < upper``."""

    regime: Regime
    lower: float
    upper: float
    max_bp: float
    size_multiplier: float
    allowed: frozenset[StrategyKey]


@dataclass(frozen=True, slots=True)
class VixConfig:
    bands: tuple[RegimeBand, ...]
    no_0dte_at_or_above: float
    spike_fraction: float
    spike_size_multiplier: float
    stale_minutes: int
    zero_dte: frozenset[StrategyKey] = frozenset()

    def band(self, regime: Regime) -> RegimeBand:
        for b in self.bands:
            if b.regime is regime:
                return b
        raise KeyError(regime)

    def entry_block(self, key: StrategyKey, regime: Regime,
                    vix: float | None) -> tuple[str, str] | None:
        """Why ``key`` may not open a position in ``regime`` at ``vix``, as (reason code,
        detail), or None. The one statement of SPEC §3's entry table: UNKNOWN (missing or stale
        VIX) blocks everything, each regime allows its listed strategies, and the 0DTE
        strategies stop at ``no_0dte_at_or_above``."""
        if regime is Regime.UNKNOWN or vix is None:
            return "vix_unknown", "VIX missing, invalid or stale: no new entries"
        if key not in self.band(regime).allowed:
            return "regime_forbids", f"{key.value} not allowed in {regime.name}"
        if key in self.zero_dte and vix >= self.no_0dte_at_or_above:
            return "vix_too_high", f"VIX {vix:g} >= {self.no_0dte_at_or_above:g}: no 0DTE entries"
        return None


@dataclass(frozen=True, slots=True)
class CorrelationGroup:
    name: str
    members: frozenset[str]
    base_limit: int


@dataclass(frozen=True, slots=True)
class CorrelationConfig:
    """§4. ``phase_limits[i]`` caps every group in phase i+1; ``combined_groups`` together are
    capped at ``combined_limit``."""

    groups: tuple[CorrelationGroup, ...]
    phase_limits: tuple[int, int, int, int]
    combined_groups: tuple[str, ...]
    combined_limit: int
    crisis_vix: float
    crisis_reduction: int

    def group_of(self, root: str) -> CorrelationGroup | None:
        for g in self.groups:
            if root in g.members:
                return g
        return None


@dataclass(frozen=True, slots=True)
class SizingConfig:
    kelly_fraction: float
    max_risk_fraction: float
    min_trades_for_blend: int


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """§6: drawdown levels (fractions of peak equity) with their re-arm levels."""

    reduced_drawdown: float
    reduced_rearm: float
    reduced_size_multiplier: float
    halted_drawdown: float
    halted_rearm: float
    flatten_drawdown: float
    flatten_rearm: float
    flatten_lockout_days: int
    flatten_rebase_after_lockout: bool
    day_loss: float
    fast_loss: float
    fast_loss_minutes: int


@dataclass(frozen=True, slots=True)
class StressConfig:
    moves: tuple[float, ...]
    iv_multipliers: tuple[float, ...]
    max_loss_nlv: float
    max_strategy_share: float = 1.0


@dataclass(frozen=True, slots=True)
class ExitConfig:
    check_minutes: int
    default_profit_target: float
    dte_exit: int
    zero_dte_time_stop: time


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    entry_steps: int
    entry_step_minutes: int
    entry_min_credit_fraction: float
    exit_steps: int
    exit_step_minutes: int
    urgent_step_minutes: int
    urgent_ticks_per_step: int
    urgent_max_steps: int
    ib_market_after_steps: int


@dataclass(frozen=True, slots=True)
class DataConfig:
    max_spread_fraction: float
    spread_check_min_mid: float
    max_quote_age_minutes: int
    max_underlying_age_minutes: int


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a rule fires. ``weekday`` 0=Monday. ``nth`` lists which occurrences of the weekday in
    the month fire (MONTHLY_NTH). A rule day that is not a trading day moves to the next trading
    day when ``holiday_roll`` is set. ``min_phase`` gates the rule itself."""

    rule: str
    kind: ScheduleKind
    at: time
    weekday: int | None = None
    nth: tuple[int, ...] = ()
    min_phase: Phase = Phase.P1
    holiday_roll: bool = True


@dataclass(frozen=True, slots=True)
class DeltaTarget:
    """Target |delta| and the allowed range ``lo <= |delta| <= hi``."""

    target: float
    lo: float
    hi: float


@dataclass(frozen=True, slots=True)
class DteWindow:
    target: int
    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class KellyPrior:
    win_rate: float
    payoff: float

    @property
    def kelly(self) -> float:
        """Full Kelly fraction f* = (p·b − q)/b."""
        p, b = self.win_rate, self.payoff
        return (p * b - (1.0 - p)) / b


@dataclass(frozen=True, slots=True)
class ExitRules:
    """Per-strategy exit thresholds read by the one exit engine (SPEC §9). ``None`` = rule off.

    ``profit_target`` and ``stop_multiple`` are fractions/multiples of the entry premium (credit
    for credit structures, debit for debit structures)."""

    profit_target: float | None = None
    stop_multiple: float | None = None
    stop_loss_nlv: float | None = None
    time_stop: time | None = None
    dte_exit: int | None = None
    roll_dte: int | None = None
    close_vix_at_or_above: float | None = None
    short_delta_exit: float | None = None


@dataclass(frozen=True, slots=True)
class StrategyCommon:
    """Fields every strategy has."""

    key: StrategyKey
    schedules: tuple[Schedule, ...]
    min_phase: Phase
    caps: tuple[int, int, int, int]
    cap_unit: str  # "positions" or "contracts"
    prior: KellyPrior
    exits: ExitRules
    defined_risk: bool
    short_put_structure: bool
    scales_in: bool = False

    def cap(self, phase: Phase) -> int:
        return self.caps[int(phase) - 1]


@dataclass(frozen=True, slots=True)
class Friday0DteConfig:
    common: StrategyCommon
    classify_start: time
    move_threshold: float
    short: DeltaTarget
    wing_points: float
    max_positions_per_day: int
    micro_below_nlv: float


@dataclass(frozen=True, slots=True)
class Lt112Config:
    common: StrategyCommon
    dte: DteWindow
    dte_quarterly: DteWindow
    long: DeltaTarget
    spread_width_points: float
    naked: DeltaTarget
    max_fraction_of_52w_high: float
    naked_profit_target: float
    naked_stop_multiple: float


@dataclass(frozen=True, slots=True)
class StrangleConfig:
    common: StrategyCommon
    dte: DteWindow
    put: DeltaTarget
    call: DeltaTarget
    iv_rank_min: float
    iv_rank_days: int


@dataclass(frozen=True, slots=True)
class IpmccConfig:
    common: StrategyCommon
    leap: DeltaTarget
    dte: DteWindow
    max_extrinsic_fraction: float
    min_below_52w_high: float
    call_dte: int
    ema_fast: int
    ema_slow: int
    itm_strikes_below_ema: int
    itm_strikes_extended: int
    extended_fraction: float
    call_profit_fraction: float


@dataclass(frozen=True, slots=True)
class LadderConfig:
    common: StrategyCommon
    dte: DteWindow
    week_deltas: tuple[float, ...]
    delta_lo: float
    delta_hi: float
    vix_skip_below: float
    vix_double_above: float
    high_vix_size_factor: float


@dataclass(frozen=True, slots=True)
class BearTrapConfig:
    common: StrategyCommon
    vix_min: float
    vix_max: float
    dte: DteWindow
    long: DeltaTarget
    short: DeltaTarget
    naked: DeltaTarget


@dataclass(frozen=True, slots=True)
class ButterflyConfig:
    common: StrategyCommon
    baseline_time: time
    move_threshold: float
    wing_points: float
    center_offset_points: float
    max_weekly_debit_nlv: float


@dataclass(frozen=True, slots=True)
class StrategiesConfig:
    friday_0dte: Friday0DteConfig
    lt112: Lt112Config
    futures_strangle: StrangleConfig
    ipmcc: IpmccConfig
    leap_put_ladder: LadderConfig
    bear_trap: BearTrapConfig
    butterfly_0dte: ButterflyConfig

    def common(self, key: StrategyKey) -> StrategyCommon:
        spec: (Friday0DteConfig | Lt112Config | StrangleConfig | IpmccConfig | LadderConfig
               | BearTrapConfig | ButterflyConfig) = getattr(self, key.value)
        return spec.common

    def all_common(self) -> tuple[StrategyCommon, ...]:
        return tuple(self.common(k) for k in StrategyKey)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration. Build it with :func:`config.load_config`."""

    brokerage: Brokerage
    risk_free_rate: float
    phases: PhaseConfig
    vix: VixConfig
    correlation: CorrelationConfig
    sizing: SizingConfig
    breakers: BreakerConfig
    stress: StressConfig
    exits: ExitConfig
    execution: ExecutionConfig
    data: DataConfig
    strategies: StrategiesConfig
    values: dict[str, float | int | str] = field(default_factory=dict, compare=False)
