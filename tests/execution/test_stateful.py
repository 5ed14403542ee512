"""Stateful property test: random orders, broker events, clock steps and restarts.

Invariants after every step: the book plus the executor's held fills equals the net of every fill
the broker reported; every position is whole (its structure's ratios times whole units, or a
legged remainder flagged for flattening); at most one working order per position.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from config.enums import StrategyKey
from config.instruments import Contract
from execution.executor import ComboExecutor, OrderOutcome
from execution.ledger import REMAINDER_STRUCTURE, EntryFacts, Ledger
from execution.persistence import dump_state, load_state
from execution.pricing import ratio_gcd
from execution.reconcile import apply_reconciliation, reconcile
from execution.types import ComboLeg, ComboOrder, EventKind, FillEvent
from tests.execution.builders import CFG, EXPIRY, T0, Events, FakeRouter, Quotes, put
from tests.execution.test_persistence import MemoryStore

A, B, C = put(500, "SPY"), put(490, "SPY"), put(480, "SPY")
STRUCTURES: tuple[tuple[ComboLeg, ...], ...] = (
    (ComboLeg(A, 1), ComboLeg(B, -1)),
    (ComboLeg(A, 1), ComboLeg(B, -1), ComboLeg(C, -2)),
    (ComboLeg(B, -1),),
    (ComboLeg(A, 1), ComboLeg(B, -2), ComboLeg(C, 1)),
)


class ExecutionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.router = FakeRouter()
        self.ex = ComboExecutor(CFG, self.router)
        self.ledger = Ledger(CFG)
        self.now = T0
        self.quotes = Quotes(T0).set(A, 3.00, 3.02).set(B, 2.00, 2.02).set(C, 1.30, 1.32)
        self.truth: dict[Contract, int] = {}
        self.delivered: list[FillEvent] = []
        self.seen: set[str] = set()
        self.events = Events()
        self.next_pid = 1
        self.shapes: dict[str, dict[Contract, int]] = {}
        self.store = MemoryStore()

    def book(self, outcomes: list[OrderOutcome]) -> None:
        for o in outcomes:
            event(f"outcome {o.status.value}{' late' if o.late else ''}")
            self.ledger.apply(o)

    def deliver(self, event: FillEvent) -> None:
        if event.kind is EventKind.FILL and event.event_id not in self.seen:
            order = self.router.orders[event.order_id]
            if event.contract is None:
                for leg in order.legs:
                    self.add(leg.contract, leg.ratio * event.quantity)
            else:
                self.add(event.contract, event.quantity)
        self.seen.add(event.event_id)
        self.delivered.append(event)
        self.book(self.ex.on_event(event))

    def add(self, contract: Contract, qty: int) -> None:
        self.truth[contract] = self.truth.get(contract, 0) + qty
        if self.truth[contract] == 0:
            del self.truth[contract]

    def working(self) -> list[tuple[str, ComboOrder]]:
        live = {w.order_id for w in self.ex.working_orders()}
        return [(oid, o) for oid, o in self.router.orders.items() if oid in live]

    def done(self) -> list[tuple[str, ComboOrder]]:
        live = {w.order_id for w in self.ex.working_orders()}
        return [(oid, o) for oid, o in self.router.orders.items() if oid not in live]

    @rule(shape=st.integers(0, len(STRUCTURES) - 1), units=st.integers(1, 3),
          sell=st.booleans())
    def submit_entry(self, shape: int, units: int, sell: bool) -> None:
        pid = str(self.next_pid)
        self.next_pid += 1
        legs = STRUCTURES[shape]
        self.ledger.expect_entry(pid, EntryFacts(StrategyKey.BEAR_TRAP, "SPY", f"s{shape}",
                                                 EXPIRY, 100.0))
        self.shapes[pid] = {leg.contract: leg.ratio for leg in legs}
        self.ex.submit_entry(pid, f"#{pid}", legs, -units if sell else units, self.quotes,
                             self.now)
        self.book(self.ex.take_outcomes())

    @precondition(lambda self: bool(self.ledger.positions()))
    @rule(data=st.data(), urgent=st.booleans(), mode=st.sampled_from(["all", "units", "leg"]))
    def submit_exit(self, data: st.DataObject, urgent: bool, mode: str) -> None:
        free = [p for p in self.ledger.positions() if not self.ex.is_working(p.position_id)]
        if not free:
            return
        p = data.draw(st.sampled_from(free))
        legs = tuple(ComboLeg(leg.contract, -leg.ratio) for leg in p.legs)
        units = p.units
        if mode == "units":
            units = data.draw(st.integers(1, p.units))
        elif mode == "leg" and len(legs) > 1:
            legs = (data.draw(st.sampled_from(legs)),)
        self.ex.submit_exit(p.position_id, "exit", legs, units, self.quotes, self.now,
                            urgent=urgent)
        self.book(self.ex.take_outcomes())

    @precondition(lambda self: bool(self.ex.working_orders()))
    @rule(data=st.data(), extra=st.integers(0, 1), wrong_sign=st.booleans())
    def leg_fill(self, data: st.DataObject, extra: int, wrong_sign: bool) -> None:
        oid, order = data.draw(st.sampled_from(self.working()))
        leg = data.draw(st.sampled_from(order.legs))
        target = leg.ratio * order.quantity
        qty = data.draw(st.integers(1, abs(target))) + extra
        sign = 1 if target > 0 else -1
        if wrong_sign and extra:
            sign = -sign
        price = data.draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
        self.deliver(self.events.leg(oid, leg.contract, sign * qty, price, self.now, fee=0.5))

    @precondition(lambda self: bool(self.ex.working_orders()))
    @rule(data=st.data())
    def combo_fill(self, data: st.DataObject) -> None:
        oid, order = data.draw(st.sampled_from(self.working()))
        qty = data.draw(st.integers(1, abs(order.quantity)))
        self.deliver(self.events.combo(oid, qty if order.quantity > 0 else -qty, order.limit,
                                       self.now))

    @precondition(lambda self: bool(self.ex.working_orders()))
    @rule(data=st.data(), reject=st.booleans())
    def end_order(self, data: st.DataObject, reject: bool) -> None:
        oid, _ = data.draw(st.sampled_from(self.working()))
        event = (self.events.rejected(oid, self.now, "no") if reject
                 else self.events.cancelled(oid, self.now))
        self.deliver(event)

    @precondition(lambda self: bool(self.delivered))
    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        self.deliver(data.draw(st.sampled_from(self.delivered)))

    @precondition(lambda self: bool(self.router.orders))
    @rule(data=st.data())
    def late_fill(self, data: st.DataObject) -> None:
        done = self.done()
        if not done:
            return
        oid, order = data.draw(st.sampled_from(done))
        leg = data.draw(st.sampled_from(order.legs))
        target = leg.ratio * order.quantity
        self.deliver(self.events.leg(oid, leg.contract, 1 if target > 0 else -1, 1.0,
                                     self.now - timedelta(seconds=30)))

    @rule(minutes=st.integers(1, 4))
    def advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self.quotes.now = self.now
        self.book(self.ex.on_time(self.now, self.quotes))

    @rule()
    def restart(self) -> None:
        self.store.save("s", dump_state(self.ledger, self.ex))
        loaded = load_state(self.store, "s", CFG)
        assert loaded.state is not None, loaded.message
        self.ledger = loaded.state.ledger
        self.ex = ComboExecutor(CFG, self.router)
        self.ex.remember_events(loaded.state.seen_events)
        rec = reconcile(self.ledger.positions(), loaded.state.working, dict(self.truth))
        apply_reconciliation(rec, self.ledger, self.ex, self.now)

    @invariant()
    def book_plus_held_fills_equals_net_of_all_fills(self) -> None:
        total = self.ledger.holdings()
        for c, q in self.ex.pending_fills().items():
            total[c] = total.get(c, 0) + q
        assert {c: q for c, q in total.items() if q} == self.truth

    @invariant()
    def every_position_is_whole(self) -> None:
        for p in self.ledger.positions():
            contracts = [leg.contract for leg in p.legs]
            assert p.units > 0
            assert len(set(contracts)) == len(contracts)
            assert ratio_gcd([leg.ratio for leg in p.legs]) == 1
            if p.structure == REMAINDER_STRUCTURE:
                continue
            shape = self.shapes[p.position_id]
            scale = {shape[leg.contract] / leg.ratio for leg in p.legs}
            assert len(scale) == 1 and next(iter(scale)) >= 1

    @invariant()
    def at_most_one_working_order_per_position(self) -> None:
        pids = [w.position_id for w in self.ex.working_orders()]
        assert len(pids) == len(set(pids))

    @invariant()
    def nothing_held_when_no_order_works(self) -> None:
        if not self.ex.working_orders():
            assert self.ex.pending_fills(include_unclaimed=False) == {}


ExecutionMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestExecutionMachine = ExecutionMachine.TestCase
