"""The offline run loop: calendar, model, market, broker, store and the trading system.

For each trading day and each bar ``now``: ``market.advance(now)``; the broker's events for the
bar (``broker.process(now)``) go to ``system.on_fill``; ``system.on_bar(now)``; every rule due at
this bar goes to ``system.on_schedule(rule)`` (a rule fires at the first bar at or after its time
on days where :func:`strategies.schedule.rule_fires` says so). After the day's last bar (the
close): ``system.on_session_end(now)``, then ``broker.settle(day)``. At the end
``system.on_end()``.

Reliability (see docs/RELIABILITY.md): with ``RunSpec.faults`` the broker and the market inject
the faults of :mod:`sim.faults`; with ``RunSpec.restart_every_days = N`` the system is dropped
without warning (a crash: no ``on_end``) every N trading days (see :func:`restart_bar`) and a new
one is built from the same store and started (``start()`` loads the state and reconciles it with
the broker; events the old system had not received yet are delivered to the new one). Its
:class:`SystemResults` object is carried over, so the report covers the whole run. After every
session the engine audits the system (:class:`Audit`): the book plus the executor's held fills
equals the broker's holdings minus fills still in flight to the system, and no legged remainder
is open; at the end, that no position id had two entry orders and no order was sent for a
position that already had one working at the broker.
"""

from __future__ import annotations

import math
import sys
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from tqdm import tqdm

from config import load_config
from config.enums import Engine
from config.instruments import Contract
from config.model import Config, Schedule
from execution.executor import ComboExecutor
from execution.ledger import Ledger
from execution.types import FillEvent, OrderPurpose
from sim.broker import SimBroker
from sim.calendar import FIRST_SUPPORTED, LAST_SUPPORTED, TradingCalendar
from sim.faults import (
    BROKER_FAULTS,
    MARKET_FAULTS,
    BrokerFaults,
    Fault,
    FaultInjector,
    FaultPlan,
    FaultyMarket,
)
from sim.market import LISTING_HORIZON_DAYS, SimMarket
from sim.model import DEFAULT_HISTORY_DAYS, MarketModel
from sim.scenarios import DEFAULT_SCENARIO, SCENARIOS, scenario
from sim.store import FileStore
from sim.userdata import UserData, load_user_data
from system.ports import Market
from system.results import SystemResults

EARLIEST_START = date(1992, 1, 2)
LATEST_END = date(2042, 12, 31)
MAX_STEP_MINUTES = 60
MAX_RESTART_DAYS = 10_000
STORE_FLUSH_SESSIONS = 20
"""The run's store is written to disk after every this many sessions and at the end (a file
write costs about a millisecond on a large state; the system saves after every event)."""


class SystemLike(Protocol):
    """What the loop drives (``system.trading_system.TradingSystem``).

    ``results`` is assignable: after a restart the engine hands the new system the results
    object of the one it replaced.
    """

    results: SystemResults

    def start(self) -> None: ...
    def schedules(self) -> tuple[Schedule, ...]: ...
    def on_bar(self, now: datetime) -> None: ...
    def on_schedule(self, rule: str) -> None: ...
    def on_fill(self, event: FillEvent) -> None: ...
    def on_session_end(self, now: datetime) -> None: ...
    def on_end(self) -> None: ...


@runtime_checkable
class Auditable(Protocol):
    """A system whose book the engine can audit against the broker."""

    ledger: Ledger
    executor: ComboExecutor


SystemFactory = Callable[[Config, Market, SimBroker, FileStore, Callable[[str], None]],
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
    faults: frozenset[Fault] = frozenset()
    fault_rate: float = 0.0
    restart_every_days: int = 0

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
        FaultPlan(self.faults, self.fault_rate, self.seed)
        if not 0 <= self.restart_every_days <= MAX_RESTART_DAYS:
            raise ValueError(f"restart_every_days must be 0 (never) .. {MAX_RESTART_DAYS}, "
                             f"got {self.restart_every_days}")

    @property
    def fault_plan(self) -> FaultPlan:
        return FaultPlan(self.faults, self.fault_rate, self.seed)

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
    injector: FaultInjector | None = None
    faulty_market: FaultyMarket | None = None

    @property
    def system_market(self) -> Market:
        """The market the trading system sees (with quote/VIX faults when planned)."""
        return self.faulty_market if self.faulty_market is not None else self.market


@dataclass(slots=True)
class Audit:
    """What the engine checked about the system and the broker (each list names the failures).

    ``book_mismatches``: sessions where ledger holdings + executor held fills differed from the
    broker's holdings minus the fills still in flight to the system; ``legged_at_close``:
    sessions ending with a legged remainder open; ``duplicate_entries``: position ids with more
    than one entry order at the broker; ``overlapping_orders``: orders sent for a position that
    already had one working at the broker. ``restarts_with_working_orders``: restarts that
    dropped a system with orders working; ``restarts_with_fills_in_flight``: restarts while fills
    were on their way to the system (fault channel).
    """

    sessions_checked: int = 0
    book_mismatches: list[str] = field(default_factory=list)
    legged_at_close: list[str] = field(default_factory=list)
    duplicate_entries: list[str] = field(default_factory=list)
    overlapping_orders: int = 0
    restarts: int = 0
    restarts_with_working_orders: int = 0
    restarts_with_fills_in_flight: int = 0
    submits: int = 0

    @property
    def ok(self) -> bool:
        return not (self.book_mismatches or self.legged_at_close or self.duplicate_entries
                    or self.overlapping_orders)

    def risk_events(self) -> dict[str, int]:
        """Non-zero failure counts as ``audit_<check>`` risk events."""
        counts = {"audit_book_mismatch": len(self.book_mismatches),
                  "audit_legged_at_close": len(self.legged_at_close),
                  "audit_duplicate_entry": len(self.duplicate_entries),
                  "audit_overlapping_order": self.overlapping_orders}
        return {k: v for k, v in counts.items() if v}


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
    audit: Audit = field(default_factory=Audit)
    faults: dict[str, int] = field(default_factory=dict)

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
    plan = spec.fault_plan
    if not plan.active:
        broker = SimBroker(market, spec.cash)
        return Environment(spec, cfg, calendar, sessions, model, market, broker)
    injector = FaultInjector(plan)
    broker_faults = (BrokerFaults(injector, timedelta(minutes=spec.step_minutes))
                     if plan.faults & BROKER_FAULTS else None)
    broker = SimBroker(market, spec.cash, faults=broker_faults)
    faulty = FaultyMarket(market, injector) if plan.faults & MARKET_FAULTS else None
    return Environment(spec, cfg, calendar, sessions, model, market, broker, injector, faulty)


def default_system_factory(config: Config, market: Market, broker: SimBroker,
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


def restart_bar(day_index: int, every: int, due: dict[int, list[str]], bars: int) -> int | None:
    """First bar index of the day at which the system may be restarted, or None.

    Every ``every`` trading days (day index ``every``, ``2 every``, ...): the bar after the
    day's first scheduled rule when one is due, else the first bar (a restart before the open).
    From a rule's next bar on, :func:`run` restarts at the first bar with an order working, or at
    the close bar when none is; never while fills are in flight to the system (fault channel):
    then at the next such bar, at the latest the next day's first bar.
    """
    if every <= 0 or day_index == 0 or day_index % every:
        return None
    if due:
        after = min(due) + 1
        if after < bars:
            return after
    return 0


def _has_working(system: SystemLike) -> bool:
    """True when ``system`` has an order working (always True when it cannot tell)."""
    return not isinstance(system, Auditable) or bool(system.executor.working_orders())


def net_holdings(*books: dict[Contract, int], minus: dict[Contract, int] | None = None
                 ) -> dict[Contract, int]:
    """Signed contracts of ``books`` added up, ``minus`` taken off, zeros dropped: the audit
    compares the ledger's book plus its pending fills with the broker's holdings less what is
    still in flight."""
    out: dict[Contract, int] = {}
    for book in books:
        for c, q in book.items():
            out[c] = out.get(c, 0) + q
    for c, q in (minus or {}).items():
        out[c] = out.get(c, 0) - q
    return {c: q for c, q in out.items() if q}


def audit_session(system: SystemLike, broker: SimBroker, day: date, audit: Audit) -> None:
    """Compare the system's book with the broker after ``day``'s settlement (see
    :class:`Audit`); a system without a ledger is not audited."""
    if not isinstance(system, Auditable):
        return
    audit.sessions_checked += 1
    book = net_holdings(system.ledger.holdings(), system.executor.pending_fills())
    broker_view = net_holdings(broker.holdings(), minus=broker.in_flight())
    if book != broker_view:
        diff = sorted(net_holdings(broker_view, minus=book).items(), key=lambda kv: kv[0].symbol)
        audit.book_mismatches.append(
            f"{day}: broker minus book " + ", ".join(f"{c.symbol} {q:+d}" for c, q in diff))
    remainders = system.ledger.remainders()
    if remainders:
        audit.legged_at_close.append(
            f"{day}: " + ", ".join(f"#{p.position_id}" for p in remainders))


def audit_orders(broker: SimBroker, audit: Audit) -> None:
    """Broker-side order checks at the end of the run (see :class:`Audit`)."""
    entries: dict[str, int] = {}
    for s in broker.submits:
        if s.purpose is OrderPurpose.ENTRY:
            entries[s.position_id] = entries.get(s.position_id, 0) + 1
    audit.submits = len(broker.submits)
    audit.duplicate_entries = [f"#{pid}: {n} entry orders" for pid, n in entries.items() if n > 1]
    audit.overlapping_orders = broker.overlapping_submits


def run(spec: RunSpec, state_dir: Path, *, env: Environment | None = None,
        system_factory: SystemFactory | None = None, fires: RuleFires | None = None,
        progress: bool = True) -> RunResult:
    """Run one backtest; the trading system's store lives in ``state_dir``.

    Parameters
    ----------
    spec
        The run's inputs.
    state_dir
        Directory for the :class:`FileStore` (created when missing; written after every
        ``STORE_FLUSH_SESSIONS`` sessions and at the end, see ``FileStore.deferred``).
    env
        A pre-built environment (built from ``spec`` when None).
    system_factory
        Builds the trading system (default: :class:`system.trading_system.TradingSystem`); also
        called at every restart (``spec.restart_every_days``).
    fires
        The schedule predicate (default: :func:`strategies.schedule.rule_fires`).
    progress
        Show a per-day progress bar on stderr.
    """
    started = _time.perf_counter()
    env = env or build_environment(spec)
    store = FileStore(state_dir, durable=False, deferred=True)
    log_lines: list[str] = []
    factory = system_factory or default_system_factory
    view = env.system_market
    system = factory(env.config, view, env.broker, store, log_lines.append)
    fire = fires or default_rule_fires()
    audit = Audit()
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
        crash_at: int | None = None
        for day_index, day in enumerate(env.sessions):
            times = cal.bar_times(day, spec.step_minutes)
            due = due_rules(schedules, day, times, cal.is_trading_day, fire)
            planned = restart_bar(day_index, spec.restart_every_days, due, len(times))
            crash_at = planned if planned is not None else crash_at
            last = len(times) - 1
            now = times[0]
            for i, now in enumerate(times):
                market.advance(now)
                market.prefetch(broker.watch_set())
                t0 = clock()
                if first:
                    system.start()
                    first = False
                elif (crash_at is not None and i >= crash_at and not broker.in_flight()
                      and (crash_at == 0 or i == last or _has_working(system))):
                    crash_at = None
                    if isinstance(system, Auditable) and system.executor.working_orders():
                        audit.restarts_with_working_orders += 1
                    if broker.in_flight():
                        audit.restarts_with_fills_in_flight += 1
                    carried = system.results
                    system = factory(env.config, view, env.broker, store, log_lines.append)
                    system.results = carried
                    system.start()
                    audit.restarts += 1
                for event in broker.process(now):
                    system.on_fill(event)
                system.on_bar(now)
                for rule in due.get(i, ()):
                    system.on_schedule(rule)
                in_system += clock() - t0
                steps += 1
            if crash_at is not None:  # fills were in flight until the close: next open
                crash_at = 0
            t0 = clock()
            system.on_session_end(now)
            in_system += clock() - t0
            broker.settle(day)
            if (day_index + 1) % STORE_FLUSH_SESSIONS == 0:
                store.flush()
            audit_session(system, broker, day, audit)
            equity.append((day, broker.account().nlv))
            closes.append((day, market.day_close("SPX") or math.nan, float(market.state().vix[0])))
            bar.update(1)
        t0 = clock()
        system.on_end()
        in_system += clock() - t0
    finally:
        bar.close()
        store.flush()
    audit_orders(broker, audit)
    faults = env.injector.risk_events() if env.injector is not None else {}
    system.results.risk_events.update(faults)
    system.results.risk_events.update(audit.risk_events())
    return RunResult(
        spec=spec, results=system.results, equity=tuple(equity), steps=steps,
        runtime_seconds=_time.perf_counter() - started, system_seconds=in_system,
        starting_equity=spec.cash, final_equity=equity[-1][1] if equity else spec.cash,
        fees_paid=broker.fees_paid, shock_days=env.model.shock_days(), market=tuple(closes),
        log=tuple(log_lines), audit=audit, faults=faults,
    )
