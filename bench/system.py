"""Cost of the trading system's per-bar work and of one entry decision per strategy.

Everything runs on the offline engine's market (scenario ``normal``, seed 1, 5-minute bars from
2012-01-03), so quotes, chains and the account come from the same :class:`sim.market.SimMarket`
a backtest uses. Market-side work that the engine does anyway before calling the system (moving
to the bar, valuing the held contracts in one vectorised call) is not timed. The simulated
broker's account for the bar (cash plus the book's value, buying power used from its margin
model; the SPAN part is recomputed every 30 minutes) is timed on its own rows before each
``on_bar``: it is the broker's work, which LEAN's portfolio does for a live or LEAN run, and the
system reads it through the market port.

``on_bar`` with 20 open positions
    The book is built by walking the sessions bar by bar as the engine does (advance, broker
    events to ``on_fill``, ``on_bar``). The entry rules of the multi-day strategies (LT112,
    futures strangles, IPMCC LEAP, LEAP put ladder, bear trap) are asked for ideas every session
    at their time, the IPMCC weekly call on its own calendar, and each idea is sent for one unit
    through the system's executor (entry price walk, fills from the simulated broker) without
    the pre-trade gate: its correlation and buying-power limits would stop the account well below
    20 positions, and 20 is the size the budget is set for. The book's account has 1,000,000 USD
    so the broker's margin check does not refuse entries. 0DTE structures are left out (they live
    for hours). Exits happen as in a backtest, so the walk goes on until 20 positions are open at
    a close. On the next session every bar is timed twice: the first ``on_bar(now)`` runs the
    exit check (due every 5 minutes: marks of every leg, greeks where an exit rule reads deltas,
    the exit engine per position), the second call at the same ``now`` finds no check due. The
    day's first bar (phase, breakers, the morning stress of the book) is shown on its own.

``on_schedule(rule)``, one per strategy
    For each strategy's entry rule, on the first session where it fires: ``SAMPLES`` fresh
    systems (empty book, 100,000 USD) are brought to the rule's bar with ``on_bar`` (and, for the
    butterfly, its 10:30 baseline rule), then ``on_schedule(rule)`` is timed once on each. The
    median is reported, labelled with what the decision was (order sent, skip or rejection
    reason). One untimed system goes first so the market's per-bar chain cache is warm: what is
    timed is the system (chain snapshot with implied vols and greeks, selection, the pre-trade
    gate with its stress test, sizing, order submission and persistence), not chain synthesis.
"""

from __future__ import annotations

import statistics
import time as clock
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

from config.enums import Engine
from config.model import Schedule
from execution.types import ComboLeg, OrderPurpose
from sim.broker import SimBroker
from sim.engine import Environment, RunSpec, build_environment, due_rules
from strategies.meta import entry_meta
from strategies.schedule import rule_fires
from strategies.types import TradeIdea
from system.trading_system import TradingSystem

START = date(2012, 1, 3)
END = date(2012, 6, 29)
STEP_MINUTES = 5
BOOK_SIZE = 20
BOOK_CASH = 1_000_000.0
DECISION_CASH = 100_000.0
SAMPLES = 10
DAILY_BOOK_RULES = frozenset({
    "lt112.entry", "futures_strangle.entry", "ipmcc.entry", "leap_put_ladder.entry",
    "bear_trap.entry",
})
CALENDAR_BOOK_RULES = frozenset({"ipmcc.call"})
SETUP_RULES = {"butterfly_0dte.entry": ("butterfly_0dte.baseline",)}

Row = tuple[str, float, str]


@dataclass
class _MemoryStore:
    """Store port in memory (the engine's FileStore would time file writes)."""

    data: dict[str, str] = field(default_factory=dict)

    def save(self, key: str, text: str) -> None:
        self.data[key] = text

    def load(self, key: str) -> str | None:
        return self.data.get(key)


def _book_fires(schedule: Schedule, day: date, is_trading_day: Callable[[date], bool]) -> bool:
    """When the book's entries are sent: the multi-day strategies' entry rules every session,
    the IPMCC weekly call on its own calendar."""
    if schedule.rule in DAILY_BOOK_RULES:
        return is_trading_day(day)
    return schedule.rule in CALENDAR_BOOK_RULES and rule_fires(schedule, day, is_trading_day)


def _outcome_label(system: TradingSystem, broker: SimBroker) -> str:
    """What the last decision of a fresh system was: an order, or its skip/rejection reason."""
    if broker.submits:
        return "order sent"
    for reasons in system.results.skips.values():
        for reason in reasons:
            return f"skip {reason}"
    for check, reasons in system.results.rejections.items():
        for reason in reasons:
            return f"reject {check}/{reason}"
    return "no decision"


@dataclass
class _Decision:
    """Fresh systems waiting for one entry rule's bar."""

    rule: str
    systems: list[tuple[TradingSystem, SimBroker]]
    outcome: str = ""
    micros: list[float] = field(default_factory=list)


class _Walk:
    """Moves the market through the sessions bar by bar, as :func:`sim.engine.run` does, and
    drives the book system and the decision systems."""

    def __init__(self) -> None:
        self.env: Environment = build_environment(RunSpec(
            START, END, cash=BOOK_CASH, seed=1, step_minutes=STEP_MINUTES, scenario="normal"))
        self.market = self.env.market
        self.broker = self.env.broker
        self.book = TradingSystem(self.env.config, self.market, self.broker, _MemoryStore(),
                                  engine=Engine.OFFLINE)
        self.schedules = self.book.schedules()
        self.owner = {sc.rule: s for s in self.book.strategies.values() for sc in s.schedules()}
        self.pending = {next(sc.rule for sc in s.schedules() if sc.rule.endswith(".entry"))
                        for s in self.book.strategies.values()}
        self.decisions: dict[str, _Decision] = {}
        self.next_pid = 1001

    def _fresh(self) -> tuple[TradingSystem, SimBroker]:
        broker = SimBroker(self.market, DECISION_CASH)
        system = TradingSystem(self.env.config, self.market, broker, _MemoryStore(),
                               engine=Engine.OFFLINE)
        return system, broker

    def _rebind(self) -> None:
        self.market.bind_account(self.broker.account)

    def open_or_entering(self) -> int:
        return len(self.book.positions()) + len(self.book.executor.working_entries())

    def _enter(self, rule: str, now: datetime) -> None:
        """Ask ``rule``'s strategy for ideas and send each as the system would after an approval
        of one unit (the executor's entry walk; fills come back from the broker)."""
        owner = self.owner[rule]
        book = self.book
        for idea in owner.on_rule_all(rule, book.context(owner.key, now)) or ():
            if not isinstance(idea, TradeIdea) or self.open_or_entering() >= BOOK_SIZE:
                continue
            if idea.replaces is None and book.executor.has_working_entry(idea.key, idea.root):
                continue
            pid = str(self.next_pid)
            self.next_pid += 1
            legs = tuple(ComboLeg(leg.contract, leg.ratio) for leg in idea.legs)
            purpose = OrderPurpose.ROLL if idea.replaces else OrderPurpose.ENTRY
            book.ledger.expect_entry(pid, idea, meta=entry_meta(idea))
            book.executor.submit_entry(pid, f"{idea.key.value} #{pid}", legs, 1,
                                       self.market.quote, now, purpose=purpose, key=idea.key,
                                       replaces=idea.replaces)
            for outcome in book.executor.take_outcomes():
                if outcome.has_fills:
                    book.ledger.apply(outcome)

    def _decide(self, d: _Decision, now: datetime, setup: tuple[str, ...], timed: bool) -> None:
        """Bring ``d``'s systems to bar ``now``; time ``d.rule`` on each when ``timed``."""
        for i, (system, broker) in enumerate(d.systems):
            self.market.bind_account(broker.account)
            system.on_bar(now)
            for rule in setup:
                system.on_schedule(rule)
            if not timed:
                continue
            t0 = clock.perf_counter()
            system.on_schedule(d.rule)
            elapsed = clock.perf_counter() - t0
            if i > 0:
                d.micros.append(elapsed * 1e6)
            d.outcome = _outcome_label(system, broker)
        self._rebind()

    def step(self, now: datetime) -> None:
        """The engine's work for bar ``now`` before the system's ``on_bar``."""
        self.market.advance(now)
        self.market.prefetch(self.broker.watch_set())
        for event in self.broker.process(now):
            self.book.on_fill(event)

    def build(self) -> tuple[date, tuple[datetime, ...]]:
        """Walk until the book holds BOOK_SIZE positions at a close and every entry rule was
        timed; return the next session and its bar times."""
        cal = self.env.cal
        for day in self.env.sessions:
            times = cal.bar_times(day, STEP_MINUTES)
            if len(self.book.positions()) >= BOOK_SIZE and not self.pending:
                return day, times
            due = due_rules(self.schedules, day, times, cal.is_trading_day, rule_fires)
            book_due = due_rules(self.schedules, day, times, cal.is_trading_day,
                                 _book_fires)
            todays: dict[str, _Decision] = {}
            for rule in (r for rules in due.values() for r in rules if r in self.pending):
                todays[rule] = _Decision(rule, [self._fresh() for _ in range(SAMPLES + 1)])
                self.pending.discard(rule)
            self._rebind()
            for i, now in enumerate(times):
                self.step(now)
                self.book.on_bar(now)
                rules = due.get(i, [])
                for rule in book_due.get(i, []):
                    if self.open_or_entering() < BOOK_SIZE:
                        self._enter(rule, now)
                for d in todays.values():
                    setup = tuple(r for r in rules if r in SETUP_RULES.get(d.rule, ()))
                    if setup or d.rule in rules:
                        self._decide(d, now, setup, timed=d.rule in rules)
            self.book.on_session_end(times[-1])
            self.broker.settle(day)
            self.decisions.update(todays)
        raise RuntimeError("the walk ran out of sessions before the book was complete")


def _timed(fn: Callable[[], object]) -> float:
    t0 = clock.perf_counter()
    fn()
    return (clock.perf_counter() - t0) * 1e6


def run() -> list[Row]:
    walk = _Walk()
    day, times = walk.build()
    book = walk.book
    positions = book.positions()
    n_legs = sum(len(p.legs) for p in positions)
    mix = Counter(p.key.value for p in positions)
    orders_before = len(walk.broker.submits)

    account = walk.broker.account
    walk.step(times[0])
    account()
    first_bar = _timed(lambda: book.on_bar(times[0]))
    due_us: list[float] = []
    idle_us: list[float] = []
    account_us: list[float] = []
    for now in times[1:]:
        walk.step(now)
        account_us.append(_timed(account))
        due_us.append(_timed(partial(book.on_bar, now)))
        idle_us.append(_timed(partial(book.on_bar, now)))
    exit_orders = len(walk.broker.submits) - orders_before

    n = len(positions)
    rows: list[Row] = [
        (f"on_bar, {n} positions, exit check due (median)", statistics.median(due_us), "us"),
        (f"on_bar, {n} positions, exit check due (90th pct)",
         statistics.quantiles(due_us, n=10)[-1], "us"),
        (f"on_bar, {n} positions, no exit check due (median)",
         statistics.median(idle_us), "us"),
        (f"on_bar, {n} positions, first bar of the day", first_bar, "us"),
        ("simulated broker: the book's account for the bar (median)",
         statistics.median(account_us), "us"),
        ("simulated broker: the book's account for the bar (90th pct)",
         statistics.quantiles(account_us, n=10)[-1], "us"),
        (f"book on {day}: option legs", float(n_legs), "legs"),
    ]
    rows.extend((f"book on {day}: {key}", float(count), "positions")
                for key, count in sorted(mix.items()))
    rows.append(("orders sent by the timed on_bar calls", float(exit_orders), "orders"))
    for rule in sorted(walk.decisions):
        d = walk.decisions[rule]
        rows.append((f"on_schedule({rule}): {d.outcome}", statistics.median(d.micros),
                     "us/call"))
    return rows


if __name__ == "__main__":
    for label, value, unit in run():
        print(f"{label:<70} {value:>12,.1f}  {unit}")
