"""TradingSystem: the one place that wires configuration, risk, strategies, executor and ledger.

An engine (LEAN through ``main.py``/``lean_bridge``, or ``sim``) drives it through five calls:
``on_bar(now)`` every bar, ``on_schedule(rule)`` when a declared rule fires, ``on_fill(event)`` for
every broker event, ``on_session_end(now)`` after the day's last bar, and ``on_end()``. Market
data, orders and storage go through the ports in :mod:`system.ports`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast

from config.enums import BreakerLevel, Engine, Phase, Regime, StrategyKey
from config.instruments import Contract, instrument
from config.model import Config, Schedule
from execution.codec import Json, JsonObj
from execution.executor import ComboExecutor, OrderOutcome, OutcomeStatus, WorkingOrderSnapshot
from execution.ledger import BookChange, Ledger
from execution.persistence import StateWriter, load_state
from execution.reconcile import apply_reconciliation, reconcile
from execution.types import (
    ComboLeg,
    ExitDecision,
    ExitReason,
    FillEvent,
    OrderPurpose,
    Position,
    PositionLeg,
    Quote,
)
from risk.breakers import BreakerSnapshot, CircuitBreakers
from risk.correlation import CorrelationLimiter
from risk.gate import GateState, PreTradeGate
from risk.legs import StressLeg
from risk.phase import PhaseManager
from risk.sizing import PositionSizer, Realised
from risk.stress import StressResult, StressTest
from risk.types import Approval, Rejection
from risk.vix_regime import VixRegimeManager
from strategies.base import StrategyBase
from strategies.chain import ChainSnapshot
from strategies.exits import ExitEngine
from strategies.marks import MarkPlan, legs_iv
from strategies.meta import entry_meta
from strategies.quotes import year_fraction
from strategies.registry import build_strategies
from strategies.types import FloatArray, PositionMark, Skip, StrategyContext, TradeIdea
from system.ports import Broker, Market, Store
from system.results import DailyRecord, StrategyStats, SystemResults

__all__ = ["STATE_KEY", "TradingSystem"]

STATE_KEY = "tom_king_state"
SESSION_CLOSE = time(16, 0)


@dataclass(frozen=True, slots=True)
class _Pending:
    """An entry (or roll) order in flight: what it was meant to open."""

    idea: TradeIdea
    approval: Approval
    rule: str


class _Context:
    """:class:`strategies.types.StrategyContext` for one rule call."""

    def __init__(self, system: TradingSystem, key: StrategyKey, now: datetime) -> None:
        self._s = system
        self._key = key
        self._now = now

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def engine(self) -> Engine:
        return self._s.engine

    @property
    def config(self) -> Config:
        return self._s.config

    @property
    def phase(self) -> Phase:
        return self._s.phases.phase

    @property
    def regime(self) -> Regime:
        return self._s.vix.regime(self._now)

    @property
    def vix(self) -> float | None:
        return self._s.vix.value(self._now)

    @property
    def vix_open(self) -> float | None:
        return self._s.vix.day_open

    @property
    def nlv(self) -> float:
        return self._s.market.account().nlv

    def chain(self, root: str, min_dte: int, max_dte: int) -> ChainSnapshot | Skip:
        return self._s.chain(self._key, root, min_dte, max_dte, self._now)

    def price(self, root: str) -> float | None:
        point = self._s.market.price(root)
        return None if point is None else point.value

    def session_open(self, root: str) -> float | None:
        return self._s.market.session_open(root)

    def daily_closes(self, root: str, days: int) -> FloatArray:
        return self._s.market.daily_history(root, days)

    def atm_iv_history(self, root: str, days: int) -> FloatArray:
        return self._s.market.atm_iv_history(root, days)

    def positions(self, key: StrategyKey | None = None) -> tuple[Position, ...]:
        return self._s.positions(key)


class TradingSystem:
    """Wires the trading core to an engine's ports.

    Parameters
    ----------
    config
        Validated configuration (:func:`config.load_config`).
    market, broker, store
        The engine's ports.
    engine
        Which engine runs the core; selects instruments (e.g. SPXW for the LEAN 0DTE).
    log
        Receives one-line structured log messages.
    """

    def __init__(self, config: Config, market: Market, broker: Broker, store: Store,
                 engine: Engine = Engine.OFFLINE,
                 log: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.market = market
        self.broker = broker
        self.store = store
        self.engine = engine
        self._log = log or (lambda _msg: None)
        self.strategies: dict[StrategyKey, StrategyBase] = {
            s.key: s for s in build_strategies(config)}
        self._rules: dict[str, StrategyBase] = {}
        for strategy in self.strategies.values():
            for schedule in strategy.schedules():
                self._rules[schedule.rule] = strategy
        self.vix = VixRegimeManager(config)
        self.phases = PhaseManager(config)
        self.breakers = CircuitBreakers(config)
        self.correlation = CorrelationLimiter(config)
        self.stress = StressTest(config)
        self.sizer = PositionSizer(config)
        self.gate = PreTradeGate(config, self.vix, self.phases, self.breakers, self.correlation,
                                 self.stress, self.sizer)
        self.exits = ExitEngine(config)
        self.executor = ComboExecutor(config, broker)
        self.ledger = Ledger(config)
        self.results = SystemResults()
        self._writer = StateWriter(store, STATE_KEY)
        self._pending: dict[str, _Pending] = {}
        self._next_id = 1
        self._day: date | None = None
        self._last_exit_check: datetime | None = None
        self._safe_mode: str | None = None
        self._unmanaged_roots: set[str] = set()
        self._chain_cache: dict[tuple[str, int, int], ChainSnapshot | Skip] = {}
        self._chain_cache_time: datetime | None = None
        self._mark_plan: MarkPlan | None = None
        self._morning_stress: StressResult | None = None
        self._day_open_equity: float | None = None
        self._last_regime: Regime | None = None
        self._last_level = BreakerLevel.NORMAL
        self._flatten_pending = False
        self._started = False
        self._resume: dict[str, Json] | None = None

    # ------------------------------------------------------------------ lifecycle
    def schedules(self) -> tuple[Schedule, ...]:
        """Every strategy's declared schedules (what an engine registers)."""
        return tuple(s for strategy in self.strategies.values() for s in strategy.schedules())

    def start(self) -> None:
        """Load persisted state and reconcile it with the broker's holdings.

        Unusable stored state (corrupted, truncated, other format) is kept aside by the loader and
        the system starts in a safe mode with no new entries; positions the broker holds are then
        adopted as unmanaged rather than forgotten.
        """
        self._started = True
        now = self.market.now()
        loaded = load_state(self.store, STATE_KEY, self.config)
        working: tuple[WorkingOrderSnapshot, ...] = ()
        if loaded.problem is not None:
            self._safe_mode = f"stored state unusable: {loaded.problem}"
            self._event("state_corrupt")
            self._log(f"SAFE-MODE {self._safe_mode} (bad copy kept as {loaded.quarantine_key}); "
                      "no new entries until resolved")
        state = loaded.state
        session = state.extras.get("session") if state is not None else None
        if state is not None:
            self.ledger = state.ledger
            working = state.working
            self.executor.remember_events(state.seen_events)
            self._next_id = max(self._next_id, int(state.counters.get("next_id", 1)))
            breakers = state.extras.get("breakers")
            if isinstance(breakers, dict):
                try:
                    self.breakers.restore(BreakerSnapshot.from_dict(breakers))
                except (KeyError, TypeError, ValueError) as exc:
                    self._safe_mode = f"stored breaker state unusable: {exc}"
                    self._event("state_corrupt")
            self._event("restarts")
        rec = reconcile(self.ledger.positions(), working, self.broker.holdings())
        for note in rec.notes:
            self._log(f"RECONCILE {note}")
        for _ in rec.missing:
            self._event("reconcile_missing_at_broker")
        for _ in rec.resized:
            self._event("reconcile_resized")
        if rec.unmanaged:
            self._event("reconcile_unmanaged_holding")
        self._unmanaged_roots |= set(rec.unmanaged_roots)
        self._absorb(apply_reconciliation(rec, self.ledger, self.executor, now))
        if isinstance(session, dict):  # the phase now (events may come before the first bar)
            self._resume = session
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self._last_regime = Regime[cast(str, session["regime"])]
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self.phases.restore(Phase(cast(int, session["phase"])),
                                    date.fromisoformat(cast(str, session["day"])))
        self._persist()

    def _resume_session(self, stored: dict[str, Json], now: datetime) -> None:
        """After a restart during the session ``stored`` was saved in: continue its opening
        equity, opening VIX and morning stress result."""
        if stored.get("day") != now.date().isoformat():
            return
        with contextlib.suppress(KeyError, TypeError, ValueError):
            self._day_open_equity = float(cast(float, stored["open_equity"]))
            loss = stored["stress_loss"]
            self._morning_stress = None if loss is None else StressResult(
                float(cast(float, loss)), str(stored["stress_scenario"]), ())
            vix_open = stored["vix_open"]
            if vix_open is not None:  # as an old print: it is the open, not a current value
                self.vix.update(float(cast(float, vix_open)), datetime.combine(now.date(),
                                                                                time.min))
        memos = stored.get("memos")
        if isinstance(memos, dict):
            for name, memo in memos.items():
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    self.strategies[StrategyKey(name)].restore_day_memo(
                        {str(k): float(cast(float, v)) for k, v in cast(dict[str, Json],
                                                                        memo).items()})

    # ------------------------------------------------------------------ bars
    def on_bar(self, now: datetime) -> None:
        """One bar: VIX, phase, breakers, order walking, exit checks, invariants."""
        if not self._started:
            self.start()
        save = self._day != now.date()
        if save:
            self._start_day(now)
        point = self.market.vix()
        if point is not None:
            self.vix.update(point.value, point.time)
        regime = self.vix.regime(now)
        if regime is not self._last_regime:
            if self._last_regime is not None:
                self._event("regime_change")
            self._event(f"regime_{regime.name.lower()}")
            self._log(f"REGIME {regime.name} vix {self.vix.value(now)}")
            self._last_regime = regime
            save = True
        if save:  # the day's open (equity, VIX, stress) and the regime survive a restart
            self._persist()
        account = self.market.account()
        self.breakers.update(account.nlv, now)
        self._track_breakers()
        for outcome in self.executor.on_time(now, self._quote):
            self._book(outcome)
        due = (self._last_exit_check is None
               or now - self._last_exit_check
               >= timedelta(minutes=self.config.exits.check_minutes)
               or self.breakers.flatten_requested)
        if due:
            self._last_exit_check = now
            self._check_exits(now)
        util = account.bp_used / account.nlv if account.nlv > 0 else 0.0
        inv = self.results.invariants
        inv.max_bp_utilization = max(inv.max_bp_utilization, util)

    def _start_day(self, now: datetime) -> None:
        self._day = now.date()
        self.vix.start_day(now.date())
        account = self.market.account()
        previous = self.phases.phase if self._day_open_equity is not None else None
        phase = self.phases.evaluate(account.nlv, now.date())
        if previous is not None and phase is not previous:
            self._event("phase_change")
            self._log(f"PHASE {previous.name} -> {phase.name} nlv {account.nlv:.0f}")
        self.breakers.start_day(now.date(), account.nlv, book_flat=not self.positions())
        self._day_open_equity = account.nlv
        self._morning_stress = self._book_stress(now)
        resume, self._resume = self._resume, None
        if resume is not None:
            self._resume_session(resume, now)
        self._week_key = now.isocalendar()[:2]

    # ------------------------------------------------------------------ rules / entries
    def on_schedule(self, rule: str) -> None:
        """A declared rule fired at the market's current time."""
        now = self.market.now()
        if not self._started:
            self.start()
        if self._day != now.date():
            self._start_day(now)
        strategy = self._rules.get(rule)
        if strategy is None:
            self._log(f"SCHEDULE unknown rule {rule!r}")
            return
        ctx = self.context(strategy.key, now)
        memo = strategy.day_memo()
        try:
            outcomes = strategy.on_rule_all(rule, ctx)
        except Exception as exc:  # a strategy defect must not stop the trading loop
            self._skip(Skip(strategy.key, "strategy_error", f"{type(exc).__name__}: {exc}"))
            return
        if strategy.day_memo() != memo:  # e.g. the butterfly's baseline: a restart keeps it
            self._persist()
        for out in outcomes or ():
            if isinstance(out, Skip):
                self._skip(out)
            else:
                self._consider(out, rule, now)

    def _consider(self, idea: TradeIdea, rule: str, now: datetime) -> None:
        key = idea.key
        if self._safe_mode is not None:
            self._reject(key, Rejection("system", "safe_mode", detail=self._safe_mode))
            return
        underlying = instrument(idea.root).underlying
        if underlying in self._unmanaged_roots or idea.root in self._unmanaged_roots:
            self._reject(key, Rejection("system", "unmanaged_holding_on_root",
                                        observed=idea.root))
            return
        if idea.replaces is None and self.executor.has_working_entry(key, idea.root):
            self._reject(key, Rejection("system", "order_already_working", observed=idea.root))
            return
        if idea.parent_id is not None:
            # A child (an IPMCC short call) is covered by its parent: never open it against a
            # parent that is gone or has an exit or roll working.
            if self.ledger.position(idea.parent_id) is None:
                self._reject(key, Rejection("system", "parent_not_open", observed=idea.parent_id))
                return
            if self.executor.is_working(idea.parent_id):
                self._reject(key, Rejection("system", "parent_order_working",
                                            observed=idea.parent_id))
                return
        account = self.market.account()
        candidate = self._idea_stress_legs(idea, now)
        if isinstance(candidate, Rejection):
            self._reject(key, candidate)
            return
        in_flight = self._entries_in_flight(now)
        book = self._book_legs(now, exclude=idea.replaces, extra=in_flight)
        if isinstance(book, Rejection):
            self._reject(key, book)
            return
        state = GateState(
            now=now, nlv=account.nlv, account=account, phase=self.phases.phase,
            positions=self.positions() + in_flight, book_legs=tuple(book),
            candidate_legs=tuple(candidate), realised=self._realised(key),
            unmanaged_roots=frozenset(self._unmanaged_roots),
            bp_reserved=self._bp_reserved(in_flight),
        )
        verdict = self.gate.evaluate(idea, state)
        if isinstance(verdict, Rejection):
            self._reject(key, verdict)
            return
        pid = str(self._next_id)
        self._next_id += 1
        legs = tuple(ComboLeg(leg.contract, leg.ratio) for leg in idea.legs)
        purpose = OrderPurpose.ROLL if idea.replaces else OrderPurpose.ENTRY
        self.ledger.expect_entry(pid, idea, meta=entry_meta(idea))
        self._pending[pid] = _Pending(idea, verdict, rule)
        order_id = self.executor.submit_entry(
            pid, f"{key.value} #{pid}", legs, verdict.contracts, self._quote, now,
            purpose=purpose, key=key, replaces=idea.replaces)
        if order_id is None:
            self._pending.pop(pid, None)
            self._reject(key, Rejection("execution", self.executor.last_refusal_reason,
                                        detail=self.executor.last_refusal))
            return
        for outcome in self.executor.take_outcomes():
            self._book(outcome)
        self._log(f"ORDER {key.value} #{pid} {idea.root} {idea.expiry} {idea.structure} "
                  f"{verdict.contracts}x mid {idea.net_mid:+.2f} ({verdict.binding}); "
                  f"{idea.reason}")
        self._persist()

    # ------------------------------------------------------------------ fills
    def on_fill(self, event: FillEvent) -> None:
        """A broker event: forward to the executor, book what completed."""
        try:
            outcomes = self.executor.on_event(event)
        except Exception as exc:  # never let a malformed event stop the loop
            self._event("order_event_error")
            self._log(f"EVENT-ERROR {event.order_id}: {type(exc).__name__}: {exc}")
            return
        for outcome in outcomes:
            self._book(outcome)
        self._persist()  # also leg fills held by the executor: a restart must not lose them

    def _book(self, o: OrderOutcome) -> None:
        """Book one finished order: the ledger decides what it opened or closed."""
        if o.status is OutcomeStatus.LEGGED:
            self.results.invariants.orders_legged += 1
            self._event("order_legged")
        elif o.status is not OutcomeStatus.FILLED:
            self._event(f"order_{o.status.value}")
        pending = self._pending.pop(o.position_id, None)
        key = pending.idea.key if pending is not None else (  # after a restart: the order's
            o.key if o.purpose in (OrderPurpose.ENTRY, OrderPurpose.ROLL) else None)
        if key is not None and not o.has_fills:
            self._reject(key, Rejection("execution", f"entry_{o.status.value}", detail=o.reason))
        if not o.has_fills:
            return
        change = self.ledger.apply(o)
        self._absorb(change)

    def _absorb(self, change: BookChange) -> None:
        """Log and check what a booking changed; flatten any legged remainder at once."""
        for position in change.opened:
            self._check_open_invariants(position)
            self._log(f"ENTRY {position.key.value} #{position.position_id} {position.root} "
                      f"{position.expiry} {position.units}x"
                      f"({'/'.join(f'{leg.ratio:+d}' for leg in position.legs)}) "
                      f"price {position.entry_price:+.2f}")
        for trade in change.closed:
            self._log(f"EXIT {trade.strategy} #{trade.position_id} {trade.exit_reason} "
                      f"pnl {trade.pnl:+.2f}")
        for problem in change.problems:
            self._event("book_problem")
            self._log(f"BOOK-PROBLEM {problem}")
        for remainder in change.remainders:
            self._event("legged_remainder")
            self._flatten_remainder(remainder)

    def _flatten_remainder(self, position: Position) -> None:
        now = self.market.now()
        decision = ExitDecision(position.position_id, ExitReason.BREAKER_FLATTEN,
                                "legged remainder", urgent=True)
        self._submit_exit(position, decision, now)

    # ------------------------------------------------------------------ exits
    def _check_exits(self, now: datetime) -> None:
        # While the breaker stays at the flatten level every pass closes whatever is still open
        # (an exit that was not sent, was refused, or waited for its children is sent again).
        flatten = self.breakers.level is BreakerLevel.FLATTEN
        if self.breakers.flatten_requested:
            for order_id in self.executor.working_entries():
                self.executor.cancel(order_id, now)
        candidates = [p for p in self.positions()
                      if not self.executor.is_working(p.position_id)]
        if flatten and candidates:
            self._event("flatten_pass")
        marks = self._marks(candidates, now)
        vix, nlv = self.vix.value(now), self.market.account().nlv
        contexts: dict[StrategyKey, StrategyContext] = {}
        for position in candidates:
            key = position.key
            ctx = contexts.get(key)
            if ctx is None:
                ctx = contexts[key] = self.context(key, now)
            decision = self.exits.evaluate(position, marks[position.position_id], now, vix, nlv,
                                           flatten, self.strategies[key], ctx)
            if decision is None:
                continue
            arriving = [p for p in self._entries_in_flight(now)
                        if p.parent_id == position.position_id]
            if arriving:
                # A child entry still working would be left uncovered: cancel it and close the
                # parent on a later pass, once the child's order is done.
                for child in arriving:
                    child_order = self.executor.working_order_id(child.position_id)
                    if child_order is not None:
                        self.executor.cancel(child_order, now)
                continue
            children = [p for p in self.positions() if p.parent_id == position.position_id]
            if children:
                # Close what the position covers first (an IPMCC short call before its LEAP), so
                # no short leg is ever left uncovered; the parent follows on a later pass.
                for child in children:
                    if not self.executor.is_working(child.position_id):
                        self._submit_exit(child, ExitDecision(
                            child.position_id, decision.reason,
                            f"parent #{position.position_id}: {decision.detail}",
                            urgent=decision.urgent), now)
                continue
            self._submit_exit(position, decision, now)
        if self.breakers.flatten_requested:
            self.breakers.acknowledge_flatten()

    def _submit_exit(self, position: Position, decision: ExitDecision, now: datetime) -> None:
        legs = decision.legs or position.legs
        combo = tuple(ComboLeg(leg.contract, -leg.ratio) for leg in legs)
        order_id = self.executor.submit_exit(
            position.position_id, f"{position.key.value} #{position.position_id}", combo,
            position.units, self._quote, now, urgent=decision.urgent,
            purpose=OrderPurpose.EXIT, key=position.key, exit_reason=decision.reason)
        if order_id is None:
            self._event(f"exit_not_sent_{self.executor.last_refusal_reason}")
            return
        for outcome in self.executor.take_outcomes():
            self._book(outcome)
        self._log(f"EXIT-ORDER {position.key.value} #{position.position_id} "
                  f"{decision.reason.name} {decision.detail}")
        self._persist()

    # ------------------------------------------------------------------ session end
    def on_session_end(self, now: datetime) -> None:
        """After the last bar: settle positions expiring today, record the day."""
        today = now.date()
        self._absorb(self.ledger.settle_expired(today, self._settlement_price, when=now))
        account = self.market.account()
        change = account.nlv - (self._day_open_equity or account.nlv)
        stress = self._morning_stress
        self.results.daily.append(DailyRecord(
            day=today, equity=account.nlv,
            bp_utilization=account.bp_used / account.nlv if account.nlv > 0 else 0.0,
            stress_worst_loss=stress.worst_loss if stress else math.nan,
            stress_scenario=stress.scenario if stress else "",
            realized_change=change, regime=self.vix.regime(now),
            open_positions=len(self.positions()),
        ))
        self.ledger.record_equity(today, account.nlv)
        self._persist()

    def on_end(self) -> None:
        """End of the run: fill :attr:`results` from the ledger and persist."""
        self.refresh_results()
        self._persist()

    def refresh_results(self) -> SystemResults:
        """Bring :attr:`results` up to date with the ledger and the breakers."""
        self.results.trades = list(self.ledger.closed_trades)
        self.results.strategies = {
            key.value: StrategyStats(a.entries, a.exits, a.wins, a.losses, a.win_rate,
                                     a.total_pnl, a.avg_days_held, a.fees, a.slippage)
            for key, a in self.ledger.attribution().items()
        }
        for name, count in self.breakers.events.items():
            self.results.risk_events[name] = count
        return self.results

    # ------------------------------------------------------------------ helpers
    def context(self, key: StrategyKey, now: datetime) -> StrategyContext:
        """The context a strategy of ``key`` reads when one of its rules fires at ``now``."""
        return _Context(self, key, now)

    def positions(self, key: StrategyKey | None = None) -> tuple[Position, ...]:
        return self.ledger.positions(key)

    def chain(self, key: StrategyKey, root: str, min_dte: int, max_dte: int,
              now: datetime) -> ChainSnapshot | Skip:
        if self._chain_cache_time != now:
            self._chain_cache.clear()
            self._chain_cache_time = now
        cache_key = (root, min_dte, max_dte)
        hit = self._chain_cache.get(cache_key)
        if hit is not None:
            return hit
        raw = self.market.chain(root, min_dte, max_dte)
        out: ChainSnapshot | Skip
        if raw is None or len(raw) == 0:
            out = Skip(key, "no_chain", f"{root} {min_dte}-{max_dte} DTE")
        else:
            out = ChainSnapshot.build(raw, now, self.config)
        self._chain_cache[cache_key] = out
        return out

    def _quote(self, contract: Contract) -> Quote | None:
        return self.market.quote(contract)

    def _marks(self, positions: Sequence[Position], now: datetime) -> dict[str, PositionMark]:
        """Marks of ``positions`` in one batched greeks call (O(contracts) quote look-ups); the
        leg layout is kept while the same position objects are marked."""
        plan = self._mark_plan
        if plan is None or not plan.same_book(positions):
            plan = self._mark_plan = MarkPlan(positions, self._delta_level)
        market = self.market
        return plan.mark([market.quote(c) for c in plan.contracts],
                         [market.underlying_price(c) for c in plan.contracts], now, self.config)

    def _delta_level(self, position: Position) -> float | None:
        """The |delta| an exit rule of ``position`` compares its legs with (the short-leg delta
        defence), or None: the marks solve deltas only as far as that comparison needs."""
        return self.strategies[position.key].exit_rules(position).short_delta_exit

    def _settlement_price(self, contract: Contract) -> float | None:
        return self.market.underlying_price(contract)

    def _entries_in_flight(self, now: datetime) -> tuple[Position, ...]:
        """Entry orders still working, as the positions they open when filled in full.

        The pre-trade gate counts them as open (correlation, caps, stress): two entries decided
        while neither has filled must not pass the limits that either alone keeps.
        """
        out = []
        for order in self.executor.working_orders():
            if order.purpose is not OrderPurpose.ENTRY:
                continue
            facts = self.ledger.expected(order.position_id)
            if facts is None or self.ledger.position(order.position_id) is not None:
                continue
            sign = 1 if order.units > 0 else -1   # units are signed: + buys the legs as written
            out.append(Position(
                order.position_id, facts.key, facts.root, facts.structure,
                tuple(PositionLeg(leg.contract, sign * leg.ratio) for leg in order.legs),
                abs(order.units), now, math.nan, facts.multiplier, facts.expiry,
                facts.parent_id, facts.meta))
        return tuple(out)

    def _bp_reserved(self, in_flight: Sequence[Position]) -> float:
        """Buying power the gate sized the working entries with (known for entries sent since
        start-up; an entry restored after a restart reserves none)."""
        total = 0.0
        for position in in_flight:
            pending = self._pending.get(position.position_id)
            if pending is not None and math.isfinite(pending.approval.bp_per_unit):
                total += pending.approval.bp_per_unit * position.units
        return total

    def _book_legs(self, now: datetime, exclude: str | None = None,
                   extra: Sequence[Position] = ()) -> list[StressLeg] | Rejection:
        """Stress legs of the open book and of ``extra`` positions (implied vols from current
        mids, one batched solve)."""
        book = [p for p in (*self.positions(), *extra) if p.position_id != exclude]
        contracts = {leg.contract for p in book for leg in p.legs
                     if leg.contract.expiry >= now.date()}
        quotes = {c: self.market.quote(c) for c in contracts}
        unders = {c: self.market.underlying_price(c) for c in contracts}
        ivs = legs_iv(list(contracts), quotes, unders, now, self.config)
        legs: list[StressLeg] = []
        for position in book:
            for leg in position.legs:
                if leg.contract.expiry < now.date():
                    continue
                iv = ivs.get(leg.contract)
                under = unders.get(leg.contract)
                if iv is None or under is None:
                    return Rejection("stress", "book_leg_unpriceable",
                                     detail=f"#{position.position_id} {leg.contract.symbol}")
                legs.append(StressLeg.of(leg.contract, leg.ratio * position.units, under, iv,
                                         year_fraction(leg.contract.expiry, now),
                                         self.config.risk_free_rate,
                                         position_id=position.position_id))
        return legs

    def _idea_stress_legs(self, idea: TradeIdea, now: datetime) -> list[StressLeg] | Rejection:
        legs = []
        for leg in idea.legs:
            if not (math.isfinite(leg.iv) and leg.iv > 0 and math.isfinite(leg.underlying_price)):
                return Rejection("stress", "candidate_leg_unpriceable",
                                 detail=leg.contract.symbol)
            legs.append(StressLeg.of(leg.contract, leg.ratio, leg.underlying_price, leg.iv,
                                     year_fraction(leg.contract.expiry, now),
                                     self.config.risk_free_rate))
        return legs

    def _book_stress(self, now: datetime) -> StressResult | None:
        book = self._book_legs(now)
        if isinstance(book, Rejection):
            self._event("stress_book_unpriceable")
            return None
        result = self.stress.run(book)
        return None if isinstance(result, Rejection) else result

    def _realised(self, key: StrategyKey) -> dict[StrategyKey, Realised]:
        """{key: (closed trades, win rate, payoff ratio)} so far, for Kelly blending."""
        pnls = [t.pnl for t in self.ledger.closed_trades if t.strategy == key.value]
        wins = [x for x in pnls if x > 0]
        losses = [-x for x in pnls if x <= 0]
        if not wins or not losses:
            return {}
        payoff = (sum(wins) / len(wins)) / (sum(losses) / len(losses))
        if not math.isfinite(payoff) or payoff <= 0:
            return {}
        return {key: (len(pnls), len(wins) / len(pnls), payoff)}

    def _check_open_invariants(self, position: Position) -> None:
        inv = self.results.invariants
        common = self.config.strategies.common(position.key)
        if common.defined_risk and _naked_shorts(position, self.positions()):
            inv.naked_short_legs_opened += 1
            self._event("naked_short_opened")
        counts = self.correlation.trades_per_group(
            [p for p in self.positions() if p.structure != "legged_remainder"])
        phase = self.phases.phase
        for group in self.config.correlation.groups:
            n = counts.get(group.name, 0)
            if n == 0:
                continue
            inv.max_positions_per_group[group.name] = max(
                inv.max_positions_per_group.get(group.name, 0), n)
            # Without the crisis reduction: a VIX rise after entry does not make a position that
            # was admitted a breach.
            if n > self.correlation.limit(group, phase, 0.0):
                inv.group_limit_breaches += 1
                self._event("group_limit_exceeded_after_fill")
        account = self.market.account()
        if account.nlv > 0 and self.vix.regime(self.market.now()) is not Regime.UNKNOWN:
            util = account.bp_used / account.nlv
            cap = self.vix.max_bp(self.phases.phase, position.key, self.market.now())
            if util > cap + 1e-9:
                inv.bp_cap_breaches += 1
                self._event("bp_cap_exceeded_after_fill")

    def _track_breakers(self) -> None:
        level = self.breakers.level
        if level != self._last_level:
            self._log(f"BREAKER {self._last_level.name} -> {level.name}")
            self._last_level = level

    def _skip(self, skip: Skip) -> None:
        by_reason = self.results.skips.setdefault(skip.key.value, {})
        by_reason[skip.reason] = by_reason.get(skip.reason, 0) + 1
        self._log(f"SKIP {skip.key.value} {skip.reason} {skip.detail}".rstrip())

    def _reject(self, key: StrategyKey, rejection: Rejection) -> None:
        by_reason = self.results.rejections.setdefault(rejection.check, {})
        by_reason[rejection.reason] = by_reason.get(rejection.reason, 0) + 1
        by_key = self.results.rejections_by_strategy.setdefault(key.value, {})
        label = f"{rejection.check}/{rejection.reason}"
        by_key[label] = by_key.get(label, 0) + 1
        self._log(f"REJECT {key.value} {rejection.check}/{rejection.reason} "
                  f"limit {rejection.limit} observed {rejection.observed} {rejection.detail}")

    def _event(self, name: str) -> None:
        self.results.risk_events[name] = self.results.risk_events.get(name, 0) + 1

    def _session_state(self) -> JsonObj:
        """The day state a restart continues from (see :meth:`_resume_session`)."""
        if self._resume is not None:
            return self._resume
        stress = self._morning_stress
        return {
            "phase": int(self.phases.phase),
            "day": None if self._day is None else self._day.isoformat(),
            "open_equity": self._day_open_equity,
            "stress_loss": None if stress is None else stress.worst_loss,
            "stress_scenario": "" if stress is None else stress.scenario,
            "vix_open": self.vix.day_open,
            "regime": None if self._last_regime is None else self._last_regime.name,
            "memos": {key.value: cast(Json, memo) for key, strategy in self.strategies.items()
                      if (memo := strategy.day_memo())},
        }

    def _persist(self) -> None:
        self._writer.save(self.ledger, self.executor, {"next_id": self._next_id},
                          {"breakers": cast(JsonObj, self.breakers.snapshot().as_dict()),
                           "session": self._session_state()})


def _naked_shorts(position: Position, book: Sequence[Position]) -> bool:
    """True when a defined-risk position holds more short than long contracts of a right
    (an IPMCC short call counts its parent LEAP as cover)."""
    cover: dict[object, int] = {}
    for leg in position.legs:
        right = leg.contract.right
        cover[right] = cover.get(right, 0) + leg.ratio * position.units
    if position.parent_id is not None:
        for parent in book:
            if parent.position_id == position.parent_id:
                for leg in parent.legs:
                    right = leg.contract.right
                    cover[right] = cover.get(right, 0) + leg.ratio * parent.units
    return any(v < 0 for v in cover.values())
