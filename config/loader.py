"""Build and validate :class:`config.model.Config` from defaults plus LEAN parameters."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from datetime import time

from config.defaults import DEFAULTS, Value
from config.enums import Brokerage, Phase, Regime, ScheduleKind, StrategyKey
from config.model import (
    BearTrapConfig,
    BreakerConfig,
    ButterflyConfig,
    Config,
    ConfigError,
    CorrelationConfig,
    CorrelationGroup,
    DataConfig,
    DeltaTarget,
    DteWindow,
    ExecutionConfig,
    ExitConfig,
    ExitRules,
    Friday0DteConfig,
    IpmccConfig,
    KellyPrior,
    LadderConfig,
    Lt112Config,
    PhaseConfig,
    RegimeBand,
    Schedule,
    SizingConfig,
    StrangleConfig,
    StrategiesConfig,
    StrategyCommon,
    StressConfig,
    VixConfig,
)
from config.universe import COMBINED_GROUPS, GROUP_MEMBERS, ZERO_DTE

# Parameters LEAN passes that belong to the algorithm shell, not to the trading core.
SHELL_PARAMETERS = frozenset({"start", "end", "cash"})

ParameterSource = Mapping[str, str] | Callable[[str], str | None]


def load_config(source: ParameterSource | None = None) -> Config:
    """Overlay project parameters on the defaults, then build and validate the configuration.

    Parameters
    ----------
    source
        Either a mapping of parameter name to string value (all of ``config.json``'s parameters,
        e.g. ``dict(algorithm.get_parameters())``; unknown names are rejected) or a callable
        ``get_parameter(name) -> str | None`` asked for every known name.

    Raises
    ------
    ConfigError
        Naming the key, the value and what is allowed.
    """
    values: dict[str, Value] = dict(DEFAULTS)
    if source is None:
        overrides: dict[str, str] = {}
    elif isinstance(source, Mapping):
        overrides = {k: v for k, v in source.items() if k not in SHELL_PARAMETERS}
        for name in overrides:
            if name not in DEFAULTS:
                raise ConfigError(
                    f"unknown parameter {name!r} (value {overrides[name]!r}); allowed names are "
                    f"the keys of config.defaults.DEFAULTS, e.g. 'friday_0dte.short_delta'"
                )
    else:
        overrides = {}
        for name in DEFAULTS:
            got = source(name)
            if got is not None and got != "":
                overrides[name] = got
    for name, text in overrides.items():
        values[name] = _convert(name, text, DEFAULTS[name])
    return _Builder(values).build()


def _convert(name: str, text: object, default: Value) -> Value:
    if not isinstance(text, str):
        raise ConfigError(f"parameter {name!r}: value {text!r} must be a string")
    s = text.strip()
    if isinstance(default, bool):  # pragma: no cover - no bool defaults
        raise ConfigError(f"parameter {name!r}: unsupported type")
    if isinstance(default, int):
        try:
            return int(s)
        except ValueError:
            raise ConfigError(
                f"parameter {name!r}: value {text!r} is not an integer (default {default})"
            ) from None
    if isinstance(default, float):
        try:
            v = float(s)
        except ValueError:
            raise ConfigError(
                f"parameter {name!r}: value {text!r} is not a number (default {default})"
            ) from None
        if math.isnan(v) or (math.isinf(v) and not math.isinf(default)):
            raise ConfigError(f"parameter {name!r}: value {text!r} must be a finite number")
        return v
    return s


class _Builder:
    """Reads typed values by key and validates them, naming the key in every error."""

    def __init__(self, values: dict[str, Value]) -> None:
        self.v = values

    # -- typed readers -------------------------------------------------------------------------
    def num(self, key: str, lo: float = -math.inf, hi: float = math.inf,
            lo_open: bool = False, hi_open: bool = False) -> float:
        raw = self.v[key]
        if isinstance(raw, str):
            raise ConfigError(f"{key}: value {raw!r} must be a number")
        x = float(raw)
        bad = (x < lo or x > hi or (lo_open and x == lo) or (hi_open and x == hi)
               or math.isnan(x))
        if bad:
            lb = "(" if lo_open else "["
            rb = ")" if hi_open else "]"
            raise ConfigError(
                f"{key}: value {raw!r} is outside the allowed range {lb}{lo}, {hi}{rb}"
            )
        return x

    def integer(self, key: str, lo: int = 0, hi: int = 10**9) -> int:
        raw = self.v[key]
        if not isinstance(raw, int):
            raise ConfigError(f"{key}: value {raw!r} must be an integer")
        if raw < lo or raw > hi:
            raise ConfigError(f"{key}: value {raw!r} is outside the allowed range [{lo}, {hi}]")
        return raw

    def frac(self, key: str) -> float:
        """A fraction in (0, 1)."""
        return self.num(key, 0.0, 1.0, lo_open=True, hi_open=True)

    def pos(self, key: str) -> float:
        return self.num(key, 0.0, math.inf, lo_open=True)

    def text(self, key: str) -> str:
        return str(self.v[key])

    def hhmm(self, key: str) -> time:
        raw = self.text(key)
        try:
            hh, mm = raw.split(":")
            t = time(int(hh), int(mm))
        except ValueError:
            raise ConfigError(f"{key}: value {raw!r} is not a time HH:MM (00:00-23:59)") from None
        return t

    def floats(self, key: str) -> tuple[float, ...]:
        raw = self.text(key)
        try:
            out = tuple(float(p) for p in raw.split(",") if p.strip())
        except ValueError:
            raise ConfigError(f"{key}: value {raw!r} is not a comma-separated list of numbers") \
                from None
        if not out or not all(math.isfinite(x) for x in out):
            raise ConfigError(f"{key}: value {raw!r} must list at least one finite number")
        return out

    def ints(self, key: str, n: int | None = None, lo: int = 0) -> tuple[int, ...]:
        raw = self.text(key)
        try:
            out = tuple(int(p) for p in raw.split(",") if p.strip())
        except ValueError:
            raise ConfigError(f"{key}: value {raw!r} is not a comma-separated list of integers") \
                from None
        if (n is not None and len(out) != n) or not out or min(out) < lo:
            want = f"exactly {n}" if n is not None else "one or more"
            raise ConfigError(f"{key}: value {raw!r} must list {want} integers >= {lo}")
        return out

    def caps(self, key: str) -> tuple[int, int, int, int]:
        a, b, c, d = self.ints(key, 4)
        return (a, b, c, d)

    def phase(self, key: str) -> Phase:
        return Phase(self.integer(key, 1, 4))

    def weekday(self, key: str) -> int:
        return self.integer(key, 0, 4)

    def delta(self, prefix: str, target: str = "", lo: str = "", hi: str = "") -> DeltaTarget:
        kt = f"{prefix}{target or '_delta'}"
        klo = f"{prefix}{lo or '_delta_min'}"
        khi = f"{prefix}{hi or '_delta_max'}"
        t, a, b = self.frac(kt), self.frac(klo), self.frac(khi)
        if not a <= t <= b:
            raise ConfigError(
                f"{kt}: value {t} must lie inside [{klo}={a}, {khi}={b}] (deltas in (0, 1))"
            )
        return DeltaTarget(t, a, b)

    def dte(self, prefix: str, suffix: str = "") -> DteWindow:
        kt = f"{prefix}.target_dte"
        klo, khi = f"{prefix}.dte_min{suffix}", f"{prefix}.dte_max{suffix}"
        lo, hi = self.integer(klo, 0, 2000), self.integer(khi, 0, 2000)
        t = self.integer(kt, 0, 2000)
        if not lo <= t <= hi:
            raise ConfigError(f"{kt}: value {t} must lie inside [{klo}={lo}, {khi}={hi}] days")
        return DteWindow(t, lo, hi)

    def prior(self, key: str) -> KellyPrior:
        return KellyPrior(self.frac(f"{key}.prior.win_rate"), self.pos(f"{key}.prior.payoff"))

    # -- sections ------------------------------------------------------------------------------
    def build(self) -> Config:
        try:
            brokerage = Brokerage(self.text("brokerage"))
        except ValueError:
            raise ConfigError(
                f"brokerage: value {self.text('brokerage')!r} is not one of "
                f"{[b.value for b in Brokerage]}"
            ) from None
        return Config(
            brokerage=brokerage,
            risk_free_rate=self.num("risk_free_rate", -0.05, 0.25),
            phases=self.phases(),
            vix=self.vix(),
            correlation=self.correlation(),
            sizing=SizingConfig(self.frac("sizing.kelly_fraction"),
                                self.frac("sizing.max_risk_fraction"),
                                self.integer("sizing.min_trades_for_blend", 1, 10_000)),
            breakers=self.breakers(),
            stress=self.stress(),
            exits=ExitConfig(
                self.integer("exits.check_minutes", 1, 390),
                self.frac("exits.default_profit_target"),
                self.integer("exits.dte_exit", 0, 365),
                self.hhmm("exits.zero_dte_time_stop"),
            ),
            execution=ExecutionConfig(
                self.integer("execution.entry.steps", 0, 20),
                self.integer("execution.entry.step_minutes", 1, 60),
                self.frac("execution.entry.min_credit_fraction"),
                self.integer("execution.exit.steps", 0, 20),
                self.integer("execution.exit.step_minutes", 1, 60),
                self.integer("execution.urgent.step_minutes", 1, 60),
                self.integer("execution.urgent.ticks_per_step", 1, 100),
                self.integer("execution.urgent.max_steps", 1, 100),
                self.integer("execution.ib_market_after_steps", 1, 100),
            ),
            data=DataConfig(
                self.pos("data.max_spread_fraction"),
                self.num("data.spread_check_min_mid", 0.0),
                self.integer("data.max_quote_age_minutes", 1, 1440),
                self.integer("data.max_underlying_age_minutes", 1, 1440),
            ),
            strategies=self.strategies(),
            values=dict(self.v),
        )

    def phases(self) -> PhaseConfig:
        m2, m3, m4 = (self.pos(f"phase.{i}.min_nlv") for i in (2, 3, 4))
        if not m2 < m3 < m4:
            raise ConfigError(
                f"phase.2/3/4.min_nlv: values {m2}, {m3}, {m4} must be strictly increasing"
            )
        bp = tuple(self.num(f"phase.{i}.max_bp", 0.0, 1.0, lo_open=True) for i in (1, 2, 3, 4))
        return PhaseConfig((0.0, m2, m3, m4), self.frac("phase.down_hysteresis"),
                           (bp[0], bp[1], bp[2], bp[3]))

    def allowed(self, key: str) -> frozenset[StrategyKey]:
        raw = self.text(key)
        out: set[StrategyKey] = set()
        for name in (p.strip() for p in raw.split(",") if p.strip()):
            try:
                out.add(StrategyKey(name))
            except ValueError:
                raise ConfigError(
                    f"{key}: {name!r} is not a strategy key; allowed: "
                    f"{[k.value for k in StrategyKey]}"
                ) from None
        return frozenset(out)

    def vix(self) -> VixConfig:
        bands = []
        for regime in (Regime.CALM, Regime.NORMAL, Regime.ELEVATED, Regime.HIGH, Regime.CRISIS):
            p = f"regime.{regime.name.lower()}"
            lo = self.num(f"{p}.lower", 0.0)
            hi = self.num(f"{p}.upper", 0.0)
            if not hi > lo:
                raise ConfigError(f"{p}.upper: value {hi} must be greater than {p}.lower={lo}")
            bands.append(RegimeBand(regime, lo, hi,
                                    self.num(f"{p}.max_bp", 0.0, 1.0, lo_open=True),
                                    self.num(f"{p}.size_multiplier", 0.0, 1.0, lo_open=True),
                                    self.allowed(f"{p}.allowed")))
        if bands[0].lower != 0.0:
            raise ConfigError(
                f"regime.calm.lower: value {bands[0].lower} must be 0 (bands cover [0, inf))"
            )
        if not math.isinf(bands[-1].upper):
            raise ConfigError(
                f"regime.crisis.upper: value {bands[-1].upper} must be inf (bands cover [0, inf))"
            )
        for a, b in itertools.pairwise(bands):
            if a.upper != b.lower:
                kind = "overlap" if a.upper > b.lower else "leave a gap"
                raise ConfigError(
                    f"regime.{b.regime.name.lower()}.lower: value {b.lower} and "
                    f"regime.{a.regime.name.lower()}.upper={a.upper} {kind}; VIX bands must be "
                    f"contiguous and non-overlapping"
                )
        return VixConfig(tuple(bands), self.pos("vix.no_0dte_at_or_above"),
                         self.frac("vix.spike_fraction"),
                         self.num("vix.spike_size_multiplier", 0.0, 1.0, lo_open=True),
                         self.integer("vix.stale_minutes", 1, 1440), frozenset(ZERO_DTE))

    def correlation(self) -> CorrelationConfig:
        groups = tuple(
            CorrelationGroup(name, frozenset(members),
                             self.integer(f"correlation.group.{name}.limit", 0, 100))
            for name, members in GROUP_MEMBERS.items()
        )
        pl = self.ints("correlation.phase_limits", 4)
        return CorrelationConfig(
            groups, (pl[0], pl[1], pl[2], pl[3]), COMBINED_GROUPS,
            self.integer("correlation.equity_combined_limit", 0, 100),
            self.pos("correlation.crisis_vix"),
            self.integer("correlation.crisis_reduction", 0, 100),
        )

    def breakers(self) -> BreakerConfig:
        b = BreakerConfig(
            self.frac("breaker.reduced.drawdown"), self.frac("breaker.reduced.rearm"),
            self.num("breaker.reduced.size_multiplier", 0.0, 1.0, lo_open=True),
            self.frac("breaker.halted.drawdown"), self.frac("breaker.halted.rearm"),
            self.frac("breaker.flatten.drawdown"), self.frac("breaker.flatten.rearm"),
            self.integer("breaker.flatten.lockout_days", 0, 365),
            bool(self.integer("breaker.flatten.rebase_after_lockout", 0, 1)),
            self.frac("breaker.day_loss"), self.frac("breaker.fast_loss"),
            self.integer("breaker.fast_loss_minutes", 1, 390),
        )
        if not b.reduced_drawdown < b.halted_drawdown < b.flatten_drawdown:
            raise ConfigError(
                "breaker.*.drawdown: values "
                f"{b.reduced_drawdown}, {b.halted_drawdown}, {b.flatten_drawdown} must increase"
            )
        for name, lvl, rearm in (("reduced", b.reduced_drawdown, b.reduced_rearm),
                                 ("halted", b.halted_drawdown, b.halted_rearm),
                                 ("flatten", b.flatten_drawdown, b.flatten_rearm)):
            if not rearm < lvl:
                raise ConfigError(
                    f"breaker.{name}.rearm: value {rearm} must be below breaker.{name}.drawdown"
                    f"={lvl}"
                )
        return b

    def stress(self) -> StressConfig:
        moves = self.floats("stress.moves")
        if any(m <= -1.0 for m in moves):
            raise ConfigError(f"stress.moves: value {moves} must all be > -1")
        ivm = self.floats("stress.iv_multipliers")
        if any(m <= 0 for m in ivm):
            raise ConfigError(f"stress.iv_multipliers: value {ivm} must all be > 0")
        return StressConfig(moves, ivm, self.frac("stress.max_loss_nlv"),
                            self.num("stress.max_strategy_share", 0.0, 1.0, lo_open=True))

    # -- strategies ----------------------------------------------------------------------------
    def common(self, key: StrategyKey, schedules: tuple[Schedule, ...], exits: ExitRules,
               cap_unit: str, defined_risk: bool, short_put: bool) -> StrategyCommon:
        k = key.value
        scales_in = (f"{k}.scales_in" in self.v
                     and bool(self.integer(f"{k}.scales_in", 0, 1)))
        return StrategyCommon(key, schedules, self.phase(f"{k}.min_phase"), self.caps(f"{k}.caps"),
                              cap_unit, self.prior(k), exits, defined_risk, short_put, scales_in)

    def strategies(self) -> StrategiesConfig:
        K = StrategyKey
        tstop = self.hhmm("exits.zero_dte_time_stop")
        dte_exit = self.integer("exits.dte_exit", 0, 365)

        # §8.1
        k = "friday_0dte"
        f0 = Friday0DteConfig(
            self.common(K.FRIDAY_0DTE,
                        (Schedule(f"{k}.entry", ScheduleKind.WEEKLY, self.hhmm(f"{k}.time"),
                                  self.weekday(f"{k}.weekday")),),
                        ExitRules(profit_target=self.frac(f"{k}.profit_target"),
                                  stop_multiple=self.pos(f"{k}.stop_multiple"), time_stop=tstop),
                        "contracts", True, False),
            self.hhmm(f"{k}.classify_start"), self.frac(f"{k}.move_threshold"),
            self.delta(f"{k}.short"), self.pos(f"{k}.wing_points"),
            self.integer(f"{k}.max_positions_per_day", 1, 100), self.pos(f"{k}.micro_below_nlv"))
        if f0.classify_start >= f0.common.schedules[0].at:
            raise ConfigError(f"{k}.classify_start: value {f0.classify_start} must be before "
                              f"{k}.time={f0.common.schedules[0].at}")

        # §8.2
        k = "lt112"
        wd, at = self.weekday(f"{k}.weekday"), self.hhmm(f"{k}.time")
        lt = Lt112Config(
            self.common(K.LT112,
                        (Schedule(f"{k}.entry", ScheduleKind.MONTHLY_NTH, at, wd,
                                  self.ints(f"{k}.nth", lo=1)),
                         Schedule(f"{k}.entry_extra", ScheduleKind.MONTHLY_NTH, at, wd,
                                  self.ints(f"{k}.extra_nth", lo=1),
                                  self.phase(f"{k}.extra_nth_min_phase"))),
                        ExitRules(stop_loss_nlv=self.frac(f"{k}.stop_loss_nlv"),
                                  dte_exit=dte_exit),
                        "positions", False, True),
            self.dte(k), self.dte(k, "_quarterly"), self.delta(f"{k}.long"),
            self.pos(f"{k}.spread_width_points"), self.delta(f"{k}.naked"),
            self.frac(f"{k}.max_fraction_of_52w_high"), self.frac(f"{k}.naked_profit_target"),
            self.pos(f"{k}.naked_stop_multiple"))

        # §8.3
        k = "futures_strangle"
        st = StrangleConfig(
            self.common(K.FUTURES_STRANGLE,
                        (Schedule(f"{k}.entry", ScheduleKind.MONTHLY_NTH, self.hhmm(f"{k}.time"),
                                  self.weekday(f"{k}.weekday"), self.ints(f"{k}.nth", lo=1)),),
                        ExitRules(profit_target=self.frac(f"{k}.profit_target"),
                                  stop_multiple=self.pos(f"{k}.stop_multiple"), dte_exit=dte_exit,
                                  close_vix_at_or_above=self.pos(f"{k}.close_vix_at_or_above"),
                                  short_delta_exit=self.frac(f"{k}.short_delta_exit")),
                        "positions", False, False),
            self.dte(k), self.delta(f"{k}.put"), self.delta(f"{k}.call"),
            self.num(f"{k}.iv_rank_min", 0.0, 100.0), self.integer(f"{k}.iv_rank_days", 20, 2000))

        # §8.4
        k = "ipmcc"
        ip = IpmccConfig(
            self.common(K.IPMCC,
                        (Schedule(f"{k}.entry", ScheduleKind.MONTHLY_NTH, self.hhmm(f"{k}.time"),
                                  self.weekday(f"{k}.weekday"), self.ints(f"{k}.nth", lo=1)),
                         Schedule(f"{k}.call", ScheduleKind.WEEKLY, self.hhmm(f"{k}.call_time"),
                                  self.weekday(f"{k}.call_weekday"))),
                        ExitRules(stop_multiple=self.frac(f"{k}.leap_stop_fraction"),
                                  roll_dte=self.integer(f"{k}.leap_roll_dte", 0, 2000)),
                        "positions", True, False),
            self.delta(f"{k}.leap"), self.dte(k), self.frac(f"{k}.max_extrinsic_fraction"),
            self.frac(f"{k}.min_below_52w_high"), self.integer(f"{k}.call_dte", 1, 60),
            self.integer(f"{k}.ema_fast", 1, 500), self.integer(f"{k}.ema_slow", 1, 500),
            self.integer(f"{k}.itm_strikes_below_ema", 0, 20),
            self.integer(f"{k}.itm_strikes_extended", 0, 20), self.frac(f"{k}.extended_fraction"),
            self.frac(f"{k}.call_profit_fraction"))
        if ip.ema_fast >= ip.ema_slow:
            raise ConfigError(f"{k}.ema_fast: value {ip.ema_fast} must be below "
                              f"{k}.ema_slow={ip.ema_slow}")

        # §8.5
        k = "leap_put_ladder"
        wdl = self.floats(f"{k}.week_deltas")
        lo, hi = self.frac(f"{k}.delta_min"), self.frac(f"{k}.delta_max")
        if len(wdl) != 5 or not all(lo <= d <= hi for d in wdl):
            raise ConfigError(f"{k}.week_deltas: value {wdl} must list 5 deltas inside "
                              f"[{k}.delta_min={lo}, {k}.delta_max={hi}]")
        la = LadderConfig(
            self.common(K.LEAP_PUT_LADDER,
                        (Schedule(f"{k}.entry", ScheduleKind.WEEKLY, self.hhmm(f"{k}.time"),
                                  self.weekday(f"{k}.weekday")),),
                        ExitRules(profit_target=self.frac(f"{k}.profit_target"),
                                  roll_dte=self.integer(f"{k}.roll_dte", 0, 2000)),
                        "positions", False, True),
            self.dte(k), wdl, lo, hi, self.pos(f"{k}.vix_skip_below"),
            self.pos(f"{k}.vix_double_above"), self.num(f"{k}.high_vix_size_factor", 1.0, 10.0))

        # §8.6
        k = "bear_trap"
        bt = BearTrapConfig(
            self.common(K.BEAR_TRAP,
                        (Schedule(f"{k}.entry", ScheduleKind.DAILY, self.hhmm(f"{k}.time")),),
                        ExitRules(profit_target=self.frac(f"{k}.profit_target"),
                                  stop_multiple=self.pos(f"{k}.stop_multiple"),
                                  dte_exit=dte_exit),
                        "positions", False, True),
            self.pos(f"{k}.vix_min"), self.pos(f"{k}.vix_max"), self.dte(k),
            self.delta(f"{k}.long"), self.delta(f"{k}.short"), self.delta(f"{k}.naked"))
        if bt.vix_min >= bt.vix_max:
            raise ConfigError(f"{k}.vix_min: value {bt.vix_min} must be below "
                              f"{k}.vix_max={bt.vix_max}")

        # §8.7
        k = "butterfly_0dte"
        wdb = self.weekday(f"{k}.weekday")
        bf = ButterflyConfig(
            self.common(K.BUTTERFLY_0DTE,
                        (Schedule(f"{k}.baseline", ScheduleKind.WEEKLY,
                                  self.hhmm(f"{k}.baseline_time"), wdb),
                         Schedule(f"{k}.entry", ScheduleKind.WEEKLY, self.hhmm(f"{k}.time"),
                                  wdb)),
                        ExitRules(profit_target=self.pos(f"{k}.profit_target"), time_stop=tstop),
                        "positions", True, False),
            self.hhmm(f"{k}.baseline_time"), self.frac(f"{k}.move_threshold"),
            self.pos(f"{k}.wing_points"), self.pos(f"{k}.center_offset_points"),
            self.frac(f"{k}.max_weekly_debit_nlv"))
        return StrategiesConfig(f0, lt, st, ip, la, bt, bf)

