"""Small fakes of the ports (system/ports.py), each mirroring the engine behaviour it names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from config.instruments import Contract
from execution.types import Account, ComboOrder, EventKind, FillEvent, PricePoint, Quote
from strategies.types import FloatArray, RawChain


@dataclass
class FakeMarket:
    """Market port fed by the test. Mirrors LEAN's slice data: the latest price and quote of each
    subscribed symbol, VIX as an index price with its time, and an account read from the
    portfolio (NLV = total portfolio value, BP used = total margin used)."""

    clock: datetime
    prices: dict[str, PricePoint] = field(default_factory=dict)
    opens: dict[str, float] = field(default_factory=dict)
    vix_point: PricePoint | None = None
    chains: dict[str, RawChain] = field(default_factory=dict)
    quotes: dict[Contract, Quote] = field(default_factory=dict)
    acct: Account = field(default_factory=lambda: Account(100_000.0, 0.0, 100_000.0, 100_000.0))
    closes: dict[str, FloatArray] = field(default_factory=dict)
    ivs: dict[str, FloatArray] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock

    def price(self, root: str) -> PricePoint | None:
        return self.prices.get(root)

    def session_open(self, root: str) -> float | None:
        return self.opens.get(root)

    def vix(self) -> PricePoint | None:
        return self.vix_point

    def chain(self, root: str, min_dte: int, max_dte: int) -> RawChain | None:
        raw = self.chains.get(root)
        if raw is None:
            return None
        dte = (raw.expiry - np.datetime64(self.clock.date(), "D")).astype(int)
        keep = (dte >= min_dte) & (dte <= max_dte)
        return RawChain(raw.root, raw.expiry[keep], raw.strike[keep], raw.is_call[keep],
                        raw.bid[keep], raw.ask[keep], raw.quote_time[keep], raw.underlying[keep],
                        raw.underlying_time)

    def quote(self, contract: Contract) -> Quote | None:
        return self.quotes.get(contract)

    def underlying_price(self, contract: Contract) -> float | None:
        from config.instruments import instrument

        point = self.prices.get(instrument(contract.root).underlying)
        return point.value if point else None

    def account(self) -> Account:
        return self.acct

    def daily_history(self, root: str, days: int) -> FloatArray:
        return self.closes.get(root, np.empty(0))[-days:]

    def atm_iv_history(self, root: str, days: int) -> FloatArray:
        return self.ivs.get(root, np.empty(0))[-days:]


@dataclass
class FakeBroker:
    """Broker port that records orders. Mirrors LEAN's combo handling: a combo fill arrives as one
    order event per leg (``fill_all``), replace and cancel address the whole group."""

    orders: dict[str, ComboOrder] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    held: dict[Contract, int] = field(default_factory=dict)
    _next: int = 0
    _events: int = 0

    def submit(self, order: ComboOrder) -> str:
        self._next += 1
        oid = f"B{self._next}"
        self.orders[oid] = order
        self.limits[oid] = order.limit
        return oid

    def replace_limit(self, order_id: str, limit: float) -> None:
        self.limits[order_id] = limit

    def cancel(self, order_id: str) -> None:
        self.cancelled.append(order_id)

    def holdings(self) -> dict[Contract, int]:
        return {c: q for c, q in self.held.items() if q}

    def fill_all(self, order_id: str, now: datetime,
                 prices: dict[Contract, float]) -> list[FillEvent]:
        """One FillEvent per leg for the whole order quantity, as LEAN reports combo fills."""
        order = self.orders[order_id]
        events = []
        for leg in order.legs:
            qty = leg.ratio * order.quantity
            self.held[leg.contract] = self.held.get(leg.contract, 0) + qty
            self._events += 1
            events.append(FillEvent(order_id, now, f"E{self._events}", EventKind.FILL,
                                    leg.contract, qty, prices[leg.contract], 1.0))
        return events


@dataclass
class MemoryStore:
    """Store port in memory. Mirrors LEAN's ObjectStore: string values by key, overwritten."""

    data: dict[str, str] = field(default_factory=dict)

    def save(self, key: str, text: str) -> None:
        self.data[key] = text

    def load(self, key: str) -> str | None:
        return self.data.get(key)
