"""Combo order executor: one limit order per structure, walked from the mid toward the natural.

A pure state machine. Time comes in as ``now`` (``on_time``) or with the broker's events
(``on_event``); orders go out through an :class:`OrderRouter` (structurally the broker port).

Policy (SPEC §10, numbers from ``cfg.execution``):

* Entry: start at the mid (rounded to tick), step toward the natural price in ``entry_steps``
  steps, one every ``entry_step_minutes``; cancel when still unfilled one interval after the last
  step; never worse than the natural price; abandon when the achievable credit (natural) is below
  ``entry_min_credit_fraction`` of the mid credit (debits: when the natural debit exceeds the mid
  debit by more than ``1 − entry_min_credit_fraction`` of it).
* Exit: start at the mid, step every ``exit_step_minutes`` to the natural in ``exit_steps`` steps,
  then follow the natural until filled or cancelled.
* Urgent exit (stop, breaker, time stop): start at the natural and step beyond it by
  ``urgent_ticks_per_step`` ticks every ``urgent_step_minutes``, up to ``urgent_max_steps`` steps.

Walk prices are recomputed from current quotes at each step. While quotes are unusable the limit
is held. An order completes only when every leg has filled its full quantity; leg fills are held
until the order ends, and an order that ends with legs unequally filled is reported as
``LEGGED`` so the system can flatten the remainder.
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from config.enums import StrategyKey
from config.instruments import Contract
from config.model import Config
from execution import codec
from execution.codec import Json, JsonObj
from execution.pricing import (
    ComboQuote,
    PriceFailure,
    QuoteSource,
    cost_to_limit,
    normalise,
    orient,
    quote_combo,
    round_cost,
)
from execution.types import ComboLeg, ComboOrder, EventKind, ExitReason, FillEvent, OrderPurpose

_DONE_KEEP = 2048
_RECENT_EVENTS_KEEP = 4096
_EPS = 1e-9


class OrderRouter(Protocol):
    """Where combo orders go (structurally :class:`system.ports.Broker` without holdings)."""

    def submit(self, order: ComboOrder) -> str: ...

    def replace_limit(self, order_id: str, limit: float) -> None: ...

    def cancel(self, order_id: str) -> None: ...


class OutcomeStatus(Enum):
    """How an order ended (or what a late or unmatched event changed)."""

    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    ABANDONED = "abandoned"
    LEGGED = "legged"
    UNMATCHED = "unmatched"


class Walk(Enum):
    """Which price walk an order follows."""

    ENTRY = "entry"
    EXIT = "exit"
    URGENT = "urgent"


@dataclass(frozen=True, slots=True)
class LegFill:
    """What one leg filled, as reported by one outcome.

    ``ratio`` is per unit as written; ``quantity`` the signed contracts (+ bought, − sold);
    ``price`` their average fill price in points (0.0 when ``quantity`` is 0); ``mid`` the leg's
    mid at submission.
    """

    contract: Contract
    ratio: int
    quantity: int
    price: float
    mid: float


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """The end of an order (or a late/unmatched fill after it), for the ledger and the system.

    Prices are per unit of the structure as written, in points (positive = debit); ``units`` is
    the signed quantity submitted (+ bought the structure as written) and ``filled_units`` the
    signed complete units in ``leg_fills``. ``leg_fills`` are the fills this outcome reports (one
    per leg, aligned with the order's legs); a late outcome reports only fills that arrived after
    the order's earlier outcome. ``fees`` are USD. ``purpose`` is None only for ``UNMATCHED``
    fills that belong to no known order.
    """

    position_id: str
    order_id: str
    purpose: OrderPurpose | None
    status: OutcomeStatus
    units: int
    filled_units: int
    leg_fills: tuple[LegFill, ...]
    net_price: float
    fees: float
    mid: float
    natural: float
    steps: int
    submit_time: datetime
    done_time: datetime
    reason: str
    tag: str = ""
    urgent: bool = False
    key: StrategyKey | None = None
    exit_reason: ExitReason | None = None
    replaces: str | None = None
    late: bool = False

    @property
    def legs(self) -> tuple[ComboLeg, ...]:
        """The order's legs as written (ratios per unit, gcd 1)."""
        return tuple(ComboLeg(f.contract, f.ratio) for f in self.leg_fills)

    @property
    def leg_prices(self) -> tuple[float, ...]:
        """Average fill price of each leg, points (0.0 for a leg without fills)."""
        return tuple(f.price for f in self.leg_fills)

    @property
    def has_fills(self) -> bool:
        return any(f.quantity != 0 for f in self.leg_fills)

    @property
    def slippage(self) -> float:
        """Per unit, points: ``(net fill − mid at submission) × direction``; positive = cost.

        0.0 when no complete unit filled.
        """
        if self.filled_units == 0:
            return 0.0
        return (self.net_price - self.mid) * (1 if self.filled_units > 0 else -1)

    @property
    def slippage_points(self) -> float:
        """Total over contracts: ``Σ (leg fill − leg mid) × signed contracts``; positive = cost.

        Multiply by the contract multiplier for dollars. Defined for legged fills as well.
        """
        return math.fsum((f.price - f.mid) * f.quantity for f in self.leg_fills if f.quantity)

    @property
    def time_to_fill(self) -> timedelta:
        return self.done_time - self.submit_time


@dataclass(frozen=True, slots=True)
class StepAction:
    """What :meth:`ComboExecutor.on_time` did to one order (for logs)."""

    order_id: str
    position_id: str
    action: str
    limit: float
    step: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class WorkingOrderSnapshot:
    """Everything needed to re-attach a working order after a restart (serialisable).

    ``filled``/``value`` are per leg: signed contracts and ``Σ contracts × price``.
    ``buy`` is the orientation of the order at the broker (see :func:`execution.pricing.orient`),
    ``limit`` its current positive combo limit.
    """

    order_id: str
    position_id: str
    tag: str
    purpose: OrderPurpose
    walk: Walk
    floor: bool
    legs: tuple[ComboLeg, ...]
    units: int
    buy: bool
    tick: float
    mid: float
    natural: float
    leg_mids: tuple[float, ...]
    submit_time: datetime
    walk_start: datetime
    limit: float
    steps: int
    interval: int
    cancel_requested: bool
    cancel_status: OutcomeStatus | None
    cancel_reason: str
    filled: tuple[int, ...]
    value: tuple[float, ...]
    fees: float
    seen: tuple[str, ...]
    last_time: datetime
    key: StrategyKey | None = None
    exit_reason: ExitReason | None = None
    replaces: str | None = None

    def pending(self) -> dict[Contract, int]:
        """Signed contracts filled and not yet reported (the whole fill of a working order)."""
        out: dict[Contract, int] = {}
        for leg, qty in zip(self.legs, self.filled, strict=True):
            if qty:
                out[leg.contract] = out.get(leg.contract, 0) + qty
        return out

    def to_obj(self) -> JsonObj:
        return {
            "order_id": self.order_id, "position_id": self.position_id, "tag": self.tag,
            "purpose": self.purpose.value, "walk": self.walk.value, "floor": self.floor,
            "legs": codec.enc_legs(self.legs), "units": self.units, "buy": self.buy,
            "tick": self.tick, "mid": self.mid, "natural": self.natural,
            "leg_mids": list(self.leg_mids),
            "submit_time": codec.enc_time(self.submit_time),
            "walk_start": codec.enc_time(self.walk_start), "limit": self.limit,
            "steps": self.steps, "interval": self.interval,
            "cancel_requested": self.cancel_requested,
            "cancel_status": None if self.cancel_status is None else self.cancel_status.value,
            "cancel_reason": self.cancel_reason, "filled": list(self.filled),
            "value": list(self.value), "fees": self.fees, "seen": list(self.seen),
            "last_time": codec.enc_time(self.last_time),
            "key": None if self.key is None else self.key.value,
            "exit_reason": None if self.exit_reason is None else self.exit_reason.value,
            "replaces": self.replaces,
        }

    @staticmethod
    def from_obj(value: Json) -> WorkingOrderSnapshot:
        """Decode :meth:`to_obj`; raises :class:`execution.codec.StateFormatError`."""
        d = codec.obj(value, "working order")
        legs = tuple(ComboLeg(c, r) for c, r in codec.dec_leg_pairs(codec.field(d, "legs"),
                                                                    "legs"))
        n = len(legs)

        def ints(name: str) -> tuple[int, ...]:
            out = tuple(codec.as_int(v, name) for v in codec.seq(codec.field(d, name), name))
            if len(out) != n:
                raise codec.StateFormatError(f"{name}: expected {n} values")
            return out

        def floats(name: str) -> tuple[float, ...]:
            out = tuple(codec.as_float(v, name) for v in codec.seq(codec.field(d, name), name))
            if len(out) != n:
                raise codec.StateFormatError(f"{name}: expected {n} values")
            return out

        cancel_status = d.get("cancel_status")
        key = d.get("key")
        exit_reason = d.get("exit_reason")
        return WorkingOrderSnapshot(
            order_id=codec.get_str(d, "order_id"),
            position_id=codec.get_str(d, "position_id"),
            tag=codec.get_str(d, "tag"),
            purpose=codec.dec_enum(OrderPurpose, codec.field(d, "purpose"), "purpose"),
            walk=codec.dec_enum(Walk, codec.field(d, "walk"), "walk"),
            floor=codec.get_bool(d, "floor"),
            legs=legs,
            units=codec.get_int(d, "units"),
            buy=codec.get_bool(d, "buy"),
            tick=codec.get_float(d, "tick"),
            mid=codec.get_float(d, "mid"),
            natural=codec.get_float(d, "natural"),
            leg_mids=floats("leg_mids"),
            submit_time=codec.dec_time(codec.field(d, "submit_time"), "submit_time"),
            walk_start=codec.dec_time(codec.field(d, "walk_start"), "walk_start"),
            limit=codec.get_float(d, "limit"),
            steps=codec.get_int(d, "steps"),
            interval=codec.get_int(d, "interval"),
            cancel_requested=codec.get_bool(d, "cancel_requested"),
            cancel_status=(None if cancel_status is None
                           else codec.dec_enum(OutcomeStatus, cancel_status, "cancel_status")),
            cancel_reason=codec.get_str(d, "cancel_reason"),
            filled=ints("filled"),
            value=floats("value"),
            fees=codec.get_float(d, "fees"),
            seen=tuple(codec.as_str(v, "seen") for v in codec.seq(codec.field(d, "seen"),
                                                                   "seen")),
            last_time=codec.dec_time(codec.field(d, "last_time"), "last_time"),
            key=None if key is None else codec.dec_enum(StrategyKey, key, "key"),
            exit_reason=(None if exit_reason is None
                         else codec.dec_enum(ExitReason, exit_reason, "exit_reason")),
            replaces=codec.get_opt_str(d, "replaces"),
        )


@dataclass(slots=True)
class _Order:
    """Mutable state of one order (working, or done and kept for late events)."""

    order_id: str
    position_id: str
    tag: str
    purpose: OrderPurpose
    walk: Walk
    floor: bool
    legs: tuple[ComboLeg, ...]
    units: int
    buy: bool
    tick: float
    mid: float
    natural: float
    leg_mids: tuple[float, ...]
    submit_time: datetime
    walk_start: datetime
    limit: float
    last_time: datetime
    key: StrategyKey | None = None
    exit_reason: ExitReason | None = None
    replaces: str | None = None
    steps: int = 0
    interval: int = 0
    cancel_requested: bool = False
    cancel_status: OutcomeStatus | None = None
    cancel_reason: str = ""
    filled: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    fees: float = 0.0
    seen: set[str] = field(default_factory=set)
    status: OutcomeStatus | None = None
    reported: list[int] = field(default_factory=list)
    reported_value: list[float] = field(default_factory=list)
    reported_fees: float = 0.0

    def __post_init__(self) -> None:
        n = len(self.legs)
        for name in ("filled", "reported"):
            if not getattr(self, name):
                setattr(self, name, [0] * n)
        for name in ("value", "reported_value"):
            if not getattr(self, name):
                setattr(self, name, [0.0] * n)

    @property
    def direction(self) -> int:
        return 1 if self.units > 0 else -1

    def targets(self) -> list[int]:
        return [leg.ratio * self.units for leg in self.legs]

    def complete(self) -> bool:
        return all(f == t for f, t in zip(self.filled, self.targets(), strict=True))

    def snapshot(self) -> WorkingOrderSnapshot:
        return WorkingOrderSnapshot(
            self.order_id, self.position_id, self.tag, self.purpose, self.walk, self.floor,
            self.legs, self.units, self.buy, self.tick, self.mid, self.natural, self.leg_mids,
            self.submit_time, self.walk_start, self.limit, self.steps, self.interval,
            self.cancel_requested, self.cancel_status, self.cancel_reason, tuple(self.filled),
            tuple(self.value), self.fees, tuple(sorted(self.seen)), self.last_time, self.key,
            self.exit_reason, self.replaces)

    @staticmethod
    def from_snapshot(s: WorkingOrderSnapshot) -> _Order:
        return _Order(
            order_id=s.order_id, position_id=s.position_id, tag=s.tag, purpose=s.purpose,
            walk=s.walk, floor=s.floor, legs=s.legs, units=s.units, buy=s.buy, tick=s.tick,
            mid=s.mid, natural=s.natural, leg_mids=s.leg_mids, submit_time=s.submit_time,
            walk_start=s.walk_start, limit=s.limit, last_time=s.last_time, key=s.key,
            exit_reason=s.exit_reason, replaces=s.replaces, steps=s.steps, interval=s.interval,
            cancel_requested=s.cancel_requested, cancel_status=s.cancel_status,
            cancel_reason=s.cancel_reason, filled=list(s.filled), value=list(s.value),
            fees=s.fees, seen=set(s.seen))


def complete_units(ratios: Sequence[int], quantities: Sequence[int], direction: int) -> int:
    """Signed whole units of a structure contained in per-leg ``quantities`` (0 when a leg has
    none or the wrong sign)."""
    units: int | None = None
    for ratio, qty in zip(ratios, quantities, strict=True):
        want = ratio * direction
        if qty == 0 or (qty > 0) != (want > 0):
            return 0
        k = abs(qty) // abs(ratio)
        units = k if units is None else min(units, k)
    return direction * (units or 0)


def is_balanced(ratios: Sequence[int], quantities: Sequence[int], direction: int) -> bool:
    """True when the per-leg quantities are a whole number (possibly 0) of units."""
    if all(q == 0 for q in quantities):
        return True
    k = abs(complete_units(ratios, quantities, direction))
    return k > 0 and all(abs(q) == k * abs(r) for r, q in zip(ratios, quantities, strict=True))


class ComboExecutor:
    """Walks combo limit orders and turns broker events into :class:`OrderOutcome`.

    Parameters
    ----------
    cfg
        Configuration; reads ``cfg.execution`` and ``cfg.data.max_quote_age_minutes``.
    router
        Where orders go (the broker port).

    Notes
    -----
    At most one working order per position (and per position a roll replaces). Outcomes are
    returned by :meth:`on_event` and :meth:`on_time`; outcomes produced while submitting (events
    the broker delivered before ``submit`` returned) are queued and returned by the next call of
    either, or by :meth:`take_outcomes`. Router exceptions never escape: a failed submit is a
    refusal, a failed replace keeps the old limit, a failed cancel is retried on the next step.
    """

    def __init__(self, cfg: Config, router: OrderRouter) -> None:
        self._cfg = cfg
        self._x = cfg.execution
        self._router = router
        self._working: dict[str, _Order] = {}
        self._done: OrderedDict[str, _Order] = OrderedDict()
        self._lock: dict[str, str] = {}
        self._unknown: dict[str, list[FillEvent]] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._recent_added = 0
        self._recent_moved = 0
        self._unreported: dict[str, None] = {}
        self._queue: list[OrderOutcome] = []
        self.last_refusal: str = ""
        self.last_refusal_reason: str = ""
        self.last_actions: tuple[StepAction, ...] = ()

    def submit_entry(self, position_id: str, tag: str, legs: Sequence[ComboLeg], units: int,
                     quotes: QuoteSource, now: datetime, *,
                     purpose: OrderPurpose = OrderPurpose.ENTRY,
                     key: StrategyKey | None = None,
                     replaces: str | None = None) -> str | None:
        """Open ``units`` (signed; + buys the structure as written) of ``legs`` with the entry walk.

        ``purpose=ROLL`` with ``replaces`` set sends a roll (closing legs of ``replaces`` and
        opening the new ones in one combo) under the entry walk, without the credit floor; both
        position ids are locked while it works. Returns the broker order id, or None with
        :attr:`last_refusal` saying why (``order_working``, ``zero_units``, ``invalid_order``,
        ``unknown_root``, ``no_quote``, ``bad_quote``, ``stale_quote``, ``zero_price``,
        ``credit_below_floor``, ``submit_failed``).
        """
        return self._submit(position_id, tag, legs, units, quotes, now, purpose, Walk.ENTRY,
                            floor=purpose is OrderPurpose.ENTRY, key=key, exit_reason=None,
                            replaces=replaces)

    def submit_exit(self, position_id: str, tag: str, legs: Sequence[ComboLeg], units: int,
                    quotes: QuoteSource, now: datetime, urgent: bool = False,
                    purpose: OrderPurpose = OrderPurpose.EXIT, *,
                    key: StrategyKey | None = None,
                    exit_reason: ExitReason | None = None,
                    replaces: str | None = None) -> str | None:
        """Close (or roll) with the exit walk; ``urgent`` starts at the natural and steps beyond.

        ``legs``/``units`` describe the trade as written (to close a position of ``n`` units of
        legs ``L``: legs ``L`` with ``units = −n``, or the negated legs with ``units = n``).
        ``exit_reason`` travels with the outcome for the ledger. Returns the broker order id or
        None (see :meth:`submit_entry`).
        """
        walk = Walk.URGENT if urgent else Walk.EXIT
        return self._submit(position_id, tag, legs, units, quotes, now, purpose, walk,
                            floor=False, key=key, exit_reason=exit_reason, replaces=replaces)

    def _refuse(self, position_id: str, reason: str, detail: str = "") -> None:
        self.last_refusal_reason = reason
        self.last_refusal = f"{reason}: #{position_id} {detail}".rstrip()

    def _submit(self, position_id: str, tag: str, legs_in: Sequence[ComboLeg], units_in: int,
                quotes: QuoteSource, now: datetime, purpose: OrderPurpose, walk: Walk, *,
                floor: bool, key: StrategyKey | None, exit_reason: ExitReason | None,
                replaces: str | None) -> str | None:
        self.last_refusal = ""
        self.last_refusal_reason = ""
        for pid in (position_id, replaces):
            if pid is not None and pid in self._lock:
                self._refuse(position_id, "order_working", f"order {self._lock[pid]} on #{pid}")
                return None
        if units_in == 0:
            self._refuse(position_id, "zero_units")
            return None
        contracts = [leg.contract for leg in legs_in]
        if (not legs_in or any(leg.ratio == 0 for leg in legs_in)
                or len(set(contracts)) != len(contracts)):
            self._refuse(position_id, "invalid_order",
                         "legs must be non-empty, distinct and have non-zero ratios")
            return None
        legs, units = normalise(legs_in, units_in)
        market = quote_combo(legs, quotes, now, self._cfg.data.max_quote_age_minutes)
        if isinstance(market, PriceFailure):
            self._refuse(position_id, market.reason, market.detail)
            return None
        d = 1 if units > 0 else -1
        mid_cost = market.mid_cost(d)
        nat_cost = market.natural_cost(d)
        if floor:
            problem = self._floor_problem(mid_cost, nat_cost)
            if problem is not None:
                self._refuse(position_id, problem,
                             f"mid cost {mid_cost:+.4f} natural cost {nat_cost:+.4f}")
                return None
        if walk is Walk.URGENT:
            start = nat_cost
            beyond = self._x.urgent_max_steps * self._x.urgent_ticks_per_step * market.tick
            final = nat_cost + beyond
        else:
            start = self._walk_cost(market, d, 0, walk)
            final = nat_cost
        if final == 0 and start == 0:
            self._refuse(position_id, "zero_price", "mid and natural are both zero")
            return None
        orientation = orient(legs, units, final, start)
        limit = cost_to_limit(start, orientation.buy, market.tick)
        try:
            order = ComboOrder(orientation.legs, orientation.quantity, limit, tag, purpose,
                               position_id, urgent=walk is Walk.URGENT)
        except ValueError as exc:
            self._refuse(position_id, "invalid_order", str(exc))
            return None
        try:
            order_id = self._router.submit(order)
        except Exception as exc:  # a broker adapter failure must not stop the trading loop
            self._refuse(position_id, "submit_failed", f"{type(exc).__name__}: {exc}")
            return None
        o = _Order(order_id=order_id, position_id=position_id, tag=tag, purpose=purpose,
                   walk=walk, floor=floor, legs=legs, units=units, buy=orientation.buy,
                   tick=market.tick, mid=market.mid, natural=market.natural(d),
                   leg_mids=market.leg_mids, submit_time=now, walk_start=now, limit=limit,
                   last_time=now, key=key, exit_reason=exit_reason, replaces=replaces)
        self._attach(o)
        for event in self._unknown.pop(order_id, []):
            self._queue.extend(self._handle(event, replay=True))
        return order_id

    def _attach(self, o: _Order) -> None:
        self._working[o.order_id] = o
        self._lock[o.position_id] = o.order_id
        if o.replaces is not None:
            self._lock[o.replaces] = o.order_id

    def _release(self, o: _Order) -> None:
        for pid in (o.position_id, o.replaces):
            if pid is not None and self._lock.get(pid) == o.order_id:
                del self._lock[pid]

    def _floor_problem(self, mid_cost: float, nat_cost: float) -> str | None:
        """Entry floor (SPEC §10): the achievable credit must be at least ``fraction`` of the mid
        credit. The rule is about credits: a debit entry walks to the natural price and is
        bounded by sizing and the strategy's own budget instead."""
        if mid_cost >= 0:
            return None
        allowed = (1.0 - self._x.entry_min_credit_fraction) * abs(mid_cost)
        if nat_cost - mid_cost > allowed + _EPS:
            return "credit_below_floor"
        return None

    def _walk_cost(self, market: ComboQuote, d: int, k: int, walk: Walk) -> float:
        """Cost per unit at step ``k`` of ``walk`` from the current market (tick-rounded)."""
        nat = market.natural_cost(d)
        if walk is Walk.URGENT:
            k = min(k, self._x.urgent_max_steps)
            return round(nat + k * self._x.urgent_ticks_per_step * market.tick, 10)
        steps = self._x.entry_steps if walk is Walk.ENTRY else self._x.exit_steps
        if steps <= 0 or k >= steps:
            return nat
        mid = market.mid_cost(d)
        return min(round_cost(mid + (nat - mid) * k / steps, market.tick), nat)

    def _interval(self, walk: Walk) -> timedelta:
        minutes = {Walk.ENTRY: self._x.entry_step_minutes, Walk.EXIT: self._x.exit_step_minutes,
                   Walk.URGENT: self._x.urgent_step_minutes}[walk]
        return timedelta(minutes=minutes)

    def on_time(self, now: datetime, quotes: QuoteSource) -> list[OrderOutcome]:
        """Advance every working order's walk to ``now``; O(working orders).

        Returns queued outcomes and outcomes of events for order ids nobody claimed (reported as
        ``UNMATCHED``). What was done to each order is in :attr:`last_actions`.
        """
        out = self.take_outcomes()
        out.extend(self._flush_unknown())
        actions: list[StepAction] = []
        for o in list(self._working.values()):
            action = self._step(o, now, quotes)
            if action is not None:
                actions.append(action)
        self.last_actions = tuple(actions)
        return out

    def _step(self, o: _Order, now: datetime, quotes: QuoteSource) -> StepAction | None:
        if o.cancel_requested:
            return None
        k = int((now - o.walk_start) // self._interval(o.walk))
        if k <= o.interval:
            return None
        if o.walk is Walk.ENTRY and k > self._x.entry_steps:
            if o.steps >= self._x.entry_steps:
                return self._request_cancel(o, OutcomeStatus.CANCELLED, "not_filled", k)
            # A clock coarser than the step interval skipped the last step: post the final
            # (natural) price for one interval before cancelling, so every walk reaches it.
            k = self._x.entry_steps
        market = quote_combo(o.legs, quotes, now, self._cfg.data.max_quote_age_minutes)
        if isinstance(market, PriceFailure):
            return StepAction(o.order_id, o.position_id, "hold", o.limit, o.steps,
                              market.reason)
        d = o.direction
        if o.floor:
            mid_cost_at_submit = d * o.mid
            problem = self._floor_problem(mid_cost_at_submit, market.natural_cost(d))
            if problem is not None:
                return self._request_cancel(o, OutcomeStatus.ABANDONED, problem, k)
        cost = self._walk_cost(market, d, k, o.walk)
        limit = cost_to_limit(cost, o.buy, o.tick)
        o.interval = k
        steps_cap = {Walk.ENTRY: self._x.entry_steps, Walk.EXIT: self._x.exit_steps,
                     Walk.URGENT: self._x.urgent_max_steps}[o.walk]
        o.steps = min(k, steps_cap)
        if abs(limit - o.limit) <= _EPS:
            return None
        try:
            self._router.replace_limit(o.order_id, limit)
        except Exception as exc:  # the order may have filled or died at the broker meanwhile
            return StepAction(o.order_id, o.position_id, "replace_failed", o.limit, o.steps,
                              f"{type(exc).__name__}: {exc}")
        o.limit = limit
        return StepAction(o.order_id, o.position_id, "replace", limit, o.steps)

    def _request_cancel(self, o: _Order, status: OutcomeStatus, reason: str,
                        k: int | None = None) -> StepAction:
        try:
            self._router.cancel(o.order_id)
        except Exception as exc:  # retried on the next step
            return StepAction(o.order_id, o.position_id, "cancel_failed", o.limit, o.steps,
                              f"{type(exc).__name__}: {exc}")
        o.cancel_requested = True
        o.cancel_status = status
        o.cancel_reason = reason
        if k is not None:
            o.interval = k
        return StepAction(o.order_id, o.position_id, "cancel", o.limit, o.steps, reason)

    def cancel(self, order_id: str, now: datetime, reason: str = "cancelled_by_system") -> bool:
        """Ask the broker to cancel a working order; the outcome follows its cancel event."""
        o = self._working.get(order_id)
        if o is None or o.cancel_requested:
            return False
        return self._request_cancel(o, OutcomeStatus.CANCELLED, reason).action == "cancel"

    def cancel_position(self, position_id: str, now: datetime,
                        reason: str = "cancelled_by_system") -> bool:
        """:meth:`cancel` for the order working on ``position_id``."""
        order_id = self._lock.get(position_id)
        return order_id is not None and self.cancel(order_id, now, reason)

    def escalate(self, position_id: str, now: datetime, quotes: QuoteSource) -> bool:
        """Turn the working non-urgent exit of ``position_id`` into an urgent one from ``now``.

        The order stays the same broker order (no cancel/resubmit race); its limit moves to the
        current natural at once and then beyond it. False when there is nothing to escalate or
        no usable quote.
        """
        order_id = self._lock.get(position_id)
        o = None if order_id is None else self._working.get(order_id)
        if o is None or o.walk is not Walk.EXIT or o.cancel_requested:
            return False
        market = quote_combo(o.legs, quotes, now, self._cfg.data.max_quote_age_minutes)
        if isinstance(market, PriceFailure):
            return False
        limit = cost_to_limit(market.natural_cost(o.direction), o.buy, o.tick)
        try:
            self._router.replace_limit(o.order_id, limit)
        except Exception:  # keep the normal walk; the caller may retry
            return False
        o.walk = Walk.URGENT
        o.walk_start = now
        o.interval = 0
        o.steps = 0
        o.limit = limit
        return True

    def is_working(self, position_id: str) -> bool:
        """True while an order works on ``position_id`` (or replaces it)."""
        return position_id in self._lock

    def working_order_id(self, position_id: str) -> str | None:
        return self._lock.get(position_id)

    def working_entries(self, key: StrategyKey | None = None) -> tuple[str, ...]:
        """Order ids of working entry and roll orders (of strategy ``key`` when given)."""
        return tuple(o.order_id for o in self._working.values()
                     if o.purpose is not OrderPurpose.EXIT and (key is None or o.key is key))

    def has_working_entry(self, key: StrategyKey, root: str) -> bool:
        """True when an entry of ``key`` on ``root`` is working (``key`` given at submission)."""
        return any(o.purpose is OrderPurpose.ENTRY and o.key is key
                   and any(leg.contract.root == root for leg in o.legs)
                   for o in self._working.values())

    def working_orders(self) -> tuple[WorkingOrderSnapshot, ...]:
        """Snapshots of every working order, for persistence and reconciliation."""
        return tuple(o.snapshot() for o in self._working.values())

    def pending_fills(self, include_unclaimed: bool = True) -> dict[Contract, int]:
        """Signed contracts filled at the broker but not yet reported in an outcome.

        ``include_unclaimed`` adds fills of events for order ids not known yet (see
        :meth:`on_event`).
        """
        out: dict[Contract, int] = {}
        orders: Iterable[_Order] = list(self._working.values()) + [
            self._done[oid] for oid in self._unreported if oid in self._done]
        for o in orders:
            for leg, f, r in zip(o.legs, o.filled, o.reported, strict=True):
                if f != r:
                    out[leg.contract] = out.get(leg.contract, 0) + f - r
        if include_unclaimed:
            for events in self._unknown.values():
                for e in events:
                    if e.kind is EventKind.FILL and e.contract is not None and e.quantity:
                        out[e.contract] = out.get(e.contract, 0) + e.quantity
        return {c: q for c, q in out.items() if q}

    def recent_event_ids(self, last: int | None = None) -> tuple[str, ...]:
        """Ids of the most recent events handled, oldest first (persist them to drop repeats
        after a restart; see :meth:`remember_events`); only the ``last`` newest when given."""
        if last is None:
            return tuple(self._recent)
        newest = list(itertools.islice(reversed(self._recent), max(last, 0)))
        newest.reverse()
        return tuple(newest)

    def recent_event_revision(self) -> tuple[int, int]:
        """``(moved, added)``: ids moved to the newest end and ids added to
        :meth:`recent_event_ids`. While ``moved`` stays the same the ids change only by
        additions at the newest end (the oldest dropping out beyond the kept number), so
        ``added`` grows by the number of ids added."""
        return self._recent_moved, self._recent_added

    def recent_event_count(self) -> int:
        """How many ids :meth:`recent_event_ids` holds."""
        return len(self._recent)

    def remember_events(self, event_ids: Iterable[str]) -> None:
        """Treat ``event_ids`` as already handled (after a restart)."""
        for event_id in event_ids:
            self._remember(event_id)

    def _remember(self, event_id: str) -> None:
        if event_id in self._recent:
            self._recent_moved += 1
            self._recent.move_to_end(event_id)
        else:
            self._recent_added += 1
            self._recent[event_id] = None
        while len(self._recent) > _RECENT_EVENTS_KEEP:
            self._recent.popitem(last=False)

    def take_outcomes(self) -> list[OrderOutcome]:
        """Outcomes queued while submitting; empties the queue."""
        out, self._queue = self._queue, []
        return out

    def restore(self, snapshots: Iterable[WorkingOrderSnapshot]) -> None:
        """Re-attach working orders by broker id after a restart; nothing is re-sent."""
        for s in snapshots:
            if s.order_id in self._working or s.position_id in self._lock:
                continue
            self._attach(_Order.from_snapshot(s))

    def on_event(self, event: FillEvent) -> list[OrderOutcome]:
        """Apply one broker event; returns the outcomes it (and any queue) produced.

        Duplicate event ids are ignored. Events for an order id not known yet are held until a
        submit returns that id (brokers may report before the submit call returns); the next
        :meth:`on_time` reports still-unclaimed fills as ``UNMATCHED``.
        """
        out = self.take_outcomes()
        out.extend(self._handle(event))
        return out

    def _handle(self, event: FillEvent, replay: bool = False) -> list[OrderOutcome]:
        if not replay:
            if event.event_id in self._recent:
                return []
            self._remember(event.event_id)
        o = self._working.get(event.order_id) or self._done.get(event.order_id)
        if o is None:
            self._unknown.setdefault(event.order_id, []).append(event)
            return []
        if event.event_id in o.seen:
            return []
        o.seen.add(event.event_id)
        if event.time > o.last_time:
            o.last_time = event.time
        working = o.order_id in self._working
        out: list[OrderOutcome] = []
        if event.kind is EventKind.FILL:
            stray = self._apply_fill(o, event)
            o.fees += event.fee
            if working and o.complete():
                out.append(self._finish(o, OutcomeStatus.FILLED, "filled"))
            elif not working:
                late = self._late(o)
                if late is not None:
                    out.append(late)
            if stray:
                out.append(self._unmatched(event, stray, o, "fill_outside_order"))
        elif working and event.kind is EventKind.CANCELLED:
            if o.cancel_requested and o.cancel_status is not None:
                out.append(self._finish(o, o.cancel_status, o.cancel_reason))
            else:
                out.append(self._finish(o, OutcomeStatus.CANCELLED,
                                        event.message or "broker_cancelled"))
        elif working and event.kind is EventKind.REJECTED:
            out.append(self._finish(o, OutcomeStatus.REJECTED, event.message or "rejected"))
        return out

    def _apply_fill(self, o: _Order, event: FillEvent) -> list[tuple[Contract, int, float]]:
        """Book a fill into ``o``; returns the parts outside the order (wrong leg, wrong sign,
        beyond the order quantity) as ``(contract, signed qty, price)``."""
        if event.contract is None:
            sign = o.direction if o.buy else -o.direction
            units = sign * event.quantity
            if units == 0:
                return []
            net = sign * event.price
            total_abs = sum(abs(leg.ratio) for leg in o.legs)
            shift = (net - sum(leg.ratio * m for leg, m in zip(o.legs, o.leg_mids, strict=True))
                     ) / total_abs
            stray: list[tuple[Contract, int, float]] = []
            for i, leg in enumerate(o.legs):
                price = o.leg_mids[i] + (shift if leg.ratio > 0 else -shift)
                stray.extend(self._fill_leg(o, i, leg.ratio * units, price))
            return stray
        for i, leg in enumerate(o.legs):
            if leg.contract == event.contract:
                price = event.price if math.isfinite(event.price) else o.leg_mids[i]
                return self._fill_leg(o, i, event.quantity, price)
        return [(event.contract, event.quantity, event.price)] if event.quantity else []

    def _fill_leg(self, o: _Order, i: int, qty: int, price: float
                  ) -> list[tuple[Contract, int, float]]:
        if qty == 0:
            return []
        contract = o.legs[i].contract
        target = o.legs[i].ratio * o.units
        if (qty > 0) != (target > 0):
            return [(contract, qty, price)]
        room = abs(target) - abs(o.filled[i])
        take = max(0, min(abs(qty), room))
        sign = 1 if qty > 0 else -1
        if take:
            o.filled[i] += sign * take
            o.value[i] += sign * take * price
            self._unreported[o.order_id] = None
        excess = abs(qty) - take
        return [(contract, sign * excess, price)] if excess else []

    def _finish(self, o: _Order, status: OutcomeStatus, reason: str) -> OrderOutcome:
        ratios = [leg.ratio for leg in o.legs]
        if o.complete():
            status = OutcomeStatus.FILLED
        elif not is_balanced(ratios, o.filled, o.direction):
            reason = f"legs unequally filled after {status.value}: {reason}"
            status = OutcomeStatus.LEGGED
        o.status = status
        del self._working[o.order_id]
        self._release(o)
        self._done[o.order_id] = o
        while len(self._done) > _DONE_KEEP:
            dropped, _ = self._done.popitem(last=False)
            self._unreported.pop(dropped, None)
        return self._report(o, status, reason, late=False)

    def _late(self, o: _Order) -> OrderOutcome | None:
        if all(f == r for f, r in zip(o.filled, o.reported, strict=True)):
            return None
        ratios = [leg.ratio for leg in o.legs]
        if o.complete():
            status = OutcomeStatus.FILLED
        elif is_balanced(ratios, o.filled, o.direction):
            status = o.status or OutcomeStatus.CANCELLED
        else:
            status = OutcomeStatus.LEGGED
        return self._report(o, status, "late_fill", late=True)

    def _report(self, o: _Order, status: OutcomeStatus, reason: str, late: bool
                ) -> OrderOutcome:
        fills: list[LegFill] = []
        for i, leg in enumerate(o.legs):
            q = o.filled[i] - o.reported[i]
            v = o.value[i] - o.reported_value[i]
            fills.append(LegFill(leg.contract, leg.ratio, q, v / q if q else 0.0,
                                 o.leg_mids[i]))
        ratios = [leg.ratio for leg in o.legs]
        done = complete_units(ratios, [f.quantity for f in fills], o.direction)
        net = math.fsum(f.ratio * f.price for f in fills if f.quantity)
        fees = o.fees - o.reported_fees
        o.reported = list(o.filled)
        o.reported_value = list(o.value)
        o.reported_fees = o.fees
        self._unreported.pop(o.order_id, None)
        return OrderOutcome(
            position_id=o.position_id, order_id=o.order_id, purpose=o.purpose, status=status,
            units=o.units, filled_units=done, leg_fills=tuple(fills), net_price=round(net, 10),
            fees=fees, mid=o.mid, natural=o.natural, steps=o.steps, submit_time=o.submit_time,
            done_time=o.last_time, reason=reason, tag=o.tag, urgent=o.walk is Walk.URGENT,
            key=o.key, exit_reason=o.exit_reason, replaces=o.replaces, late=late)

    def _unmatched(self, event: FillEvent, stray: Sequence[tuple[Contract, int, float]],
                   o: _Order | None, reason: str) -> OrderOutcome:
        fills = tuple(LegFill(c, 1 if q > 0 else -1, q, p, p) for c, q, p in stray)
        return OrderOutcome(
            position_id="" if o is None else o.position_id, order_id=event.order_id,
            purpose=None, status=OutcomeStatus.UNMATCHED, units=0, filled_units=0,
            leg_fills=fills, net_price=0.0, fees=0.0, mid=0.0, natural=0.0, steps=0,
            submit_time=event.time, done_time=event.time, reason=reason,
            key=None if o is None else o.key)

    def _flush_unknown(self) -> list[OrderOutcome]:
        out: list[OrderOutcome] = []
        for events in self._unknown.values():
            for e in events:
                if e.kind is not EventKind.FILL or e.quantity == 0:
                    continue
                if e.contract is None:
                    out.append(self._unmatched(e, (), None, "unknown_order_combo_fill"))
                else:
                    out.append(self._unmatched(e, [(e.contract, e.quantity, e.price)], None,
                                               "unknown_order"))
        self._unknown.clear()
        return out

