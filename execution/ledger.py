"""Position book, trade log, P&L and performance attribution (SPEC §11b).

The book always equals the net of every fill booked into it: each fill changes one position's
(or the unmanaged book's) per-contract holdings. A position is kept *whole*: after any fill its
holdings are split into ``j`` complete units of its structure and, when legs were filled
unequally, a separate remainder position (structure :data:`REMAINDER_STRUCTURE`) that the system
must flatten. No position is ever half-open.

Money: prices in option points, P&L/fees/slippage in USD (points × contracts × multiplier, the
multiplier from the instrument catalogue). Realised P&L uses each contract's average entry price.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

import numpy as np
import numpy.typing as npt
import pandas as pd

from config.enums import Right, StrategyKey
from config.instruments import Contract, instrument
from config.model import Config
from execution import codec
from execution.codec import Json, JsonObj
from execution.executor import LegFill, OrderOutcome, OutcomeStatus
from execution.pricing import ratio_gcd
from execution.types import ExitReason, OrderPurpose, Position, PositionLeg
from strategies.meta import LEG_PRICE_PREFIX, leg_price_key
from strategies.types import TradeIdea

REMAINDER_STRUCTURE = "legged_remainder"
REMAINDER_OF = "remainder_of"
TRADING_DAYS = 252
_EXPECT_KEEP = 32

Basis = list[tuple[Contract, int]]


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """What the ledger keeps from a :class:`~strategies.types.TradeIdea` for the position.

    ``multiplier`` is used only when the catalogue does not know the legs' root; ``deltas`` are
    the legs' signed entry deltas (for the report).
    """

    key: StrategyKey
    root: str
    structure: str
    expiry: date
    multiplier: float
    meta: tuple[tuple[str, str], ...] = ()
    parent_id: str | None = None
    deltas: tuple[tuple[Contract, float], ...] = ()

    @staticmethod
    def from_idea(idea: TradeIdea, meta: Iterable[tuple[str, str]] = ()) -> EntryFacts:
        return EntryFacts(idea.key, idea.root, idea.structure, idea.expiry, idea.multiplier,
                          tuple(meta), idea.parent_id,
                          tuple((leg.contract, leg.delta) for leg in idea.legs))

    def to_obj(self) -> JsonObj:
        return {
            "key": self.key.value, "root": self.root, "structure": self.structure,
            "expiry": self.expiry.isoformat(), "multiplier": self.multiplier,
            "meta": [[k, v] for k, v in self.meta], "parent_id": self.parent_id,
            "deltas": [[c.symbol, codec.enc_float(d)] for c, d in self.deltas],
        }

    @staticmethod
    def from_obj(value: Json) -> EntryFacts:
        d = codec.obj(value, "facts")
        meta = []
        for item in codec.seq(codec.field(d, "meta"), "meta"):
            pair = codec.seq(item, "meta")
            if len(pair) != 2:
                raise codec.StateFormatError("meta: expected [name, value] pairs")
            meta.append((codec.as_str(pair[0], "meta"), codec.as_str(pair[1], "meta")))
        deltas = []
        for item in codec.seq(codec.field(d, "deltas"), "deltas"):
            pair = codec.seq(item, "deltas")
            if len(pair) != 2:
                raise codec.StateFormatError("deltas: expected [contract, delta] pairs")
            deltas.append((codec.dec_contract(pair[0], "deltas"),
                           codec.dec_float(pair[1], "deltas")))
        return EntryFacts(
            key=codec.dec_enum(StrategyKey, codec.field(d, "key"), "key"),
            root=codec.get_str(d, "root"), structure=codec.get_str(d, "structure"),
            expiry=codec.dec_date(codec.field(d, "expiry"), "expiry"),
            multiplier=codec.get_float(d, "multiplier"), meta=tuple(meta),
            parent_id=codec.get_opt_str(d, "parent_id"), deltas=tuple(deltas))


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One booked fill (one order outcome, a settlement or a reconciliation) in the trade log.

    ``units`` are the signed complete units filled; ``fill_price``, ``mid`` and ``natural`` are
    net points per unit of the order's structure as written (positive = debit). ``slippage`` is
    USD, positive = cost versus the mid at submission; ``fees`` USD.
    """

    position_id: str
    order_id: str
    key: StrategyKey | None
    kind: str
    status: str
    submit_time: datetime
    time: datetime
    units: int
    fill_price: float
    mid: float
    natural: float
    slippage: float
    fees: float
    steps: int
    reason: str

    @property
    def seconds_to_fill(self) -> float:
        return (self.time - self.submit_time).total_seconds()

    def to_obj(self) -> JsonObj:
        return {
            "position_id": self.position_id, "order_id": self.order_id,
            "key": None if self.key is None else self.key.value, "kind": self.kind,
            "status": self.status, "submit_time": codec.enc_time(self.submit_time),
            "time": codec.enc_time(self.time), "units": self.units,
            "fill_price": codec.enc_float(self.fill_price), "mid": codec.enc_float(self.mid),
            "natural": codec.enc_float(self.natural), "slippage": self.slippage,
            "fees": self.fees, "steps": self.steps, "reason": self.reason,
        }

    @staticmethod
    def from_obj(value: Json) -> TradeRecord:
        d = codec.obj(value, "trade record")
        key = d.get("key")
        return TradeRecord(
            position_id=codec.get_str(d, "position_id"), order_id=codec.get_str(d, "order_id"),
            key=None if key is None else codec.dec_enum(StrategyKey, key, "key"),
            kind=codec.get_str(d, "kind"), status=codec.get_str(d, "status"),
            submit_time=codec.dec_time(codec.field(d, "submit_time"), "submit_time"),
            time=codec.dec_time(codec.field(d, "time"), "time"),
            units=codec.get_int(d, "units"),
            fill_price=codec.dec_float(codec.field(d, "fill_price"), "fill_price"),
            mid=codec.dec_float(codec.field(d, "mid"), "mid"),
            natural=codec.dec_float(codec.field(d, "natural"), "natural"),
            slippage=codec.get_float(d, "slippage"), fees=codec.get_float(d, "fees"),
            steps=codec.get_int(d, "steps"), reason=codec.get_str(d, "reason"))


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One position from entry to final exit (one row of trades.csv).

    Same fields as :class:`system.results.ClosedTrade`. ``legs`` are
    ``ratio:right:strike:expiry`` strings (right ``F`` for an underlying), ``deltas`` the signed
    entry deltas in the same order (NaN when unknown). Prices are net points per unit (positive =
    debit); ``exit_price`` is the average exit price per entry unit implied by the gross P&L.
    ``pnl`` (after fees), ``fees`` and ``slippage`` are USD for the whole position.
    """

    position_id: str
    strategy: str
    root: str
    structure: str
    entry_time: datetime
    exit_time: datetime
    expiry: date
    dte_at_entry: int
    contracts: int
    legs: tuple[str, ...]
    deltas: tuple[float, ...]
    entry_price: float
    exit_price: float
    pnl: float
    fees: float
    slippage: float
    exit_reason: str

    def to_obj(self) -> JsonObj:
        return {
            "position_id": self.position_id, "strategy": self.strategy, "root": self.root,
            "structure": self.structure, "entry_time": codec.enc_time(self.entry_time),
            "exit_time": codec.enc_time(self.exit_time), "expiry": self.expiry.isoformat(),
            "dte_at_entry": self.dte_at_entry, "contracts": self.contracts,
            "legs": list(self.legs), "deltas": [codec.enc_float(x) for x in self.deltas],
            "entry_price": self.entry_price, "exit_price": self.exit_price, "pnl": self.pnl,
            "fees": self.fees, "slippage": self.slippage, "exit_reason": self.exit_reason,
        }

    @staticmethod
    def from_obj(value: Json) -> ClosedTrade:
        d = codec.obj(value, "closed trade")
        return ClosedTrade(
            position_id=codec.get_str(d, "position_id"), strategy=codec.get_str(d, "strategy"),
            root=codec.get_str(d, "root"), structure=codec.get_str(d, "structure"),
            entry_time=codec.dec_time(codec.field(d, "entry_time"), "entry_time"),
            exit_time=codec.dec_time(codec.field(d, "exit_time"), "exit_time"),
            expiry=codec.dec_date(codec.field(d, "expiry"), "expiry"),
            dte_at_entry=codec.get_int(d, "dte_at_entry"),
            contracts=codec.get_int(d, "contracts"),
            legs=tuple(codec.as_str(x, "legs") for x in codec.seq(codec.field(d, "legs"),
                                                                   "legs")),
            deltas=tuple(codec.dec_float(x, "deltas")
                         for x in codec.seq(codec.field(d, "deltas"), "deltas")),
            entry_price=codec.get_float(d, "entry_price"),
            exit_price=codec.get_float(d, "exit_price"), pnl=codec.get_float(d, "pnl"),
            fees=codec.get_float(d, "fees"), slippage=codec.get_float(d, "slippage"),
            exit_reason=codec.get_str(d, "exit_reason"))


@dataclass(frozen=True, slots=True)
class BookChange:
    """What one booking did. ``opened``: new strategy positions; ``changed``: positions whose
    units or legs changed and stay open; ``remainders``: legged remainders created or changed
    (flatten them); ``unmanaged``: fills booked to the unmanaged book; ``problems``: what could
    not be booked (e.g. a settlement price missing)."""

    opened: tuple[Position, ...] = ()
    changed: tuple[Position, ...] = ()
    closed: tuple[ClosedTrade, ...] = ()
    remainders: tuple[Position, ...] = ()
    unmanaged: tuple[tuple[Contract, int], ...] = ()
    problems: tuple[str, ...] = ()

    def __add__(self, other: BookChange) -> BookChange:
        return BookChange(self.opened + other.opened, self.changed + other.changed,
                          self.closed + other.closed, self.remainders + other.remainders,
                          self.unmanaged + other.unmanaged, self.problems + other.problems)

    def position(self, position_id: str) -> Position | None:
        """The open position ``position_id`` as left by this change, if any."""
        for p in self.opened + self.changed + self.remainders:
            if p.position_id == position_id:
                return p
        return None


@dataclass(frozen=True, slots=True)
class StrategyAttribution:
    """Per-strategy figures (USD; days are calendar days). ``win_rate`` = wins/(wins+losses)."""

    entries: int
    exits: int
    wins: int
    losses: int
    win_rate: float
    total_pnl: float
    avg_pnl: float
    avg_days_held: float
    fees: float
    slippage: float


@dataclass(frozen=True, slots=True)
class PortfolioStats:
    """Portfolio figures from a daily equity series (returns annualised with 252 days).

    ``max_drawdown`` is a positive fraction of the running peak. Sharpe and Sortino are 0.0 when
    undefined (fewer than two returns, or no dispersion / no downside).
    """

    days: int
    start_equity: float
    end_equity: float
    total_return: float
    cagr: float
    max_drawdown: float
    sharpe: float
    sortino: float


@dataclass(slots=True)
class _Book:
    """Accounting of one open position."""

    facts: EntryFacts
    multiplier: float
    entry_time: datetime
    avg: dict[Contract, float] = field(default_factory=dict)
    entry_price: float = 0.0
    entry_units: int = 0
    entry_legs: tuple[PositionLeg, ...] = ()
    realised: float = 0.0
    fees: float = 0.0
    slippage: float = 0.0
    remainder_of: str | None = None
    exit_reason: ExitReason | None = None

    def to_obj(self) -> JsonObj:
        return {
            "facts": self.facts.to_obj(), "multiplier": self.multiplier,
            "entry_time": codec.enc_time(self.entry_time),
            "avg": [[c.symbol, p] for c, p in self.avg.items()],
            "entry_price": self.entry_price, "entry_units": self.entry_units,
            "entry_legs": codec.enc_legs(self.entry_legs), "realised": self.realised,
            "fees": self.fees, "slippage": self.slippage, "remainder_of": self.remainder_of,
            "exit_reason": None if self.exit_reason is None else self.exit_reason.value,
        }

    @staticmethod
    def from_obj(value: Json) -> _Book:
        d = codec.obj(value, "book")
        avg: dict[Contract, float] = {}
        for item in codec.seq(codec.field(d, "avg"), "avg"):
            pair = codec.seq(item, "avg")
            if len(pair) != 2:
                raise codec.StateFormatError("avg: expected [contract, price] pairs")
            avg[codec.dec_contract(pair[0], "avg")] = codec.as_float(pair[1], "avg")
        reason = d.get("exit_reason")
        return _Book(
            facts=EntryFacts.from_obj(codec.field(d, "facts")),
            multiplier=codec.get_float(d, "multiplier"),
            entry_time=codec.dec_time(codec.field(d, "entry_time"), "entry_time"), avg=avg,
            entry_price=codec.get_float(d, "entry_price"),
            entry_units=codec.get_int(d, "entry_units"),
            entry_legs=tuple(PositionLeg(c, r) for c, r in codec.dec_leg_pairs(
                codec.field(d, "entry_legs"), "entry_legs")),
            realised=codec.get_float(d, "realised"), fees=codec.get_float(d, "fees"),
            slippage=codec.get_float(d, "slippage"),
            remainder_of=codec.get_opt_str(d, "remainder_of"),
            exit_reason=None if reason is None else codec.dec_enum(ExitReason, reason,
                                                                   "exit_reason"))


def decompose(holdings: Mapping[Contract, int], basis: Sequence[tuple[Contract, int]]
              ) -> tuple[int, dict[Contract, int]]:
    """Split ``holdings`` into ``j`` whole units of ``basis`` (ratios) and a remainder.

    ``j`` is the largest count such that every basis leg holds at least ``j × ratio`` with the
    ratio's sign (0 for an empty basis); the remainder is ``holdings − j × basis`` (non-zero
    entries only).
    """
    j: int | None = None
    for contract, ratio in basis:
        h = holdings.get(contract, 0)
        k = abs(h) // abs(ratio) if h != 0 and (h > 0) == (ratio > 0) else 0
        j = k if j is None else min(j, k)
    units = j or 0
    ratios = dict(basis)
    rest = {c: h - units * ratios.get(c, 0) for c, h in holdings.items()}
    return units, {c: q for c, q in rest.items() if q != 0}


def _normalised(pairs: Iterable[tuple[Contract, int]]) -> tuple[Basis, int]:
    """Ratios divided by their gcd, and the gcd (0 for nothing)."""
    items = [(c, q) for c, q in pairs if q != 0]
    g = ratio_gcd([q for _, q in items])
    if g == 0:
        return [], 0
    return [(c, q // g) for c, q in items], g


def _multiplier(root: str, fallback: float) -> float:
    try:
        return float(instrument(root).multiplier)
    except KeyError:
        return float(fallback)


def _leg_text(leg: PositionLeg) -> str:
    c = leg.contract
    right = "F" if c.right is None else c.right.value
    return f"{leg.ratio:+d}:{right}:{c.strike:g}:{c.expiry.isoformat()}"


def intrinsic(contract: Contract, underlying: float) -> float:
    """Expiry value of one contract in points (an underlying contract settles at the price)."""
    if contract.right is None:
        return underlying
    if contract.right is Right.CALL:
        return max(underlying - contract.strike, 0.0)
    return max(contract.strike - underlying, 0.0)


def portfolio_stats(equity: Sequence[float] | pd.Series | npt.NDArray[np.float64],
                    risk_free_rate: float = 0.0) -> PortfolioStats:
    """Total return, CAGR, max drawdown, Sharpe and Sortino from daily equity values (USD).

    Returns are simple daily returns; Sharpe = mean excess / std (ddof 1) × √252; Sortino = mean
    excess / downside deviation × √252 with downside deviation √mean(min(excess, 0)²); CAGR uses
    252 returns per year. ``risk_free_rate`` is annual, spread evenly over 252 days.
    """
    values = np.asarray(equity, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0 or values[0] <= 0:
        return PortfolioStats(int(values.size), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    start, end = float(values[0]), float(values[-1])
    total = end / start - 1.0
    n = values.size - 1
    cagr = (end / start) ** (TRADING_DAYS / n) - 1.0 if n > 0 and end > 0 else (
        -1.0 if end <= 0 else 0.0)
    peaks = np.maximum.accumulate(values)
    drawdown = float(np.max(1.0 - values / peaks))
    sharpe = sortino = 0.0
    if n >= 2:
        returns = values[1:] / values[:-1] - 1.0
        excess = returns - risk_free_rate / TRADING_DAYS
        sd = float(np.std(excess, ddof=1))
        if sd > 1e-15:
            sharpe = float(np.mean(excess)) / sd * math.sqrt(TRADING_DAYS)
        downside = float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)))
        if downside > 1e-15:
            sortino = float(np.mean(excess)) / downside * math.sqrt(TRADING_DAYS)
    return PortfolioStats(int(values.size), start, end, total, cagr, max(drawdown, 0.0),
                          sharpe, sortino)


class Ledger:
    """The position book, trade log, closed trades, equity series and attribution.

    Parameters
    ----------
    cfg
        Configuration (``risk_free_rate`` for Sharpe/Sortino).
    """

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self._positions: dict[str, Position] = {}
        # positions() per strategy key (None: all), rebuilt after the book changes
        self._views: dict[StrategyKey | None, tuple[Position, ...]] = {}
        self._books: dict[str, _Book] = {}
        self._expect: dict[str, tuple[EntryFacts, str | None]] = {}
        self._unmanaged: dict[Contract, int] = {}
        self._unmanaged_avg: dict[Contract, float] = {}
        self._entries: dict[StrategyKey, int] = {}
        self._equity: dict[date, float] = {}
        self._equity_last: date | None = None
        self._equity_rewrites = 0
        self._seq = 0
        self.trade_log: list[TradeRecord] = []
        self.closed_trades: list[ClosedTrade] = []

    def positions(self, key: StrategyKey | None = None) -> tuple[Position, ...]:
        """Open positions (remainders included), in booking order."""
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = tuple(
                p for p in self._positions.values() if key is None or p.key is key)
        return view

    def _put(self, position: Position) -> None:
        self._positions[position.position_id] = position
        self._views.clear()

    def position(self, position_id: str) -> Position | None:
        return self._positions.get(position_id)

    def remainders(self) -> tuple[Position, ...]:
        """Legged remainders the system must flatten (urgent exits)."""
        return tuple(p for p in self._positions.values() if p.structure == REMAINDER_STRUCTURE)

    def unmanaged(self) -> dict[Contract, int]:
        """Holdings the book does not attribute to any position (signed contracts)."""
        return dict(self._unmanaged)

    def holdings(self) -> dict[Contract, int]:
        """Net signed contracts of the whole book (positions plus unmanaged)."""
        out = dict(self._unmanaged)
        for p in self._positions.values():
            for leg in p.legs:
                out[leg.contract] = out.get(leg.contract, 0) + leg.ratio * p.units
        return {c: q for c, q in out.items() if q}

    def leg_entry_prices(self, position_id: str) -> dict[Contract, float]:
        """Average entry price of each contract of an open position (points)."""
        book = self._books.get(position_id)
        return {} if book is None else dict(book.avg)

    def realised_pnl(self, position_id: str) -> float:
        """Realised P&L so far of an open position, USD after fees (0.0 when unknown)."""
        book = self._books.get(position_id)
        return 0.0 if book is None else book.realised - book.fees

    def unrealised_pnl(self, position_id: str, mark: float) -> float | None:
        """``(mark − entry price) × units × multiplier`` in USD, ``mark`` the net mid per unit.

        None for an unknown position or a non-finite mark (never counts as zero).
        """
        p = self._positions.get(position_id)
        if p is None or not math.isfinite(mark):
            return None
        return (mark - p.entry_price) * p.units * p.multiplier

    def expect_entry(self, position_id: str, facts: EntryFacts | TradeIdea,
                     replaces: str | None = None,
                     meta: Iterable[tuple[str, str]] = ()) -> None:
        """Remember what an entry (or roll) order on ``position_id`` opens, so :meth:`apply`
        can book its outcomes (including late fills)."""
        if isinstance(facts, TradeIdea):
            if replaces is None:
                replaces = facts.replaces
            facts = EntryFacts.from_idea(facts, meta)
        self._expect.pop(position_id, None)
        self._expect[position_id] = (facts, replaces)
        stale = [pid for pid in self._expect if pid not in self._positions]
        for pid in stale[:max(0, len(stale) - _EXPECT_KEEP)]:
            del self._expect[pid]

    def open_position(self, outcome: OrderOutcome, facts: EntryFacts | TradeIdea,
                      replaces: str | None = None,
                      meta: Iterable[tuple[str, str]] = ()) -> BookChange:
        """Book an entry (or roll) outcome: open or grow ``outcome.position_id``.

        A roll (``replaces`` given, or ``outcome.replaces``/``idea.replaces``) first closes the
        replaced position's legs it contains (reason ``ROLL``), then opens the rest.
        Unequal leg fills leave a remainder position (see :meth:`remainders`).
        """
        self.expect_entry(outcome.position_id, facts,
                          replaces if replaces is not None else outcome.replaces, meta)
        return self.apply(outcome)

    def expected(self, position_id: str) -> EntryFacts | None:
        """What the entry (or roll) order on ``position_id`` is expected to open, if known."""
        found = self._expect.get(position_id)
        return None if found is None else found[0]

    def apply_exit(self, outcome: OrderOutcome, reason: ExitReason | None = None
                   ) -> BookChange:
        """Book an exit outcome: close all or some legs of ``outcome.position_id``.

        ``reason`` defaults to ``outcome.exit_reason`` (then the last reason booked for the
        position, then ``RECONCILED``). Fills for a position the book does not hold go to the
        unmanaged book.
        """
        book = self._books.get(outcome.position_id)
        why = reason or outcome.exit_reason or (book.exit_reason if book else None) \
            or ExitReason.RECONCILED
        fills = [f for f in outcome.leg_fills if f.quantity]
        if not fills:
            return BookChange()
        pos = self._positions.get(outcome.position_id)
        if pos is None or book is None:
            change = self._to_unmanaged(fills)
            self._log(outcome, None, "exit")
            return change
        basis = _exit_basis(pos, [(leg.contract, leg.ratio) for leg in outcome.legs])
        book.exit_reason = why
        change = self._book_fills(outcome.position_id, fills, basis, outcome.done_time, why,
                                  outcome.fees, self._slippage(fills, book.multiplier),
                                  create=None)
        self._log(outcome, book.facts.key, "exit")
        return change

    def apply(self, outcome: OrderOutcome) -> BookChange:
        """Book any outcome: entries/rolls with the facts given to :meth:`expect_entry` or
        :meth:`open_position`, exits as :meth:`apply_exit`, unmatched fills as unmanaged."""
        if outcome.status is OutcomeStatus.UNMATCHED or outcome.purpose is None:
            fills = [f for f in outcome.leg_fills if f.quantity]
            if fills:
                self._log(outcome, outcome.key, "unmatched")
            return self._to_unmanaged(fills)
        expected = self._expect.get(outcome.position_id)
        if outcome.purpose is OrderPurpose.EXIT or (
                expected is None and outcome.position_id in self._positions):
            return self.apply_exit(outcome)
        fills = [f for f in outcome.leg_fills if f.quantity]
        if expected is None:
            if fills:
                self._log(outcome, outcome.key, "unmatched")
            return self._to_unmanaged(fills)
        facts, replaces = expected
        if not fills:
            return BookChange()
        change = self._book_entry(outcome, facts, replaces, fills)
        self._log(outcome, facts.key, outcome.purpose.value)
        return change

    def _book_entry(self, outcome: OrderOutcome, facts: EntryFacts, replaces: str | None,
                    fills: list[LegFill]) -> BookChange:
        old = self._positions.get(replaces) if replaces is not None else None
        closing: set[Contract] = set()
        if old is not None:
            held = _holdings(old)
            for leg in outcome.legs:
                h = held.get(leg.contract, 0)
                if h != 0 and (h > 0) != (leg.ratio * outcome.units > 0):
                    closing.add(leg.contract)
        exit_fills = [f for f in fills if f.contract in closing]
        entry_fills = [f for f in fills if f.contract not in closing]
        total = sum(abs(f.quantity) for f in fills)
        change = BookChange()
        mult = _multiplier(facts.root, facts.multiplier)
        if exit_fills and old is not None and replaces is not None:
            old_book = self._books[replaces]
            old_book.exit_reason = ExitReason.ROLL
            share = sum(abs(f.quantity) for f in exit_fills) / total
            basis = _exit_basis(old, [(leg.contract, leg.ratio) for leg in outcome.legs
                                      if leg.contract in closing])
            change = change + self._book_fills(
                replaces, exit_fills, basis, outcome.done_time, ExitReason.ROLL,
                outcome.fees * share, self._slippage(exit_fills, old_book.multiplier),
                create=None)
        if entry_fills:
            share = sum(abs(f.quantity) for f in entry_fills) / total
            basis, _ = _normalised((leg.contract, leg.ratio) for leg in outcome.legs
                                   if leg.contract not in closing)
            change = change + self._book_fills(
                outcome.position_id, entry_fills, basis, outcome.done_time, None,
                outcome.fees * share, self._slippage(entry_fills, mult), create=facts)
        return change

    @staticmethod
    def _slippage(fills: Iterable[LegFill], multiplier: float) -> float:
        return math.fsum((f.price - f.mid) * f.quantity for f in fills) * multiplier

    def _log(self, outcome: OrderOutcome, key: StrategyKey | None, kind: str) -> None:
        fills = [f for f in outcome.leg_fills if f.quantity]
        if not fills:
            return
        mult = _multiplier(fills[0].contract.root, 1.0)
        self.trade_log.append(TradeRecord(
            position_id=outcome.position_id, order_id=outcome.order_id, key=key, kind=kind,
            status=outcome.status.value, submit_time=outcome.submit_time,
            time=outcome.done_time, units=outcome.filled_units, fill_price=outcome.net_price,
            mid=outcome.mid, natural=outcome.natural,
            slippage=self._slippage(fills, mult), fees=outcome.fees, steps=outcome.steps,
            reason=outcome.reason))

    def _to_unmanaged(self, fills: Iterable[LegFill]) -> BookChange:
        booked: list[tuple[Contract, int]] = []
        for f in fills:
            if f.quantity == 0:
                continue
            h = self._unmanaged.get(f.contract, 0)
            new = h + f.quantity
            if h == 0 or (h > 0) == (f.quantity > 0):
                a = self._unmanaged_avg.get(f.contract, 0.0)
                self._unmanaged_avg[f.contract] = (abs(h) * a + abs(f.quantity) * f.price) / (
                    abs(h) + abs(f.quantity))
            elif new != 0 and (new > 0) != (h > 0):
                self._unmanaged_avg[f.contract] = f.price
            if new == 0:
                self._unmanaged.pop(f.contract, None)
                self._unmanaged_avg.pop(f.contract, None)
            else:
                self._unmanaged[f.contract] = new
            booked.append((f.contract, f.quantity))
        return BookChange(unmanaged=tuple(booked))

    def _book_fills(self, pid: str, fills: Sequence[LegFill], basis: Basis, time: datetime,
                    reason: ExitReason | None, fees: float, slippage: float,
                    create: EntryFacts | None) -> BookChange:
        """Apply fills to position ``pid`` (created from ``create`` when absent), then keep it
        whole: ``j`` units of ``basis`` stay as the position, the rest becomes a remainder."""
        pos = self._positions.get(pid)
        book = self._books.get(pid)
        is_new = pos is None or book is None
        if book is None:
            if create is None:
                return self._to_unmanaged(fills)
            book = _Book(create, _multiplier(create.root, create.multiplier), time)
            self._books[pid] = book
        held: dict[Contract, int] = {} if pos is None else _holdings(pos)
        for f in fills:
            self._fill_contract(book, held, f)
        book.fees += fees
        book.slippage += slippage
        units, rest = decompose(held, basis)
        change = BookChange()
        if units > 0:
            first_whole = is_new
            if create is not None and book.remainder_of == pid:
                book.remainder_of = None
                book.entry_units = 0
                first_whole = True
            structure = REMAINDER_STRUCTURE if book.remainder_of is not None \
                else book.facts.structure
            new_pos = self._make(pid, book, basis, units, structure)
            if create is not None and book.remainder_of is None:
                if units > book.entry_units:
                    book.entry_units = units
                    book.entry_price = new_pos.entry_price
                    book.entry_legs = new_pos.legs
                if first_whole:
                    self._entries[book.facts.key] = self._entries.get(book.facts.key, 0) + 1
            self._put(new_pos)
            if first_whole:
                change = change + BookChange(opened=(new_pos,))
            elif structure == REMAINDER_STRUCTURE:
                change = change + BookChange(remainders=(new_pos,))
            else:
                change = change + BookChange(changed=(new_pos,))
            if rest:
                change = change + self._split_remainder(pid, book, rest)
            return change
        if rest:
            legs, g = _normalised(rest.items())
            book.remainder_of = book.remainder_of or pid
            if book.entry_units == 0:
                book.entry_units = g
                book.entry_price = math.fsum(r * book.avg.get(c, 0.0) for c, r in legs)
                book.entry_legs = tuple(PositionLeg(c, r) for c, r in legs)
            remainder = self._make(pid, book, legs, g, REMAINDER_STRUCTURE)
            self._put(remainder)
            return BookChange(remainders=(remainder,))
        return BookChange(closed=(self._close(pid, book, time, reason),))

    def _fill_contract(self, book: _Book, held: dict[Contract, int], f: LegFill) -> None:
        c, q, p = f.contract, f.quantity, f.price
        h = held.get(c, 0)
        a = book.avg.get(c, 0.0)
        if h == 0 or (h > 0) == (q > 0):
            book.avg[c] = (abs(h) * a + abs(q) * p) / (abs(h) + abs(q))
        else:
            closed = min(abs(q), abs(h))
            book.realised += closed * (1 if h > 0 else -1) * (p - a) * book.multiplier
            if abs(q) > abs(h):
                book.avg[c] = p
        new = h + q
        if new == 0:
            held.pop(c, None)
            book.avg.pop(c, None)
        else:
            held[c] = new

    def _make(self, pid: str, book: _Book, legs: Sequence[tuple[Contract, int]], units: int,
              structure: str) -> Position:
        price = math.fsum(r * book.avg.get(c, 0.0) for c, r in legs)
        meta = [(k, v) for k, v in book.facts.meta if not k.startswith(LEG_PRICE_PREFIX)
                and k != REMAINDER_OF]
        meta.extend((leg_price_key(c), repr(book.avg.get(c, 0.0))) for c, _ in legs)
        if book.remainder_of is not None:
            meta.append((REMAINDER_OF, book.remainder_of))
        return Position(
            position_id=pid, key=book.facts.key, root=book.facts.root, structure=structure,
            legs=tuple(PositionLeg(c, r) for c, r in legs), units=units,
            entry_time=book.entry_time, entry_price=round(price, 10),
            multiplier=book.multiplier, expiry=min(c.expiry for c, _ in legs),
            parent_id=book.facts.parent_id, meta=tuple(meta))

    def _split_remainder(self, pid: str, book: _Book, rest: Mapping[Contract, int]
                         ) -> BookChange:
        legs, g = _normalised(rest.items())
        self._seq += 1
        rid = f"{pid}~{self._seq}"
        rbook = _Book(book.facts, book.multiplier, book.entry_time,
                      avg={c: book.avg[c] for c, _ in legs if c in book.avg},
                      remainder_of=pid, exit_reason=book.exit_reason)
        rbook.entry_units = g
        rbook.entry_price = math.fsum(r * rbook.avg.get(c, 0.0) for c, r in legs)
        rbook.entry_legs = tuple(PositionLeg(c, r) for c, r in legs)
        self._books[rid] = rbook
        remainder = self._make(rid, rbook, legs, g, REMAINDER_STRUCTURE)
        self._put(remainder)
        return BookChange(remainders=(remainder,))

    def _close(self, pid: str, book: _Book, time: datetime, reason: ExitReason | None
               ) -> ClosedTrade:
        self._positions.pop(pid, None)
        self._views.clear()
        self._books.pop(pid, None)
        self._expect.pop(pid, None)
        why = reason or book.exit_reason or ExitReason.RECONCILED
        units = max(book.entry_units, 1)
        exit_price = book.entry_price + book.realised / (units * book.multiplier)
        deltas = dict(book.facts.deltas)
        structure = REMAINDER_STRUCTURE if book.remainder_of is not None \
            else book.facts.structure
        trade = ClosedTrade(
            position_id=pid, strategy=book.facts.key.value, root=book.facts.root,
            structure=structure, entry_time=book.entry_time, exit_time=time,
            expiry=min((leg.contract.expiry for leg in book.entry_legs),
                       default=book.facts.expiry),
            dte_at_entry=(book.facts.expiry - book.entry_time.date()).days,
            contracts=book.entry_units, legs=tuple(_leg_text(leg) for leg in book.entry_legs),
            deltas=tuple(deltas.get(leg.contract, math.nan) for leg in book.entry_legs),
            entry_price=book.entry_price, exit_price=round(exit_price, 10),
            pnl=book.realised - book.fees, fees=book.fees, slippage=book.slippage,
            exit_reason=why.name.lower())
        self.closed_trades.append(trade)
        return trade

    def settle_expired(self, day: date, settlement_price: Callable[[Contract], float | None],
                       when: datetime | None = None) -> BookChange:
        """Close every leg expiring on or before ``day`` at intrinsic value (no fees).

        ``settlement_price(contract)`` is the underlying's settlement price for that contract.
        A position with an expiring leg whose price is missing or not finite is left open and
        named in ``problems`` (fail closed); its other legs are not settled either. ``when`` is
        the booking time (default: the end of ``day``).
        """
        at = when if when is not None else datetime.combine(day, time.max)
        change = BookChange()
        for pid, pos in list(self._positions.items()):
            expiring = [leg for leg in pos.legs if leg.contract.expiry <= day]
            if not expiring:
                continue
            prices: dict[Contract, float] = {}
            for leg in expiring:
                s = settlement_price(leg.contract)
                if s is None or not math.isfinite(s):
                    break
                prices[leg.contract] = intrinsic(leg.contract, s)
            if len(prices) != len(expiring):
                change = change + BookChange(problems=(
                    f"no settlement price for #{pid} {expiring[len(prices)].contract.symbol}",))
                continue
            fills = [LegFill(leg.contract, leg.ratio, -leg.ratio * pos.units,
                             prices[leg.contract], prices[leg.contract]) for leg in expiring]
            book = self._books[pid]
            book.exit_reason = ExitReason.EXPIRED
            basis = _exit_basis(pos, [(leg.contract, -leg.ratio) for leg in expiring])
            self.trade_log.append(TradeRecord(
                position_id=pid, order_id="", key=pos.key, kind="settlement",
                status="settled", submit_time=at, time=at, units=-pos.units,
                fill_price=math.fsum(leg.ratio * prices[leg.contract] for leg in expiring),
                mid=math.nan, natural=math.nan, slippage=0.0, fees=0.0, steps=0,
                reason="expired"))
            change = change + self._book_fills(pid, fills, basis, at, ExitReason.EXPIRED,
                                               0.0, 0.0, create=None)
        for contract in [c for c in self._unmanaged if c.expiry <= day]:
            s = settlement_price(contract)
            if s is None or not math.isfinite(s):
                change = change + BookChange(problems=(
                    f"no settlement price for unmanaged {contract.symbol}",))
                continue
            q = self._unmanaged[contract]
            value = intrinsic(contract, s)
            change = change + self._to_unmanaged([LegFill(contract, 1, -q, value, value)])
        return change

    def close_in_book(self, position_id: str, now: datetime, units: int | None = None,
                      mark: float | None = None) -> BookChange:
        """Remove ``units`` (all when None) of a position from the book with reason RECONCILED.

        The legs are closed at their average entry price (no P&L) unless a finite ``mark`` (net
        points per unit) is given, which is spread over the legs like a combo fill.
        """
        pos = self._positions.get(position_id)
        book = self._books.get(position_id)
        if pos is None or book is None:
            return BookChange()
        n = pos.units if units is None else max(0, min(units, pos.units))
        if n == 0:
            return BookChange()
        prices = {leg.contract: book.avg.get(leg.contract, 0.0) for leg in pos.legs}
        if mark is not None and math.isfinite(mark):
            shift = (mark - pos.entry_price) / sum(abs(leg.ratio) for leg in pos.legs)
            for leg in pos.legs:
                prices[leg.contract] += shift if leg.ratio > 0 else -shift
        fills = [LegFill(leg.contract, leg.ratio, -leg.ratio * n, prices[leg.contract],
                         prices[leg.contract]) for leg in pos.legs]
        book.exit_reason = ExitReason.RECONCILED
        basis = [(leg.contract, leg.ratio) for leg in pos.legs]
        self.trade_log.append(TradeRecord(
            position_id=position_id, order_id="", key=pos.key, kind="reconcile",
            status="reconciled", submit_time=now, time=now, units=-n,
            fill_price=math.fsum(leg.ratio * prices[leg.contract] for leg in pos.legs),
            mid=math.nan, natural=math.nan, slippage=0.0, fees=0.0, steps=0,
            reason="missing_at_broker"))
        return self._book_fills(position_id, fills, basis, now, ExitReason.RECONCILED, 0.0,
                                0.0, create=None)

    def set_unmanaged(self, holdings: Mapping[Contract, int]) -> None:
        """Replace the unmanaged book (after reconciliation), signed contracts."""
        self._unmanaged = {c: q for c, q in holdings.items() if q}
        self._unmanaged_avg = {c: self._unmanaged_avg.get(c, 0.0) for c in self._unmanaged}

    def record_equity(self, day: date, equity: float) -> None:
        """End-of-day equity (USD); a second value for the same day replaces the first."""
        if math.isfinite(equity):
            last = self._equity_last
            if last is not None and day <= last:
                self._equity_rewrites += 1
            else:
                self._equity_last = day
            self._equity[day] = equity

    def equity_revision(self) -> tuple[int, int]:
        """``(rewrites, points)``: ``rewrites`` counts values recorded for a day not after the
        latest recorded day (a replacement or an insertion); while it stays the same, the points
        recorded since are appended days, newest last (see :meth:`equity_points_after`)."""
        return self._equity_rewrites, len(self._equity)

    def equity_points_after(self, count: int) -> list[tuple[date, float]]:
        """The points recorded after the first ``count`` (in recording order; oldest first
        while :meth:`equity_revision` reports no rewrite since ``count`` points were seen)."""
        n = len(self._equity) - count
        if n <= 0:
            return []
        tail = list(itertools.islice(reversed(self._equity.items()), n))
        tail.reverse()
        return tail

    def equity_series(self) -> pd.Series:
        """Daily equity as a float Series indexed by date, oldest first."""
        days = sorted(self._equity)
        return pd.Series([self._equity[d] for d in days], index=pd.Index(days, name="day"),
                         dtype="float64")

    def portfolio(self) -> PortfolioStats:
        """:func:`portfolio_stats` of the recorded equity with ``cfg.risk_free_rate``."""
        days = sorted(self._equity)
        return portfolio_stats([self._equity[d] for d in days], self._cfg.risk_free_rate)

    def attribution(self) -> dict[StrategyKey, StrategyAttribution]:
        """Per-strategy entries, exits, wins, losses, P&L, days held, fees and slippage.

        Exits, wins, losses, P&L and days held count closed trades (legged remainders
        included); fees and slippage sum every booked fill of the strategy.
        """
        out: dict[StrategyKey, StrategyAttribution] = {}
        for key in StrategyKey:
            trades = [t for t in self.closed_trades if t.strategy == key.value]
            wins = sum(1 for t in trades if t.pnl > 0)
            losses = sum(1 for t in trades if t.pnl < 0)
            total = math.fsum(t.pnl for t in trades)
            days = math.fsum((t.exit_time - t.entry_time).total_seconds() / 86400.0
                             for t in trades)
            records = [r for r in self.trade_log if r.key is key]
            n = len(trades)
            out[key] = StrategyAttribution(
                entries=self._entries.get(key, 0), exits=n, wins=wins, losses=losses,
                win_rate=wins / (wins + losses) if wins + losses else 0.0,
                total_pnl=total, avg_pnl=total / n if n else 0.0,
                avg_days_held=days / n if n else 0.0,
                fees=math.fsum(r.fees for r in records),
                slippage=math.fsum(r.slippage for r in records))
        return out

    def history_lengths(self) -> dict[str, int]:
        """Lengths of the append-only histories that :meth:`to_obj` can skip a prefix of."""
        return {"trade_log": len(self.trade_log), "closed_trades": len(self.closed_trades)}

    def history_obj(self, name: str, start: int, stop: int) -> list[Json]:
        """Items ``start:stop`` of the history ``name`` (``trade_log`` or ``closed_trades``)."""
        items = self.trade_log if name == "trade_log" else self.closed_trades
        return [x.to_obj() for x in items[start:stop]]

    def to_obj(self, skip: Mapping[str, int] | None = None) -> JsonObj:
        """JSON-ready state (see :mod:`execution.persistence`). ``skip`` leaves out the first
        ``skip[name]`` items of the append-only histories (saved elsewhere, in chunks)."""
        sk = skip or {}
        t0, c0 = sk.get("trade_log", 0), sk.get("closed_trades", 0)
        return {
            "positions": [_position_obj(p) for p in self._positions.values()],
            "books": {pid: b.to_obj() for pid, b in self._books.items()},
            "expect": {pid: {"facts": f.to_obj(), "replaces": r}
                       for pid, (f, r) in self._expect.items()},
            "unmanaged": [[c.symbol, q, self._unmanaged_avg.get(c, 0.0)]
                          for c, q in self._unmanaged.items()],
            "entries": {k.value: n for k, n in self._entries.items()},
            "equity": [[d.isoformat(), v] for d, v in sorted(self._equity.items())],
            "seq": self._seq,
            "trade_log": [r.to_obj() for r in self.trade_log[t0:]],
            "closed_trades": [t.to_obj() for t in self.closed_trades[c0:]],
        }

    @staticmethod
    def from_obj(value: Json, cfg: Config) -> Ledger:
        """Rebuild from :meth:`to_obj`; raises :class:`execution.codec.StateFormatError`."""
        d = codec.obj(value, "ledger")
        ledger = Ledger(cfg)
        for item in codec.seq(codec.field(d, "positions"), "positions"):
            p = _position_from(item)
            ledger._put(p)
        books = codec.obj(codec.field(d, "books"), "books")
        for pid, b in books.items():
            ledger._books[pid] = _Book.from_obj(b)
        missing = set(ledger._positions) - set(ledger._books)
        if missing:
            raise codec.StateFormatError(f"positions without accounting: {sorted(missing)}")
        for pid, e in codec.obj(codec.field(d, "expect"), "expect").items():
            eo = codec.obj(e, "expect")
            ledger._expect[pid] = (EntryFacts.from_obj(codec.field(eo, "facts")),
                                   codec.get_opt_str(eo, "replaces"))
        for item in codec.seq(codec.field(d, "unmanaged"), "unmanaged"):
            row = codec.seq(item, "unmanaged")
            if len(row) != 3:
                raise codec.StateFormatError("unmanaged: expected [contract, qty, price]")
            c = codec.dec_contract(row[0], "unmanaged")
            ledger._unmanaged[c] = codec.as_int(row[1], "unmanaged")
            ledger._unmanaged_avg[c] = codec.as_float(row[2], "unmanaged")
        for k, n in codec.obj(codec.field(d, "entries"), "entries").items():
            ledger._entries[codec.dec_enum(StrategyKey, k, "entries")] = codec.as_int(n,
                                                                                      "entries")
        for item in codec.seq(codec.field(d, "equity"), "equity"):
            row = codec.seq(item, "equity")
            if len(row) != 2:
                raise codec.StateFormatError("equity: expected [day, value]")
            ledger._equity[codec.dec_date(row[0], "equity")] = codec.as_float(row[1], "equity")
        ledger._equity_last = max(ledger._equity, default=None)
        ledger._seq = codec.get_int(d, "seq")
        ledger.trade_log = [TradeRecord.from_obj(x)
                            for x in codec.seq(codec.field(d, "trade_log"), "trade_log")]
        ledger.closed_trades = [ClosedTrade.from_obj(x) for x in
                                codec.seq(codec.field(d, "closed_trades"), "closed_trades")]
        return ledger


def _holdings(p: Position) -> dict[Contract, int]:
    return {leg.contract: leg.ratio * p.units for leg in p.legs}


def _exit_basis(pos: Position, exit_legs: Sequence[tuple[Contract, int]]) -> Basis:
    """Structure the position should keep after a complete fill of an exit with ``exit_legs``:
    its own structure when the exit covers all legs in proportion (fewer units), otherwise its
    legs the exit does not touch (gcd-normalised)."""
    own = [(leg.contract, leg.ratio) for leg in pos.legs]
    ratios = dict(exit_legs)
    if set(ratios) == {c for c, _ in own}:
        c0, r0 = own[0]
        e0 = ratios[c0]
        if all(ratios[c] * r0 == r * e0 for c, r in own):
            return own
    basis, _ = _normalised((c, r) for c, r in own if c not in ratios)
    return basis


def _position_obj(p: Position) -> JsonObj:
    return {
        "position_id": p.position_id, "key": p.key.value, "root": p.root,
        "structure": p.structure, "legs": codec.enc_legs(p.legs), "units": p.units,
        "entry_time": codec.enc_time(p.entry_time), "entry_price": p.entry_price,
        "multiplier": p.multiplier, "expiry": p.expiry.isoformat(), "parent_id": p.parent_id,
        "meta": [[k, v] for k, v in p.meta],
    }


def _position_from(value: Json) -> Position:
    d = codec.obj(value, "position")
    meta: list[tuple[str, str]] = []
    for item in codec.seq(codec.field(d, "meta"), "meta"):
        pair = codec.seq(item, "meta")
        if len(pair) != 2:
            raise codec.StateFormatError("meta: expected [name, value] pairs")
        meta.append((codec.as_str(pair[0], "meta"), codec.as_str(pair[1], "meta")))
    legs = tuple(PositionLeg(c, r) for c, r in codec.dec_leg_pairs(codec.field(d, "legs"),
                                                                   "legs"))
    units = codec.get_int(d, "units")
    if not legs or units <= 0 or any(leg.ratio == 0 for leg in legs):
        raise codec.StateFormatError(f"position {d.get('position_id')!r}: empty legs, zero "
                                     "ratio or units <= 0")
    return Position(
        position_id=codec.get_str(d, "position_id"),
        key=codec.dec_enum(StrategyKey, codec.field(d, "key"), "key"),
        root=codec.get_str(d, "root"), structure=codec.get_str(d, "structure"), legs=legs,
        units=units, entry_time=codec.dec_time(codec.field(d, "entry_time"), "entry_time"),
        entry_price=codec.get_float(d, "entry_price"),
        multiplier=codec.get_float(d, "multiplier"),
        expiry=codec.dec_date(codec.field(d, "expiry"), "expiry"),
        parent_id=codec.get_opt_str(d, "parent_id"), meta=tuple(meta))


_ENCODE = json.JSONEncoder(allow_nan=False, separators=(",", ":"), sort_keys=True).encode
_KEY = json.encoder.encode_basestring_ascii


def json_text(value: Json) -> str:
    """Compact strict JSON with sorted keys (the encoding of the stored state)."""
    return _ENCODE(value)


def json_object(members: Mapping[str, str]) -> str:
    """:func:`json_text` of an object whose member values are given already encoded."""
    return "{" + ",".join([f"{_KEY(k)}:{members[k]}" for k in sorted(members)]) + "}"


def json_object_parts(members: Mapping[str, str | list[str]]) -> list[str]:
    """:func:`json_object` as pieces to join (a member value may itself be given as pieces),
    so that large encoded members are copied once, by the final join."""
    out: list[str] = []
    sep = "{"
    for k in sorted(members):
        out.append(f"{sep}{_KEY(k)}:")
        v = members[k]
        if isinstance(v, str):
            out.append(v)
        else:
            out.extend(v)
        sep = ","
    out.append("{}" if sep == "{" else "}")
    return out


def json_array(items: Iterable[str]) -> str:
    """:func:`json_text` of an array whose items are given already encoded."""
    return "[" + ",".join(items) + "]"


class _Tail:
    """Encoded items of an append-only history from index ``start`` on, with the (immutable)
    items they encode and their joined text."""

    __slots__ = ("items", "joined", "start", "texts")

    def __init__(self, start: int) -> None:
        self.start = start
        self.items: list[TradeRecord | ClosedTrade] = []
        self.texts: list[str] = []
        self.joined: str | None = None


def _book_key(b: _Book) -> tuple[object, ...]:
    """Everything :meth:`_Book.to_obj` reads, floats by their bits and types (so that a change
    between ``0.0`` and ``-0.0``, or between an int and an equal float, is a change); the
    immutable facts and entry legs are compared by identity."""
    floats = (b.multiplier, b.entry_price, b.realised, b.fees, b.slippage, *b.avg.values())
    return (b.entry_time, b.entry_units, b.remainder_of, b.exit_reason, tuple(b.avg),
            tuple(map(type, floats)), struct.pack(f"{len(floats)}d", *floats))


class LedgerJson:
    """:func:`json_text` of :meth:`Ledger.to_obj` without re-encoding what did not change.

    Kept across saves of one ledger: the items of the trade log and closed trades (immutable
    records, reused while the same objects sit at the same indices), open positions (immutable,
    by identity), books (while every field :meth:`_Book.to_obj` reads is the same), entry
    expectations, and the equity series (extended with the points recorded since, rebuilt after
    any rewrite of an earlier day). The text is the same as encoding :meth:`Ledger.to_obj` in
    full.
    """

    def __init__(self) -> None:
        self._ledger: Ledger | None = None
        self._tails: dict[str, _Tail] = {}
        self._positions: dict[str, tuple[Position, str]] = {}
        self._books: dict[str, tuple[EntryFacts, tuple[PositionLeg, ...], tuple[object, ...],
                                     str]] = {}
        self._expect: dict[str, tuple[EntryFacts, str | None, str]] = {}
        self._expect_of: tuple[tuple[str, ...], tuple[tuple[EntryFacts, str | None], ...]] = (
            (), ())
        self._expect_text = "{}"
        self._positions_of: tuple[Position, ...] = ()
        self._positions_text = "[]"
        self._equity_rev: tuple[int, int] = (-1, 0)
        self._equity_parts: list[str] = []
        self._equity_text = "[]"

    def text(self, ledger: Ledger, skip: Mapping[str, int] | None = None) -> str:
        """Same as ``json_text(ledger.to_obj(skip))``."""
        return "".join(self.parts(ledger, skip))

    def parts(self, ledger: Ledger, skip: Mapping[str, int] | None = None) -> list[str]:
        """:meth:`text` as pieces to join."""
        if ledger is not self._ledger:
            self._ledger = ledger
            self._tails = {}
            self._positions = {}
            self._books = {}
            self._expect = {}
            self._expect_of = ((), ())
            self._expect_text = "{}"
            self._positions_of = ()
            self._positions_text = "[]"
            self._equity_rev = (-1, 0)
        sk = skip or {}
        books, self._books = self._books, {}
        members: dict[str, str | list[str]] = {
            "books": json_object({pid: self._book_text(books, pid, b)
                                  for pid, b in ledger._books.items()}),
            "closed_trades": self._tail("closed_trades", ledger.closed_trades,
                                        sk.get("closed_trades", 0)),
            "entries": _ENCODE({k.value: n for k, n in ledger._entries.items()}),
            "equity": self._equity(ledger),
            "expect": self._expectations(ledger),
            "positions": self._open_positions(ledger),
            "seq": _ENCODE(ledger._seq),
            "trade_log": self._tail("trade_log", ledger.trade_log, sk.get("trade_log", 0)),
            "unmanaged": _ENCODE([[c.symbol, q, ledger._unmanaged_avg.get(c, 0.0)]
                                  for c, q in ledger._unmanaged.items()]),
        }
        return json_object_parts(members)

    def _tail(self, name: str, items: Sequence[TradeRecord | ClosedTrade],
              start: int) -> str:
        tail = self._tails.get(name)
        if tail is None or start < tail.start:
            tail = self._tails[name] = _Tail(start)
        elif start > tail.start:
            drop = start - tail.start
            del tail.items[:drop]
            del tail.texts[:drop]
            tail.start = start
            tail.joined = None
        current = items[start:]
        n = len(tail.items)
        if n > len(current) or not all(map(operator.is_, tail.items, current)):
            tail.items, tail.texts, tail.joined, n = [], [], None, 0
        if n < len(current):
            added = current[n:]
            tail.items.extend(added)
            tail.texts.extend(_ENCODE(item.to_obj()) for item in added)
            tail.joined = None
        if tail.joined is None:
            tail.joined = json_array(tail.texts)
        return tail.joined

    def _book_text(self, before: dict[str, tuple[EntryFacts, tuple[PositionLeg, ...],
                                                  tuple[object, ...], str]],
                   pid: str, b: _Book) -> str:
        key = _book_key(b)
        hit = before.get(pid)
        if (hit is not None and hit[0] is b.facts and hit[1] is b.entry_legs
                and hit[2] == key):
            text = hit[3]
        else:
            text = _ENCODE(b.to_obj())
        self._books[pid] = (b.facts, b.entry_legs, key, text)
        return text

    def _open_positions(self, ledger: Ledger) -> str:
        """The positions' text, kept while the same position objects are open in the same
        order."""
        now = tuple(ledger._positions.values())
        before = self._positions_of
        if len(now) != len(before) or not all(map(operator.is_, now, before)):
            cached, self._positions = self._positions, {}
            self._positions_text = json_array([self._position_text(cached, p) for p in now])
            self._positions_of = now
        return self._positions_text

    def _expectations(self, ledger: Ledger) -> str:
        """The entry expectations' text, kept while the same ids map to the same (immutable)
        ``(facts, replaces)`` pairs."""
        keys, values = tuple(ledger._expect), tuple(ledger._expect.values())
        old_keys, old_values = self._expect_of
        if (keys != old_keys or len(values) != len(old_values)
                or not all(map(operator.is_, values, old_values))):
            cached, self._expect = self._expect, {}
            self._expect_text = json_object({pid: self._expect_text_of(cached, pid, f, r)
                                             for pid, (f, r) in ledger._expect.items()})
            self._expect_of = (keys, values)
        return self._expect_text

    def _position_text(self, before: dict[str, tuple[Position, str]], p: Position) -> str:
        hit = before.get(p.position_id)
        text = hit[1] if hit is not None and hit[0] is p else _ENCODE(_position_obj(p))
        self._positions[p.position_id] = (p, text)
        return text

    def _expect_text_of(self, before: dict[str, tuple[EntryFacts, str | None, str]], pid: str,
                        facts: EntryFacts, replaces: str | None) -> str:
        hit = before.get(pid)
        if hit is not None and hit[0] is facts and hit[1] == replaces:
            text = hit[2]
        else:
            text = _ENCODE({"facts": facts.to_obj(), "replaces": replaces})
        self._expect[pid] = (facts, replaces, text)
        return text

    def _equity(self, ledger: Ledger) -> str:
        rev = ledger.equity_revision()
        if rev == self._equity_rev:
            return self._equity_text
        rewrites, count = rev
        if rewrites != self._equity_rev[0] or count < self._equity_rev[1]:
            points = sorted(ledger._equity.items())
            self._equity_parts = []
        else:
            points = ledger.equity_points_after(self._equity_rev[1])
        self._equity_parts.extend(_ENCODE([d.isoformat(), v]) for d, v in points)
        self._equity_rev = rev
        self._equity_text = json_array(self._equity_parts)
        return self._equity_text
