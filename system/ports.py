"""Ports: what the trading core needs from an engine. LEAN (lean_bridge/) and the offline engine
(sim/) implement them; tests use the fakes in tests/kit.py."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from config.instruments import Contract
from execution.types import Account, ComboOrder, PricePoint, Quote
from strategies.types import FloatArray, RawChain


class Market(Protocol):
    """Market data and account figures, all in naive exchange time."""

    def now(self) -> datetime: ...

    def price(self, root: str) -> PricePoint | None:
        """Latest price of ``root``'s underlying (front future for futures roots)."""
        ...

    def session_open(self, root: str) -> float | None:
        """Today's regular-session opening price of ``root``'s underlying (9:30)."""
        ...

    def vix(self) -> PricePoint | None: ...

    def chain(self, root: str, min_dte: int, max_dte: int) -> RawChain | None:
        """Option quotes for ``root`` with expiries ``min_dte <= DTE <= max_dte``."""
        ...

    def quote(self, contract: Contract) -> Quote | None: ...

    def underlying_price(self, contract: Contract) -> float | None:
        """Price of the option's underlying (the futures contract for futures options)."""
        ...

    def account(self) -> Account: ...

    def daily_history(self, root: str, days: int) -> FloatArray:
        """Up to ``days`` daily closes of ``root``, oldest first, ending with the last close."""
        ...

    def atm_iv_history(self, root: str, days: int) -> FloatArray:
        """Up to ``days`` daily at-the-money implied vols of ``root``, oldest first."""
        ...


class Broker(Protocol):
    """Order entry. Fills and cancels come back through ``TradingSystem.on_fill``."""

    def submit(self, order: ComboOrder) -> str:
        """Send one combo limit order; returns the broker's order id."""
        ...

    def replace_limit(self, order_id: str, limit: float) -> None:
        """Change the limit of a working combo (every leg ticket together)."""
        ...

    def cancel(self, order_id: str) -> None:
        """Cancel a working combo (every leg ticket together)."""
        ...

    def holdings(self) -> dict[Contract, int]:
        """Signed contract quantities the broker holds, for restart reconciliation."""
        ...


class Store(Protocol):
    """Durable key → text storage (LEAN ObjectStore, files offline)."""

    def save(self, key: str, text: str) -> None: ...

    def load(self, key: str) -> str | None: ...
