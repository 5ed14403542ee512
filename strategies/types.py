"""Value types of the strategy layer: raw chains, trade ideas, skips, marks, the context port."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from config.enums import Engine, Phase, Regime, StrategyKey
from config.instruments import Contract
from config.model import Config, Schedule
from execution.types import ExitDecision, Position

if TYPE_CHECKING:
    from strategies.chain import ChainSnapshot

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]


@dataclass(frozen=True, slots=True)
class RawChain:
    """Quotes for every listed option of one root with expiries in a DTE window, as columns.

    ``expiry`` is ``datetime64[D]``; ``quote_time`` is ``datetime64[s]`` (naive exchange time);
    ``underlying`` is, per row, the price of that option's underlying (the futures contract for
    a futures option, the spot for index/equity options); ``underlying_time`` when it was seen.
    Missing quotes are NaN. Built by a market adapter; turned into a
    :class:`strategies.chain.ChainSnapshot` (validation + greeks) by the strategy layer.
    """

    root: str
    expiry: DateArray
    strike: FloatArray
    is_call: BoolArray
    bid: FloatArray
    ask: FloatArray
    quote_time: DateArray
    underlying: FloatArray
    underlying_time: datetime

    def __len__(self) -> int:
        return int(self.strike.shape[0])


@dataclass(frozen=True, slots=True)
class IdeaLeg:
    """A selected leg with the market facts it was chosen on. ``ratio`` signed (+ long)."""

    contract: Contract
    ratio: int
    bid: float
    ask: float
    delta: float
    iv: float
    underlying_price: float

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)


@dataclass(frozen=True, slots=True)
class TradeIdea:
    """What a strategy wants to open (one unit of structure); sizing decides the units.

    ``max_loss_per_unit`` is in dollars for one unit, None for undefined risk (the stress loss is
    used). ``size_factor`` scales the sizer's answer (e.g. the ladder's high-VIX doubling, the
    0DTE VIX-spike halving); ``max_units`` is a strategy budget cap (e.g. the butterfly's weekly
    debit). ``parent_id`` links a new position to an existing one (IPMCC short call → LEAP);
    ``replaces`` names a position this idea closes in the same combo (a roll).
    """

    key: StrategyKey
    root: str
    structure: str
    legs: tuple[IdeaLeg, ...]
    expiry: date
    multiplier: float
    reason: str
    max_loss_per_unit: float | None
    size_factor: float = 1.0
    max_units: int | None = None
    parent_id: str | None = None
    replaces: str | None = None

    @property
    def net_mid(self) -> float:
        """Σ ratio × mid per unit in points: positive = debit, negative = credit."""
        return sum(leg.ratio * leg.mid for leg in self.legs)

    @property
    def net_natural(self) -> float:
        """Opening at the natural price: pay the ask on longs, receive the bid on shorts."""
        return sum(leg.ratio * (leg.ask if leg.ratio > 0 else leg.bid) for leg in self.legs)


@dataclass(frozen=True, slots=True)
class Skip:
    """Why a strategy did not produce an idea. ``reason`` is a stable code counted in reports
    (e.g. ``no_expiry_in_window``); ``detail`` carries the figures."""

    key: StrategyKey
    reason: str
    detail: str = ""


class LegMark(NamedTuple):
    """One leg of a :class:`PositionMark`. ``delta`` is the signed delta per unit of the
    underlying, NaN where it was not solved: no usable quote or vol, no delta wanted for the
    position, or provably below the position's delta level (see
    :class:`strategies.marks.MarkPlan`).

    Marks are built for every position on every exit check, so both mark types are named tuples:
    immutable like the frozen dataclasses elsewhere, at a fraction of their construction cost.
    """

    contract: Contract
    ratio: int
    bid: float
    ask: float
    delta: float

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)


class PositionMark(NamedTuple):
    """Current market of an open position, per unit, in points.

    ``net_mid`` = Σ ratio × mid; P&L per unit = ``net_mid − position.entry_price``. ``valid`` is
    False when any leg has no usable quote (exits that need prices then wait, except time stops and
    breaker flattening).
    """

    position_id: str
    legs: tuple[LegMark, ...]
    net_mid: float
    underlying_price: float
    valid: bool
    now: datetime


class StrategyContext(Protocol):
    """What a strategy may read when a rule fires. Implemented by :mod:`system`."""

    @property
    def now(self) -> datetime: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def config(self) -> Config: ...
    @property
    def phase(self) -> Phase: ...
    @property
    def regime(self) -> Regime: ...
    @property
    def vix(self) -> float | None: ...
    @property
    def vix_open(self) -> float | None: ...
    @property
    def nlv(self) -> float: ...

    def chain(self, root: str, min_dte: int, max_dte: int) -> ChainSnapshot | Skip: ...
    def price(self, root: str) -> float | None: ...
    def session_open(self, root: str) -> float | None: ...
    def daily_closes(self, root: str, days: int) -> FloatArray: ...
    def atm_iv_history(self, root: str, days: int) -> FloatArray: ...
    def positions(self, key: StrategyKey | None = None) -> tuple[Position, ...]: ...


class Strategy(Protocol):
    """One strategy module. Schedules are data; rules fire by name (``Schedule.rule``)."""

    @property
    def key(self) -> StrategyKey: ...

    def schedules(self) -> tuple[Schedule, ...]: ...

    def on_rule(self, rule: str, ctx: StrategyContext) -> TradeIdea | Skip | None:
        """Entry (or bookkeeping) for ``rule``; None when the rule only records state."""
        ...

    def manage(self, position: Position, mark: PositionMark,
               ctx: StrategyContext) -> ExitDecision | None:
        """Strategy-specific management beyond the generic exit rules (rolls, partial closes)."""
        ...
