"""Restart reconciliation with each kind of mismatch."""

from __future__ import annotations

from datetime import timedelta

from execution.executor import ComboExecutor, OutcomeStatus
from execution.ledger import Ledger
from execution.reconcile import apply_reconciliation, reconcile
from execution.types import OrderPurpose
from tests.execution.builders import (
    CFG,
    CREDIT_SPREAD,
    LONG_PUT,
    NAKED_PUT,
    SHORT_PUT,
    T0,
    Events,
    FakeRouter,
    facts,
    put,
    spread_quotes,
)
from tests.execution.test_ledger import outcome

LATER = T0 + timedelta(days=1)


def book(*units: int) -> Ledger:
    """A ledger with one credit spread position per entry of ``units`` (ids 1, 2, ...)."""
    ledger = Ledger(CFG)
    for i, n in enumerate(units, start=1):
        legs = [(LONG_PUT, 1, n, 1.00), (SHORT_PUT, -1, -n, 2.15)]
        ledger.open_position(outcome(str(i), OrderPurpose.ENTRY, n, legs, minutes=i), facts())
    return ledger


def test_reconcile_when_broker_matches_book_restores_everything_clean() -> None:
    ledger = book(2, 1)

    rec = reconcile(ledger.positions(), (), {LONG_PUT: 3, SHORT_PUT: -3})

    assert [p.position_id for p in rec.restored] == ["1", "2"]
    assert rec.clean
    assert rec.unmanaged == {}


def test_reconcile_when_position_missing_at_broker_closes_it_in_book() -> None:
    ledger = book(2, 1)
    ex = ComboExecutor(CFG, FakeRouter())

    rec = reconcile(ledger.positions(), (), {LONG_PUT: 2, SHORT_PUT: -2})
    change = apply_reconciliation(rec, ledger, ex, LATER)

    assert rec.closed_missing == ("2",)
    (trade,) = change.closed
    assert (trade.position_id, trade.exit_reason, trade.pnl) == ("2", "reconciled", 0.0)
    assert [p.position_id for p in ledger.positions()] == ["1"]
    assert ledger.trade_log[-1].kind == "reconcile"


def test_reconcile_when_broker_holds_unknown_contract_adopts_it_unmanaged() -> None:
    ledger = book(1)
    ex = ComboExecutor(CFG, FakeRouter())

    rec = reconcile(ledger.positions(), (), {LONG_PUT: 1, SHORT_PUT: -1, NAKED_PUT: -2})
    apply_reconciliation(rec, ledger, ex, LATER)

    assert rec.unmanaged == {NAKED_PUT: -2}
    assert rec.unmanaged_roots == frozenset({"SPXW", "SPX"})
    assert ledger.unmanaged() == {NAKED_PUT: -2}
    assert ledger.holdings() == {LONG_PUT: 1, SHORT_PUT: -1, NAKED_PUT: -2}


def test_reconcile_when_broker_holds_fewer_units_resizes_position() -> None:
    ledger = book(3)
    ex = ComboExecutor(CFG, FakeRouter())

    rec = reconcile(ledger.positions(), (), {LONG_PUT: 2, SHORT_PUT: -1})
    apply_reconciliation(rec, ledger, ex, LATER)

    assert [(p.position_id, units) for p, units in rec.resized] == [("1", 1)]
    (p,) = ledger.positions()
    assert p.units == 1
    assert ledger.unmanaged() == {LONG_PUT: 1}
    assert ledger.holdings() == {LONG_PUT: 2, SHORT_PUT: -1}


def test_reconcile_when_book_empty_adopts_every_holding_as_unmanaged() -> None:
    rec = reconcile((), (), {LONG_PUT: 1, put(500, "SPY"): -1})

    assert rec.unmanaged_roots == frozenset({"SPXW", "SPX", "SPY"})
    assert not rec.clean


def test_reconcile_when_working_order_stored_reattaches_by_broker_id_without_resend() -> None:
    router = FakeRouter()
    ex = ComboExecutor(CFG, router)
    ledger = book(1)
    ev = Events()
    oid = ex.submit_exit("1", "close", CREDIT_SPREAD, -1, spread_quotes(), T0)
    assert oid is not None
    ex.on_event(ev.leg(oid, LONG_PUT, -1, 0.5, T0))
    stored = ex.working_orders()
    fresh_router = FakeRouter()
    fresh = ComboExecutor(CFG, fresh_router)

    rec = reconcile(ledger.positions(), stored, {LONG_PUT: 0, SHORT_PUT: -1})
    apply_reconciliation(rec, ledger, fresh, LATER)
    outs = fresh.on_event(ev.leg(oid, SHORT_PUT, 1, 0.9, LATER))

    assert [p.position_id for p in rec.restored] == ["1"]
    assert rec.unmanaged == {}
    assert [o.order_id for o in rec.reattached] == [oid]
    assert fresh_router.orders == {} and fresh_router.cancels == []
    assert fresh.is_working("1") is False
    assert [(o.order_id, o.status) for o in outs] == [(oid, OutcomeStatus.FILLED)]


def test_reconcile_when_exit_order_on_missing_position_cancels_it() -> None:
    router = FakeRouter()
    ex = ComboExecutor(CFG, router)
    ledger = book(1)
    oid = ex.submit_exit("1", "close", CREDIT_SPREAD, -1, spread_quotes(), T0)
    assert oid is not None
    stored = ex.working_orders()
    fresh_router = FakeRouter()
    fresh = ComboExecutor(CFG, fresh_router)

    rec = reconcile(ledger.positions(), stored, {})
    apply_reconciliation(rec, ledger, fresh, LATER)

    assert [o.order_id for o in rec.to_cancel] == [oid]
    assert fresh_router.cancels == [oid]
    assert ledger.positions() == ()


def test_reconcile_when_working_entry_has_fills_does_not_call_them_unmanaged() -> None:
    router = FakeRouter()
    ex = ComboExecutor(CFG, router)
    oid = ex.submit_entry("5", "open", CREDIT_SPREAD, 2, spread_quotes(), T0)
    assert oid is not None
    ex.on_event(Events().leg(oid, LONG_PUT, 2, 1.0, T0))

    rec = reconcile((), ex.working_orders(), {LONG_PUT: 2})

    assert rec.unmanaged == {}
    assert [o.order_id for o in rec.reattached] == [oid]
