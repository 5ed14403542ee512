"""``SimBroker``: the offline engine's :class:`system.ports.Broker`, cash and holdings.

Fill rule (checked at each bar by :meth:`SimBroker.process`, never at submission): a combo limit
order fills completely when its limit reaches the natural price of the combo at the bar - for a
buy (``quantity > 0``) when ``limit >= sum(ratio * (ask if ratio > 0 else bid))``, for a sell when
``limit <= sum(ratio * (bid if ratio > 0 else ask))`` - at the limit price. The net fill price is
split over the legs (each leg moved from its mid towards its natural side by the same fraction of
its half-spread) and one :class:`FillEvent` is emitted per leg, as LEAN does. Cancels are
confirmed by one ``CANCELLED`` event, refusals by one ``REJECTED`` event (delivered at the next
``process`` call). An order is refused at submission when a leg has no market or when, filled,
it would raise the buying power used above the net liquidation value.

With :class:`sim.faults.BrokerFaults` attached, orders may also be refused at random and the
events pass through its channel (delayed, split per leg, duplicated, held during disconnects)
before :meth:`SimBroker.process` returns them; holdings and cash are always the true ones.
Every submission is recorded in :attr:`SimBroker.submits` (the broker-side audit trail).

Sign conventions are those of :mod:`execution.types`: positive limits, direction in the sign of
``quantity``; cash in dollars; holdings in signed contracts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import numpy as np

from config.enums import Right
from config.instruments import Contract, instrument
from execution.types import Account, ComboOrder, EventKind, FillEvent, OrderPurpose
from sim.faults import BrokerFaults
from sim.fees import TASTYTRADE, FeeSchedule
from sim.margin import MarginModel, plan
from sim.market import ContractSet, SimMarket
from sim.pricing import FloatArray, Valuation

SPAN_REFRESH: Final = timedelta(minutes=30)
"""How often the SPAN-like futures-option requirement is recomputed while holdings are unchanged
(exchanges publish risk arrays a few times a day; Reg-T parts follow every bar)."""


@dataclass(slots=True)
class _Working:
    order_id: str
    order: ComboOrder
    limit: float
    submitted: datetime


@dataclass(frozen=True, slots=True)
class SubmitRecord:
    """One order as the broker received it (``accepted`` False: refused at submission)."""

    order_id: str
    position_id: str
    purpose: OrderPurpose
    tag: str
    time: datetime
    accepted: bool


@dataclass(frozen=True, slots=True)
class Settlement:
    """An option settled at expiry: ``price`` is the intrinsic value per unit (points),
    ``cash`` the dollars credited (negative: paid)."""

    contract: Contract
    quantity: int
    price: float
    cash: float


def natural_price(ratios: list[int], bids: list[float], asks: list[float],
                  direction: int) -> float:
    """Net price per unit at the natural side: paid for a buy, received for a sell."""
    if direction > 0:
        return sum(r * (a if r > 0 else b) for r, b, a in zip(ratios, bids, asks, strict=True))
    return sum(r * (b if r > 0 else a) for r, b, a in zip(ratios, bids, asks, strict=True))


def leg_prices(ratios: list[int], bids: list[float], asks: list[float], direction: int,
               limit: float) -> list[float]:
    """Per-leg prices (each >= 0) whose ``sum(ratio * price)`` equals ``limit``.

    Every leg moves from its mid towards the side it trades on by the same fraction of its
    half-spread; legs that would go below zero are set to zero and the rest is put on the
    dearest leg.
    """
    mids = [0.5 * (b + a) for b, a in zip(bids, asks, strict=True)]
    halves = [0.5 * (a - b) for b, a in zip(bids, asks, strict=True)]
    net_mid = sum(r * m for r, m in zip(ratios, mids, strict=True))
    spread = sum(abs(r) * h for r, h in zip(ratios, halves, strict=True))
    if spread > 0:
        frac = (limit - net_mid) / (direction * spread)
        prices = [m + frac * (1 if r * direction > 0 else -1) * h
                  for r, m, h in zip(ratios, mids, halves, strict=True)]
    else:
        prices = list(mids)
    prices = [max(p, 0.0) for p in prices]
    residual = limit - sum(r * p for r, p in zip(ratios, prices, strict=True))
    if abs(residual) > 1e-12:
        order = sorted(range(len(prices)), key=lambda i: -prices[i] * abs(ratios[i]))
        for i in order:
            candidate = prices[i] + residual / ratios[i]
            if candidate >= 0:
                prices[i] = candidate
                break
    return prices


class SimBroker:
    """Simulated broker over a :class:`SimMarket`.

    Parameters
    ----------
    market
        The market (the broker binds itself as its account source).
    cash
        Starting cash in dollars.
    fees
        Commission schedule.
    margin
        Margin model (default: :class:`sim.margin.MarginModel` on the market's pricer).
    faults
        Injected refusals and event-channel faults (None: a faithful broker).
    """

    def __init__(self, market: SimMarket, cash: float, fees: FeeSchedule = TASTYTRADE,
                 margin: MarginModel | None = None, faults: BrokerFaults | None = None) -> None:
        if not (math.isfinite(cash) and cash > 0):
            raise ValueError(f"starting cash must be a positive number, got {cash!r}")
        self.market = market
        self.fees = fees
        self.margin = margin or MarginModel(market.pricer)
        self.cash = float(cash)
        self._holdings: dict[Contract, int] = {}
        self._working: dict[str, _Working] = {}
        self._queued: list[FillEvent] = []
        self._seq = 0
        self._events = 0
        self._version = 0
        self._account_key: tuple[datetime, int] | None = None
        self._account: Account | None = None
        self._watch_set: ContractSet | None = None
        self.fees_paid = 0.0
        self.fills = 0
        self.faults = faults
        self.submits: list[SubmitRecord] = []
        self.overlapping_submits = 0
        market.bind_account(self.account)

    # ------------------------------------------------------------------ helpers
    def _event_id(self, order_id: str) -> str:
        self._events += 1
        return f"{order_id}-E{self._events}"

    def _queue(self, order_id: str, kind: EventKind, message: str) -> None:
        self._queued.append(FillEvent(order_id, self.market.now(), self._event_id(order_id),
                                      kind=kind, message=message))

    def watch(self) -> tuple[Contract, ...]:
        """Contracts whose quotes the broker needs this bar (holdings and working legs)."""
        out = dict.fromkeys(self._holdings)
        for w in self._working.values():
            out.update(dict.fromkeys(leg.contract for leg in w.order.legs))
        return tuple(out)

    def watch_set(self) -> ContractSet:
        """:meth:`watch` as a :class:`ContractSet` with the holdings, rebuilt on change."""
        if self._watch_set is None:
            contracts = self.watch()
            qty = np.array([self._holdings.get(c, 0) for c in contracts], dtype=np.int64)
            self._watch_set = self.market.contract_set(contracts, qty, whole_day=True)
        return self._watch_set

    def working_orders(self) -> tuple[str, ...]:
        return tuple(self._working)

    # ------------------------------------------------------------------ account
    def _valuate(self, cs: ContractSet, cache_span: bool = True) -> tuple[float, float]:
        """(market value, buying power used) of the holdings ``cs.qty`` in dollars.

        The SPAN part is refreshed every ``SPAN_REFRESH`` (and whenever the holdings change,
        which builds a new set); the Reg-T part follows every bar: for a ``whole_day`` set the
        value and the Reg-T part of every bar of its valuation grid are computed at once (the
        same numbers as bar by bar).
        """
        if not cs.contracts or cs.qty is None:
            return 0.0, 0.0
        val = self.market.value_set(cs)
        if cs.plan is None:
            cs.plan = plan(cs.contracts, cs.qty, cs.batch)
        if cs.whole_day and cs.grid is not None and cs.grid_row >= 0:
            if cs.totals is None or cs.totals_of is not cs.grid:
                cs.totals = self._value_and_reg_t(cs, cs.grid)
                cs.totals_of = cs.grid
            value = float(cs.totals[0][cs.grid_row])
            used = float(cs.totals[1][cs.grid_row])
        else:
            value = float(self._value_and_reg_t(cs, val)[0])
            used = self.margin.reg_t_part(cs.plan, cs.batch, val)
        if cs.plan.span.size:
            now = self.market.now()
            if (not cache_span or cs.span_time is None
                    or now - cs.span_time >= SPAN_REFRESH or now < cs.span_time):
                cs.span_value = self.margin.span_part(cs.plan, cs.qty, cs.batch, val,
                                                      self.market.state())
                cs.span_time = now
            used += cs.span_value
        return value, used

    def _value_and_reg_t(self, cs: ContractSet, val: Valuation) -> tuple[FloatArray, FloatArray]:
        """Market value of ``cs.qty`` and the Reg-T requirement at each bar of ``val`` (shape
        (bars,) for a (bars, n) valuation)."""
        assert cs.qty is not None and cs.plan is not None
        mids = np.where(np.isfinite(val.bid) & np.isfinite(val.ask), 0.5 * (val.bid + val.ask),
                        val.mid)
        value = np.sum(cs.qty * mids * cs.batch.multiplier, axis=-1)
        used = self.margin.reg_t_rows(cs.plan, cs.batch, val)
        return (np.asarray(value, dtype=np.float64),
                np.broadcast_to(np.asarray(used, dtype=np.float64), value.shape))

    def account(self) -> Account:
        """NLV = cash + sum(holding x mid x multiplier); BP used from the margin model;
        BP available = NLV - BP used. Cached per bar and holdings change."""
        key = (self.market.now(), self._version)
        if self._account is not None and self._account_key == key:
            return self._account
        value, used = self._valuate(self.watch_set())
        nlv = self.cash + value
        self._account = Account(nlv=nlv, bp_used=used, bp_available=nlv - used, cash=self.cash)
        self._account_key = key
        return self._account

    # ------------------------------------------------------------------ Broker port
    def submit(self, order: ComboOrder) -> str:
        """Accept a combo limit order (it can fill from the next bar on); returns its id."""
        self._seq += 1
        oid = f"SIM-{self._seq}"
        if any(w.order.position_id == order.position_id for w in self._working.values()):
            self.overlapping_submits += 1
        problem = ""
        for leg in order.legs:
            if self.market.quote(leg.contract) is None:
                problem = f"no market for {leg.contract.symbol}"
                break
        problem = problem or self._margin_problem(order)
        if not problem and self.faults is not None and self.faults.reject():
            problem = "injected fault: order rejected by the broker"
        self.submits.append(SubmitRecord(oid, order.position_id, order.purpose, order.tag,
                                         self.market.now(), not problem))
        if problem:
            self._queue(oid, EventKind.REJECTED, problem)
            return oid
        self._working[oid] = _Working(oid, order, order.limit, self.market.now())
        self._watch_set = None
        return oid

    def _margin_problem(self, order: ComboOrder) -> str:
        before = self.account()
        after = dict(self._holdings)
        for leg in order.legs:
            after[leg.contract] = after.get(leg.contract, 0) + leg.ratio * order.quantity
        held = tuple(c for c, q in after.items() if q != 0)
        value, used = self._valuate(self.market.contract_set(
            held, np.array([after[c] for c in held], dtype=np.int64)), cache_span=False)
        if used <= before.bp_used + 1e-6:
            return ""
        quotes = [self.market.quote(leg.contract) for leg in order.legs]
        net_mid = sum(leg.ratio * q.mid for leg, q in zip(order.legs, quotes, strict=True)
                      if q is not None)
        mult = instrument(order.legs[0].contract.root).multiplier
        cash_after = self.cash - order.quantity * order.limit * mult
        nlv_after = cash_after + value
        if used > nlv_after:
            return (f"insufficient buying power: requirement {used:.2f} would exceed net "
                    f"liquidation value {nlv_after:.2f} (order mid {net_mid:+.2f}, adds "
                    f"{used - before.bp_used:.2f})")
        return ""

    def replace_limit(self, order_id: str, limit: float) -> None:
        """Change the limit of a working order (ignored when it is no longer working)."""
        w = self._working.get(order_id)
        if w is None:
            return
        if not (math.isfinite(limit) and limit > 0):
            self._queue(order_id, EventKind.REJECTED,
                        f"replace refused: limit must be finite and > 0, got {limit!r}")
            return
        w.limit = float(limit)

    def cancel(self, order_id: str) -> None:
        """Cancel a working order; confirmed by one CANCELLED event."""
        if self._working.pop(order_id, None) is not None:
            self._watch_set = None
            self._queue(order_id, EventKind.CANCELLED, "cancelled by request")

    def holdings(self) -> dict[Contract, int]:
        return {c: q for c, q in self._holdings.items() if q != 0}

    # ------------------------------------------------------------------ engine side
    def process(self, now: datetime) -> list[FillEvent]:
        """Queued confirmations, then fills of working orders whose limit reaches the natural
        price at bar ``now`` (in submission order); through the fault channel when attached."""
        events, self._queued = self._queued, []
        for oid in list(self._working):
            w = self._working[oid]
            fill = self._try_fill(w, now)
            if fill:
                del self._working[oid]
                self._watch_set = None
                events.extend(fill)
        if self.faults is not None:
            return self.faults.deliver(now, events, closing=self.market.after_close)
        return events

    def in_flight(self) -> dict[Contract, int]:
        """Signed contracts filled here whose fill events the system has not received yet."""
        out: dict[Contract, int] = {}
        if self.faults is None:
            return out
        seen: set[str] = set()
        for e in self.faults.held:
            if e.kind is EventKind.FILL and e.contract is not None and e.event_id not in seen:
                seen.add(e.event_id)
                out[e.contract] = out.get(e.contract, 0) + e.quantity
        return {c: q for c, q in out.items() if q}

    def _try_fill(self, w: _Working, now: datetime) -> list[FillEvent]:
        legs = w.order.legs
        quotes = [self.market.quote(leg.contract) for leg in legs]
        if any(q is None for q in quotes):
            return []
        bids = [q.bid for q in quotes if q is not None]
        asks = [q.ask for q in quotes if q is not None]
        ratios = [leg.ratio for leg in legs]
        direction = 1 if w.order.quantity > 0 else -1
        natural = natural_price(ratios, bids, asks, direction)
        reached = (w.limit >= natural - 1e-9) if direction > 0 else (w.limit <= natural + 1e-9)
        if not reached:
            return []
        prices = leg_prices(ratios, bids, asks, direction, w.limit)
        out = []
        for leg, price in zip(legs, prices, strict=True):
            qty = leg.ratio * w.order.quantity
            out.append(self._book(w.order_id, now, leg.contract, qty, price))
        self.fills += 1
        return out

    def _book(self, order_id: str, now: datetime, contract: Contract, qty: int,
              price: float) -> FillEvent:
        held = self._holdings.get(contract, 0)
        closing = min(abs(qty), abs(held)) if held * qty < 0 else 0
        opening = abs(qty) - closing
        fee = self.fees.fee(contract, opening, closing)
        mult = instrument(contract.root).multiplier
        self.cash -= qty * price * mult + fee
        self.fees_paid += fee
        new = held + qty
        if new == 0:
            self._holdings.pop(contract, None)
        else:
            self._holdings[contract] = new
        self._version += 1
        self._watch_set = None
        return FillEvent(order_id, now, self._event_id(order_id), kind=EventKind.FILL,
                         contract=contract, quantity=qty, price=price, fee=fee)

    def settle(self, day: date) -> tuple[Settlement, ...]:
        """After ``day``'s close: options expiring on or before ``day`` settle in cash at their
        intrinsic value from the close; working orders with such legs are cancelled."""
        out = []
        for contract, qty in sorted(self._holdings.items(), key=lambda kv: kv[0].symbol):
            if not contract.is_option or contract.expiry > day:
                continue
            under = self.market.underlying_price(contract)
            if under is None:
                raise RuntimeError(f"no settlement price for {contract.symbol}")
            k = contract.strike
            intrinsic = max(under - k, 0.0) if contract.right is Right.CALL else max(k - under,
                                                                                     0.0)
            cash = qty * intrinsic * instrument(contract.root).multiplier
            self.cash += cash
            del self._holdings[contract]
            out.append(Settlement(contract, qty, intrinsic, cash))
        if out:
            self._version += 1
            self._watch_set = None
        for oid in list(self._working):
            if any(leg.contract.expiry <= day for leg in self._working[oid].order.legs):
                del self._working[oid]
                self._watch_set = None
                self._queue(oid, EventKind.CANCELLED, "cancelled: a leg expired")
        return tuple(out)
