"""Restart reconciliation of the stored book with the broker's holdings.

Rules: a book position the broker holds in full is restored; one it holds partly is resized to
the whole units held; one it does not hold is closed in the book (``ExitReason.RECONCILED``).
Broker holdings the book does not explain are adopted as *unmanaged* and their roots listed so
the system blocks new entries there. Working orders from the store are re-attached by broker id
and never re-sent; exit orders whose position is gone or resized are to be cancelled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from config.instruments import Contract, instrument
from execution.executor import ComboExecutor, WorkingOrderSnapshot
from execution.ledger import BookChange, Ledger
from execution.types import OrderPurpose, Position


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What a restart found.

    Attributes
    ----------
    restored
        Book positions the broker holds in full.
    resized
        ``(position, units)``: the broker holds only ``units`` whole units (``0 < units <
        position.units``).
    missing
        Book positions the broker does not hold at all (close them in the book).
    unmanaged
        Signed broker holdings no book position or working order explains.
    unmanaged_roots
        Roots (and their underlyings) of ``unmanaged``: block new entries there.
    reattached
        Working orders to re-attach as they are.
    to_cancel
        Working exit/roll orders whose position is missing or resized: re-attach, then cancel.
    notes
        One line per finding, for the log.
    """

    restored: tuple[Position, ...] = ()
    resized: tuple[tuple[Position, int], ...] = ()
    missing: tuple[Position, ...] = ()
    unmanaged: Mapping[Contract, int] = field(default_factory=dict)
    unmanaged_roots: frozenset[str] = frozenset()
    reattached: tuple[WorkingOrderSnapshot, ...] = ()
    to_cancel: tuple[WorkingOrderSnapshot, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def closed_missing(self) -> tuple[str, ...]:
        """Ids of the positions closed in the book because the broker does not hold them."""
        return tuple(p.position_id for p in self.missing)

    @property
    def clean(self) -> bool:
        """True when book, working orders and broker agree."""
        return not (self.resized or self.missing or self.unmanaged or self.to_cancel)


def reconcile(book_positions: Iterable[Position],
              working_orders: Iterable[WorkingOrderSnapshot],
              broker_holdings: Mapping[Contract, int]) -> Reconciliation:
    """Compare the stored book and working orders with the broker's signed holdings.

    The broker should hold book + fills already received for working orders + anything
    unmanaged: the working orders' fills are taken off the broker's holdings first (exactly, so
    a partly filled exit leaves its position whole), then positions take holdings in entry-time
    order. A received fill the broker does not show surfaces as a negative unmanaged holding.
    """
    available = {c: q for c, q in broker_holdings.items() if q}
    notes: list[str] = []
    orders = tuple(working_orders)
    for order in orders:
        for contract, qty in order.pending().items():
            available[contract] = available.get(contract, 0) - qty
    restored: list[Position] = []
    resized: list[tuple[Position, int]] = []
    missing: list[Position] = []
    for p in sorted(book_positions, key=lambda p: (p.entry_time, p.position_id)):
        units = p.units
        for leg in p.legs:
            have = available.get(leg.contract, 0)
            per_unit = abs(leg.ratio)
            ok = have != 0 and (have > 0) == (leg.ratio > 0)
            units = min(units, abs(have) // per_unit if ok else 0)
        for leg in p.legs:
            available[leg.contract] = available.get(leg.contract, 0) - leg.ratio * units
        if units == p.units:
            restored.append(p)
        elif units > 0:
            resized.append((p, units))
            notes.append(f"position #{p.position_id}: broker holds {units} of {p.units} units")
        else:
            missing.append(p)
            notes.append(f"position #{p.position_id}: not held at the broker; closed in book")
    unmanaged = {c: q for c, q in available.items() if q}
    roots: set[str] = set()
    for c, q in unmanaged.items():
        roots.add(c.root)
        with contextlib.suppress(KeyError):
            roots.add(instrument(c.root).underlying)
        notes.append(f"unmanaged holding {c.symbol} qty {q:+d}")
    whole = {p.position_id for p in restored}
    reattached: list[WorkingOrderSnapshot] = []
    to_cancel: list[WorkingOrderSnapshot] = []
    for order in orders:
        targets = [order.position_id] if order.purpose is OrderPurpose.EXIT else []
        if order.replaces is not None:
            targets.append(order.replaces)
        if all(t in whole for t in targets):
            reattached.append(order)
        else:
            to_cancel.append(order)
            notes.append(f"order {order.order_id} on #{order.position_id}: position gone or "
                         "resized; cancel")
    return Reconciliation(tuple(restored), tuple(resized), tuple(missing), unmanaged,
                          frozenset(roots), tuple(reattached), tuple(to_cancel), tuple(notes))


def apply_reconciliation(rec: Reconciliation, ledger: Ledger, executor: ComboExecutor,
                         now: datetime) -> BookChange:
    """Make the book and the executor agree with ``rec``.

    Closes missing positions and the missing units of resized ones in the book (reason
    ``RECONCILED``, at the average entry prices), replaces the unmanaged book, re-attaches every
    stored working order and cancels the ones in ``rec.to_cancel``.
    """
    change = BookChange()
    for p in rec.missing:
        change = change + ledger.close_in_book(p.position_id, now)
    for p, units in rec.resized:
        change = change + ledger.close_in_book(p.position_id, now, units=p.units - units)
    ledger.set_unmanaged(rec.unmanaged)
    executor.restore(rec.reattached + rec.to_cancel)
    for order in rec.to_cancel:
        executor.cancel(order.order_id, now, "reconciled")
    return change
