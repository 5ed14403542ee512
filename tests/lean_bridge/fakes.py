"""Small fakes of exactly the LEAN calls the adapters in ``lean_bridge`` make.

Each fake names the LEAN class it stands in for in ``MIRRORS`` (checked against the
``quantconnect-stubs`` by ``test_fakes_match_stubs.py``: every public attribute a fake defines
must exist on that class) and its docstring states the LEAN behaviour it reproduces. Attributes
only tests use are listed in ``TEST_HELPERS``. There is no fake ``QCAlgorithm``: the broker is
given a fake of its two order calls only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from lean_bridge.symbols import LeanEnums


class OptionRight(Enum):
    """Mirrors LEAN's ``OptionRight`` members (CALL = 0, PUT = 1)."""

    CALL = 0
    PUT = 1


class SecurityType(Enum):
    """Mirrors the LEAN ``SecurityType`` members the adapters use."""

    EQUITY = 1
    OPTION = 2
    FUTURE = 5
    INDEX = 10
    FUTURE_OPTION = 9
    INDEX_OPTION = 11


class OrderStatus(Enum):
    """Mirrors LEAN's ``OrderStatus`` values (Filled = 3, Canceled = 5, Invalid = 7)."""

    NEW = 0
    SUBMITTED = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 5
    INVALID = 7
    UPDATE_SUBMITTED = 9


ENUMS = LeanEnums(
    call=OptionRight.CALL,
    future=SecurityType.FUTURE,
    future_option=SecurityType.FUTURE_OPTION,
    option_types=(SecurityType.OPTION, SecurityType.INDEX_OPTION,
                  SecurityType.FUTURE_OPTION),
    filled=OrderStatus.FILLED,
    partially_filled=OrderStatus.PARTIALLY_FILLED,
    canceled=OrderStatus.CANCELED,
    invalid=OrderStatus.INVALID,
)


@dataclass(frozen=True)
class FakeSecurityIdentifier:
    """``SecurityIdentifier``: ``symbol`` is the ticker (the underlying's for an equity option,
    the option's own for an index option such as SPXW), ``date`` the expiry; ``strike_price`` and
    ``option_right`` are meaningful for options only."""

    MIRRORS = "QuantConnect.SecurityIdentifier"
    symbol: str
    date: datetime
    strike_price: float = 0.0
    option_right: OptionRight = OptionRight.CALL


@dataclass(frozen=True)
class FakeSymbol:
    """``Symbol``: hashable and compared by value (LEAN symbols are used as dict keys);
    ``underlying`` is the futures contract of a futures option, ``canonical`` the symbol without
    expiry/strike."""

    MIRRORS = "QuantConnect.Symbol"
    value: str
    id: FakeSecurityIdentifier
    security_type: SecurityType
    underlying: FakeSymbol | None = None
    canonical: FakeSymbol | None = None

    @property
    def has_underlying(self) -> bool:
        return self.underlying is not None

    def __str__(self) -> str:
        return self.value


def equity(ticker: str) -> FakeSymbol:
    return FakeSymbol(ticker, FakeSecurityIdentifier(ticker, datetime(1998, 1, 2)),
                      SecurityType.EQUITY)


def index(ticker: str) -> FakeSymbol:
    return FakeSymbol(ticker, FakeSecurityIdentifier(ticker, datetime(1998, 1, 2)),
                      SecurityType.INDEX)


def canonical_future(ticker: str) -> FakeSymbol:
    return FakeSymbol(f"/{ticker}", FakeSecurityIdentifier(ticker, datetime(1899, 12, 30)),
                      SecurityType.FUTURE)


def future(ticker: str, expiry: datetime) -> FakeSymbol:
    return FakeSymbol(f"{ticker} {expiry:%y%m%d}", FakeSecurityIdentifier(ticker, expiry),
                      SecurityType.FUTURE, canonical=canonical_future(ticker))


def canonical_option(underlying: FakeSymbol, ticker: str, kind: SecurityType) -> FakeSymbol:
    return FakeSymbol(f"?{ticker}", FakeSecurityIdentifier(ticker, datetime(1899, 12, 30)),
                      kind, underlying=underlying)


def option(underlying: FakeSymbol, ticker: str, kind: SecurityType, expiry: datetime,
           strike: float, right: OptionRight) -> FakeSymbol:
    sid = FakeSecurityIdentifier(ticker, expiry, strike, right)
    return FakeSymbol(f"{ticker} {expiry:%y%m%d}{right.name[0]}{strike:g}", sid, kind,
                      underlying=underlying,
                      canonical=canonical_option(underlying, ticker, kind))


@dataclass
class FakeBaseData:
    """``BaseData``: ``price`` and ``end_time`` (exchange time zone)."""

    MIRRORS = "QuantConnect.Data.BaseData"
    price: float
    end_time: datetime


@dataclass
class FakeOptionContract:
    """``OptionContract`` in a chain: its ``symbol`` and top of book; LEAN reports a missing
    bid or ask as 0."""

    MIRRORS = "QuantConnect.Data.Market.OptionContract"
    symbol: FakeSymbol
    bid_price: float
    ask_price: float


@dataclass
class FakeOptionChain:
    """``OptionChain``: iterates its contracts; ``underlying`` is the chain's underlying data
    (for futures options, the futures contract: one chain per futures contract)."""

    MIRRORS = "QuantConnect.Data.Market.OptionChain"
    underlying: FakeBaseData | None
    contracts_list: list[FakeOptionContract] = field(default_factory=list)
    TEST_HELPERS = ("contracts_list",)

    def __iter__(self) -> Iterator[FakeOptionContract]:
        return iter(self.contracts_list)


@dataclass
class FakeSlice:
    """``Slice``: ``time`` (algorithm time), ``contains_key(symbol)`` for symbols with data in
    this slice, ``option_chains`` keyed by canonical option symbol (``items()``)."""

    MIRRORS = "QuantConnect.Data.Slice"
    time: datetime
    keys: set[FakeSymbol] = field(default_factory=set)
    option_chains: dict[FakeSymbol, FakeOptionChain] = field(default_factory=dict)
    TEST_HELPERS = ("keys",)

    def contains_key(self, symbol: FakeSymbol) -> bool:
        return symbol in self.keys


@dataclass
class FakeSecurity:
    """``Security``: latest ``price``/``open``/``bid_price``/``ask_price``, exchange
    ``local_time`` and ``get_last_data()`` (whose ``end_time`` is in exchange time)."""

    MIRRORS = "QuantConnect.Securities.Security"
    price: float = 0.0
    open: float = 0.0
    bid_price: float = 0.0
    ask_price: float = 0.0
    local_time: datetime = datetime(2024, 1, 2)
    last: FakeBaseData | None = None
    TEST_HELPERS = ("last",)

    def get_last_data(self) -> FakeBaseData | None:
        return self.last


class FakeSecurities(dict[FakeSymbol, FakeSecurity]):
    """``SecurityManager``: indexed by symbol, ``contains_key(symbol)``."""

    MIRRORS = "QuantConnect.Securities.SecurityManager"

    def contains_key(self, symbol: FakeSymbol) -> bool:
        return symbol in self


@dataclass
class FakeHolding:
    """``SecurityHolding``: signed ``quantity``."""

    MIRRORS = "QuantConnect.Securities.SecurityHolding"
    quantity: float


@dataclass
class FakePortfolio:
    """``SecurityPortfolioManager``: NLV is ``total_portfolio_value``, BP used
    ``total_margin_used``, BP available ``margin_remaining``; ``items()`` yields
    ``(symbol, holding)``."""

    MIRRORS = "QuantConnect.Securities.SecurityPortfolioManager"
    total_portfolio_value: float = 100_000.0
    total_margin_used: float = 0.0
    margin_remaining: float = 100_000.0
    cash: float = 100_000.0
    holdings: dict[FakeSymbol, FakeHolding] = field(default_factory=dict)
    TEST_HELPERS = ("holdings",)

    def items(self) -> list[tuple[FakeSymbol, FakeHolding]]:
        return list(self.holdings.items())


@dataclass
class FakeCashAmount:
    """``CashAmount``: ``amount`` in ``currency``."""

    MIRRORS = "QuantConnect.Securities.CashAmount"
    amount: float
    currency: str = "USD"


@dataclass
class FakeOrderFee:
    """``OrderFee``: ``value`` is a cash amount."""

    MIRRORS = "QuantConnect.Orders.Fees.OrderFee"
    value: FakeCashAmount


@dataclass
class FakeOrderEvent:
    """``OrderEvent``: one per leg order; ``order_id`` is the leg order's id, ``id`` the event's
    id within that order, ``fill_quantity`` signed (+ bought, − sold)."""

    MIRRORS = "QuantConnect.Orders.OrderEvent"
    order_id: int
    id: int
    symbol: FakeSymbol
    status: OrderStatus
    fill_quantity: float = 0.0
    fill_price: float = 0.0
    order_fee: FakeOrderFee = field(default_factory=lambda: FakeOrderFee(FakeCashAmount(0.0)))
    message: str = ""


@dataclass
class FakeOrderResponse:
    """``OrderResponse``: ``is_success`` and ``error_message``."""

    MIRRORS = "QuantConnect.Orders.OrderResponse"
    is_success: bool = True
    error_message: str = ""


@dataclass
class FakeUpdateOrderFields:
    """``UpdateOrderFields``: the new ``limit_price`` and ``tag`` of an update request."""

    MIRRORS = "QuantConnect.Orders.UpdateOrderFields"
    limit_price: float | None = None
    tag: str = ""


def make_update(limit: float, tag: str) -> FakeUpdateOrderFields:
    return FakeUpdateOrderFields(limit, tag)


@dataclass
class FakeLeg:
    """``Leg`` from ``Leg.create(symbol, quantity)``: ``quantity`` is the signed ratio."""

    MIRRORS = "QuantConnect.Orders.Leg"
    symbol: FakeSymbol
    quantity: int


def make_leg(symbol: FakeSymbol, quantity: int) -> FakeLeg:
    return FakeLeg(symbol, quantity)


@dataclass
class FakeOrderTicket:
    """``OrderTicket`` of one leg: ``update(fields)`` and ``cancel(tag)`` act on this leg only
    (LEAN's live brokerages act on a combo once every leg's request has arrived)."""

    MIRRORS = "QuantConnect.Orders.OrderTicket"
    order_id: int
    symbol: FakeSymbol
    quantity: float
    status: OrderStatus = OrderStatus.SUBMITTED
    updates: list[FakeUpdateOrderFields] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    accept_updates: bool = True
    TEST_HELPERS = ("updates", "cancels", "accept_updates")

    def update(self, fields: FakeUpdateOrderFields) -> FakeOrderResponse:
        self.updates.append(fields)
        return FakeOrderResponse(self.accept_updates, "" if self.accept_updates else "refused")

    def cancel(self, tag: str | None = None) -> FakeOrderResponse:
        self.cancels.append(tag or "")
        return FakeOrderResponse()


@dataclass
class FakeComboOrders:
    """The two order calls of ``QCAlgorithm`` the broker makes. ``combo_limit_order`` returns one
    ticket per leg with consecutive order ids; with ``fill_on_submit`` set, fill events for every
    leg are delivered to ``on_event`` *inside* the call, as LEAN backtests can do."""

    MIRRORS = "QuantConnect.Algorithm.QCAlgorithm"
    next_id: int = 1
    calls: list[tuple[str, list[FakeLeg], int, float | None, str]] = field(default_factory=list)
    fill_on_submit: Callable[[list[FakeOrderTicket], list[FakeLeg], int],
                             list[FakeOrderEvent]] | None = None
    on_event: Callable[[Any], None] | None = None
    tickets: list[FakeOrderTicket] = field(default_factory=list)
    TEST_HELPERS = ("next_id", "calls", "fill_on_submit", "on_event", "tickets")

    def _tickets(self, kind: str, legs: list[FakeLeg], quantity: int, limit: float | None,
                 tag: str) -> list[FakeOrderTicket]:
        self.calls.append((kind, list(legs), quantity, limit, tag))
        out = []
        for leg in legs:
            out.append(FakeOrderTicket(self.next_id, leg.symbol, leg.quantity * quantity))
            self.next_id += 1
        self.tickets.extend(out)
        if self.fill_on_submit is not None and self.on_event is not None:
            for event in self.fill_on_submit(out, legs, quantity):
                self.on_event(event)
        return out

    def combo_limit_order(self, legs: list[FakeLeg], quantity: int, limit_price: float,
                          asynchronous: bool = False, tag: str = "") -> list[FakeOrderTicket]:
        return self._tickets("limit", legs, quantity, limit_price, tag)

    def combo_market_order(self, legs: list[FakeLeg], quantity: int, asynchronous: bool = False,
                           tag: str = "") -> list[FakeOrderTicket]:
        return self._tickets("market", legs, quantity, None, tag)


@dataclass
class FakeObjectStore:
    """``ObjectStore``: string values by key; ``save`` returns whether it was stored."""

    MIRRORS = "QuantConnect.Storage.ObjectStore"
    data: dict[str, str] = field(default_factory=dict)
    fail: bool = False
    TEST_HELPERS = ("data", "fail")

    def save(self, key: str, text: str) -> bool:
        if self.fail:
            return False
        self.data[key] = text
        return True

    def read(self, key: str) -> str:
        return self.data[key]

    def contains_key(self, key: str) -> bool:
        return key in self.data


@dataclass
class FakeExchangeHours:
    """``SecurityExchangeHours.is_date_open(local_date_time)``: whether the exchange has a
    regular session that day."""

    MIRRORS = "QuantConnect.Securities.SecurityExchangeHours"
    closed: set[object] = field(default_factory=set)
    asked: list[datetime] = field(default_factory=list)
    TEST_HELPERS = ("closed", "asked")

    def is_date_open(self, local_date_time: datetime) -> bool:
        self.asked.append(local_date_time)
        day = local_date_time.date()
        return day.weekday() < 5 and day not in self.closed


def fills_for(tickets: list[FakeOrderTicket], prices: dict[FakeSymbol, float],
              fee: float = 1.0, event_id: int = 1) -> list[FakeOrderEvent]:
    """One FILLED event per leg ticket for its whole quantity, as LEAN reports a combo fill."""
    return [FakeOrderEvent(t.order_id, event_id, t.symbol, OrderStatus.FILLED, t.quantity,
                           prices[t.symbol], FakeOrderFee(FakeCashAmount(fee)))
            for t in tickets]
