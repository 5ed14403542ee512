"""The offline run loop: calendar, model, market, broker, store and the trading system.

For each trading day and each bar ``now``: ``market.advance(now)``; the broker's events for the
bar (``broker.process(now)``) go to ``system.on_fill``; ``system.on_bar(now)``; every rule due at
this bar goes to ``system.on_schedule(rule)`` (a rule fires at the first bar at or after its time
on days where :func:`strategies.schedule.rule_fires` says so). After the day's last bar (the
close): ``system.on_session_end(now)``, then ``broker.settle(day)``. At the end
``system.on_end()``.
"""

from __future__ import annotations

import math
import sys
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from config import load_config
from config.enums import Engine
from config.model import Config, Schedule
from execution.types import FillEvent
from sim.broker import SimBroker
from sim.calendar import FIRST_SUPPORTED, LAST_SUPPORTED, TradingCalendar
from sim.market import LISTING_HORIZON_DAYS, SimMarket
from sim.model import DEFAULT_HISTORY_DAYS, MarketModel
from sim.scenarios import DEFAULT_SCENARIO, SCENARIOS, scenario
from sim.store import FileStore
from sim.userdata import UserData, load_user_data
from system.results import SystemResults

EARLIEST_START = date(1992, 1, 2)
LATEST_END = date(2042, 12, 31)
MAX_STEP_MINUTES = 60


class SystemLike(Protocol):
    """What the loop drives (``system.trading_system.TradingSystem``)."""

    results: SystemResults

    def start(self) -> None: ...
    def schedules(self) -> tuple[Schedule, ...]: ...
    def on_bar(self, now: datetime) -> None: ...
    def on_schedule(self, rule: str) -> None: ...
    def on_fill(self, event: FillEvent) -> None: ...
    def on_session_end(self, now: datetime) -> None: ...
    def on_end(self) -> None: ...


SystemFactory = Callable[[Config, SimMarket, SimBroker, FileStore, Callable[[str], None]],
                         SystemLike]
RuleFires = Callable[[Schedule, date, Callable[[date], bool]], bool]


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One backtest's inputs. ``scenario`` is ignored when both CSV files are given."""

    start: date
    end: date
    cash: float = 100_000.0
    seed: int = 1
    step_minutes: int = 5
    scenario: str = DEFAULT_SCENARIO
    underlying_csv: Path | None = None
    vix_csv: Path | None = None

    def __post_init__(self) -> None:
        if not EARLIEST_START <= self.start < self.end <= LATEST_END:
            raise ValueError(f"start {self.start} and end {self.end} must satisfy "
                             f"{EARLIEST_START} <= start < end <= {LATEST_END}")
        if not (math.isfinite(self.cash) and self.cash > 0):
            raise ValueError(f"cash must be a positive number, got {self.cash!r}")
        if not 1 <= self.step_minutes <= MAX_STEP_MINUTES:
            raise ValueError(f"step_minutes must be 1..{MAX_STEP_MINUTES}, "
                             f"got {self.step_minutes}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if (self.underlying_csv is None) != (self.vix_csv is None):
            raise ValueError("user data needs both underlying_csv and vix_csv")
        if self.underlying_csv is None and self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; choose from "
                             f"{sorted(SCENARIOS)}")

    @property
    def user_data(self) -> bool:
        return self.underlying_csv is not None

    @property
    def label(self) -> str:
        if self.user_data:
            return f"user data ({self.underlying_csv}, {self.vix_csv})"
        return f"scenario {self.scenario}"


@dataclass(frozen=True, slots=True)
class Environment:
    """Everything built for a run before the trading system."""

    spec: RunSpec
    config: Config
    cal: TradingCalendar
    sessions: tuple[date, ...]
    model: MarketModel
    market: SimMarket
    broker: SimBroker


@dataclass(frozen=True, slots=True)
class RunResult:
    """What the report needs. ``equity`` is the broker's NLV after each session (dollars);
    ``market`` the S&P 500 and VIX closes of each session; ``log`` the system's log lines."""

    spec: RunSpec
    results: SystemResults
    equity: tuple[tuple[date, float], ...]
    steps: int
    runtime_seconds: float
    system_seconds: float
    starting_equity: float
    final_equity: float
    fees_paid: float
    shock_days: tuple[date, ...]
    market: tuple[tuple[date, float, float], ...] = field(default=())
    log: tuple[str, ...] = field(default=())

    @property
    def sessions(self) -> int:
        return len(self.equity)


def calendar_for(spec: RunSpec) -> TradingCalendar:
    """A calendar covering the history window, the run and the listing horizon."""
    first = max(FIRST_SUPPORTED, spec.start - timedelta(days=800))
    last = min(LAST_SUPPORTED, spec.end + timedelta(days=LISTING_HORIZON_DAYS + 60))
    return TradingCalendar(first, last)


def sessions_for(cal: TradingCalendar, spec: RunSpec) -> tuple[date, ...]:
    days = cal.sessions(spec.start, spec.end)
    if not days:
        raise ValueError(f"no NYSE trading day between {spec.start} and {spec.end}")
    return days


def load_data(spec: RunSpec, cal: TradingCalendar) -> UserData | None:
    """Validated user data for ``spec`` (raises :class:`sim.userdata.DataError`), or None."""
    if spec.underlying_csv is None or spec.vix_csv is None:
        return None
    return load_user_data(spec.underlying_csv, spec.vix_csv, sessions_for(cal, spec))


def build_environment(spec: RunSpec, config: Config | None = None,
                      cal: TradingCalendar | None = None, data: UserData | None = None,
                      history_days: int = DEFAULT_HISTORY_DAYS) -> Environment:
    """Calendar, model, market and broker for ``spec`` (user data loaded when not given)."""
    cfg = config or load_config()
    calendar = cal or calendar_for(spec)
    sessions = sessions_for(calendar, spec)
    if spec.user_data and data is None:
        data = load_data(spec, calendar)
    if data is not None:
        model = MarketModel(calendar, sessions, spec.seed, spec.step_minutes, spx=data.spx,
                            vix=data.vix, history_days=history_days)
    else:
        model = MarketModel(calendar, sessions, spec.seed, spec.step_minutes,
                            scenario=scenario(spec.scenario), history_days=history_days)
    market = SimMarket(model, calendar, cfg.risk_free_rate)
    broker = SimBroker(market, spec.cash)
    return Environment(spec, cfg, calendar, sessions, model, market, broker)


def default_system_factory(config: Config, market: SimMarket, broker: SimBroker,
                           store: FileStore, log: Callable[[str], None]) -> SystemLike:
    from system.trading_system import TradingSystem

    return TradingSystem(config, market, broker, store, engine=Engine.OFFLINE, log=log)


def default_rule_fires() -> RuleFires:
    from strategies.schedule import rule_fires

    return rule_fires


def due_rules(schedules: tuple[Schedule, ...], day: date, times: tuple[datetime, ...],
              is_trading_day: Callable[[date], bool], fires: RuleFires) -> dict[int, list[str]]:
    """Bar index -> rules to fire there: the first bar at or after each firing rule's time
    (a rule whose time is after the day's close does not fire)."""
    out: dict[int, list[str]] = {}
    for s in schedules:
        if not fires(s, day, is_trading_day):
            continue
        for i, t in enumerate(times):
            if t.time() >= s.at:
                out.setdefault(i, []).append(s.rule)
                break
    return out


def run(spec: RunSpec, state_dir: Path, *, env: Environment | None = None,
        system_factory: SystemFactory | None = None, fires: RuleFires | None = None,
        progress: bool = True) -> RunResult:
    """Run one backtest; the trading system's store lives in ``state_dir``.

    Parameters
    ----------
    spec
        The run's inputs.
    state_dir
        Directory for the :class:`FileStore` (created when missing).
    env
        A pre-built environment (built from ``spec`` when None).
    system_factory
        Builds the trading system (default: :class:`system.trading_system.TradingSystem`).
    fires
        The schedule predicate (default: :func:`strategies.schedule.rule_fires`).
    progress
        Show a per-day progress bar on stderr.
    """
    started = _time.perf_counter()
    env = env or build_environment(spec)
    store = FileStore(state_dir, durable=False)
    log_lines: list[str] = []
    factory = system_factory or default_system_factory
    system = factory(env.config, env.market, env.broker, store, log_lines.append)
    fire = fires or default_rule_fires()
    schedules = system.schedules()
    market, broker, cal = env.market, env.broker, env.cal
    equity: list[tuple[date, float]] = []
    closes: list[tuple[date, float, float]] = []
    steps = 0
    in_system = 0.0
    clock = _time.perf_counter
    bar = tqdm(total=len(env.sessions), file=sys.stderr, disable=not progress, unit="day",
               desc=spec.label, leave=False, mininterval=0.5)
    try:
        first = True
        for day in env.sessions:
            times = cal.bar_times(day, spec.step_minutes)
            due = due_rules(schedules, day, times, cal.is_trading_day, fire)
            now = times[0]
            for i, now in enumerate(times):
                market.advance(now)
                market.prefetch(broker.watch_set())
                t0 = clock()
                if first:
                    system.start()
                    first = False
                for event in broker.process(now):
                    system.on_fill(event)
                system.on_bar(now)
                for rule in due.get(i, ()):
                    system.on_schedule(rule)
                in_system += clock() - t0
                steps += 1
            t0 = clock()
            system.on_session_end(now)
            in_system += clock() - t0
            broker.settle(day)
            equity.append((day, broker.account().nlv))
            closes.append((day, market.day_close("SPX") or math.nan, float(market.state().vix[0])))
            bar.update(1)
        t0 = clock()
        system.on_end()
        in_system += clock() - t0
    finally:
        bar.close()
    return RunResult(
        spec=spec, results=system.results, equity=tuple(equity), steps=steps,
        runtime_seconds=_time.perf_counter() - started, system_seconds=in_system,
        starting_equity=spec.cash, final_equity=equity[-1][1] if equity else spec.cash,
        fees_paid=broker.fees_paid, shock_days=env.model.shock_days(), market=tuple(closes),
        log=tuple(log_lines),
    )
