"""Shared machinery of the seven strategies: the entry checks in SPEC order, chain fetching, leg
selection with stable Skip reasons, and idea assembly.

Every strategy checks, in order: phase, regime, its own filters, its cap, the chain, the expiry
window, the strikes by delta, the quotes, and the structure's sanity (e.g. net credit). The first
failing check gives a :class:`strategies.types.Skip` with a reason from :class:`SkipReason`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import partial
from typing import Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from config.enums import Engine, ExpiryKind, Right, StrategyKey
from config.instruments import instrument
from config.model import Config, DeltaTarget, ExitRules, Schedule, StrategyCommon
from config.universe import roots_for
from execution.types import ExitDecision, Position
from strategies.chain import ChainSnapshot
from strategies.types import (
    FloatArray,
    IdeaLeg,
    PositionMark,
    Skip,
    StrategyContext,
    TradeIdea,
)

# Trading days in a year: the look-back of "52-week" filters.
TRADING_DAYS_PER_YEAR = 252


class SkipReason(StrEnum):
    """Stable reason codes of :class:`Skip` (counted in reports)."""

    UNKNOWN_RULE = "unknown_rule"
    PHASE_LOCKED = "phase_locked"
    VIX_UNKNOWN = "vix_unknown"  # also regime_forbids, vix_too_high: config VixConfig.entry_block
    VIX_OUT_OF_BAND = "vix_out_of_band"
    VIX_BELOW_MIN = "vix_below_min"
    INSTRUMENT_UNAVAILABLE = "instrument_unavailable"
    NO_UNDERLYING_PRICE = "no_underlying_price"
    PRICE_HISTORY_SHORT = "price_history_short"
    NEAR_52W_HIGH = "near_52w_high"
    IV_HISTORY_SHORT = "iv_history_short"
    IV_RANK_LOW = "iv_rank_low"
    MOVE_BELOW_THRESHOLD = "move_below_threshold"
    NO_BASELINE = "no_baseline"
    NO_LEAP_OPEN = "no_leap_open"
    CAP_REACHED = "cap_reached"
    DEBIT_BUDGET_SPENT = "debit_budget_spent"
    NO_CHAIN = "no_chain"
    EMPTY_CHAIN = "empty_chain"
    STALE_UNDERLYING = "stale_underlying"
    NO_EXPIRY_IN_WINDOW = "no_expiry_in_window"
    EXPIRY_TAKEN = "expiry_taken"
    NO_STRIKE_IN_DELTA_RANGE = "no_strike_in_delta_range"
    NO_STRIKE_AT_OFFSET = "no_strike_at_offset"
    NO_VALID_QUOTE = "no_valid_quote"
    EXTRINSIC_TOO_HIGH = "extrinsic_too_high"
    NOT_A_CREDIT = "not_a_credit"
    NOT_A_DEBIT = "not_a_debit"
    INVALID_STRUCTURE = "invalid_structure"
    SAME_CONTRACT = "same_contract"
    STRATEGY_ERROR = "strategy_error"


class Structure(StrEnum):
    """``TradeIdea.structure`` / ``Position.structure`` names."""

    IRON_CONDOR = "iron_condor"
    CALL_CREDIT_SPREAD = "call_credit_spread"
    PUT_CREDIT_SPREAD = "put_credit_spread"
    PUT_112 = "put_112"
    STRANGLE = "strangle"
    LEAP_CALL = "leap_call"
    SHORT_CALL = "short_call"
    SHORT_PUT = "short_put"
    PUT_BUTTERFLY = "put_butterfly"
    CALL_BUTTERFLY = "call_butterfly"


class SkipSignal(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a rule handler to stop with a Skip; caught by :meth:`StrategyBase.run`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(str(reason), detail)
        self.reason = str(reason)
        self.detail = detail


@runtime_checkable
class HasExitRules(Protocol):
    """A strategy that scopes its configured exit rules per position (e.g. IPMCC LEAP vs. the
    short call written against it)."""

    def exit_rules(self, position: Position) -> ExitRules: ...


Outcome = TradeIdea | Skip
T = TypeVar("T")

# Positions whose derived facts :class:`PerPosition` keeps before it starts again.
_PER_POSITION_ENTRIES = 256


class PerPosition(Generic[T]):
    """Facts derived from a position, worked out once per position object.

    Positions are immutable (the ledger replaces one that changes), so a fact of the same
    position object never changes; a replaced position is worked out again.
    """

    __slots__ = ("_derive", "_memo")

    def __init__(self, derive: Callable[[Position], T]) -> None:
        self._derive = derive
        self._memo: dict[str, tuple[Position, T]] = {}

    def __call__(self, position: Position) -> T:
        hit = self._memo.get(position.position_id)
        if hit is not None and hit[0] is position:
            return hit[1]
        value = self._derive(position)
        if len(self._memo) >= _PER_POSITION_ENTRIES:
            self._memo.clear()
        self._memo[position.position_id] = (position, value)
        return value


Handler = Callable[[StrategyContext, Schedule], tuple[Outcome, ...] | None]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """How a rule is handled: ``gated`` rules pass the phase/regime checks first."""

    handler: Handler
    gated: bool = True


class StrategyBase:
    """Base of every strategy: dispatch by rule name, the common gate, shared selection.

    Subclasses set ``_rules`` (rule suffix → :class:`RuleSpec`) in ``__init__``.
    """

    def __init__(self, cfg: Config, common: StrategyCommon) -> None:
        self.cfg = cfg
        self.common = common
        self._rules: Mapping[str, RuleSpec] = {}

    @property
    def key(self) -> StrategyKey:
        return self.common.key

    def schedules(self) -> tuple[Schedule, ...]:
        return self.common.schedules

    def exit_rules(self, position: Position) -> ExitRules:
        """Configured exit thresholds for ``position`` (``common.exits`` by default)."""
        return self.common.exits

    def manage(self, position: Position, mark: PositionMark,
               ctx: StrategyContext) -> ExitDecision | None:
        """No strategy-specific management beyond the generic exit rules."""
        return None

    # -- what a restart during the day continues from ------------------------------------------
    def day_memo(self) -> dict[str, float]:
        """Values recorded by a rule that a later rule reads (the system saves them with its
        session state); none by default."""
        return {}

    def restore_day_memo(self, memo: Mapping[str, float]) -> None:
        """Continue from a :meth:`day_memo` saved earlier in the same session."""

    # -- rule dispatch ---------------------------------------------------------------------------
    def on_rule(self, rule: str, ctx: StrategyContext) -> TradeIdea | Skip | None:
        """The first idea of :meth:`on_rule_all`, else its first Skip, else None."""
        outcomes = self.on_rule_all(rule, ctx)
        if outcomes is None:
            return None
        for o in outcomes:
            if isinstance(o, TradeIdea):
                return o
        return outcomes[0] if outcomes else None

    def on_rule_all(self, rule: str, ctx: StrategyContext) -> tuple[Outcome, ...] | None:
        """Every outcome of ``rule``: one per root or per open parent for multi-root/multi-parent
        strategies (strangles, IPMCC), otherwise exactly one. None when the rule only records
        state. Never raises: an unexpected error becomes Skip ``strategy_error``."""
        sched = next((s for s in self.common.schedules if s.rule == rule), None)
        spec = self._rules.get(rule.rpartition(".")[2]) if sched is not None else None
        if sched is None or spec is None:
            return (self.skip(SkipReason.UNKNOWN_RULE, rule),)
        try:
            if spec.gated:
                self.gate(ctx, sched)
            return spec.handler(ctx, sched)
        except SkipSignal as r:
            return (self.skip(r.reason, r.detail),)
        except Exception as e:  # fail closed: no exception reaches the trading loop
            return (self.skip(SkipReason.STRATEGY_ERROR, f"{rule}: {type(e).__name__}: {e}"),)

    def run(self, fn: Callable[[], TradeIdea]) -> Outcome:
        """``fn()`` or the Skip of the :class:`SkipSignal` it raised (per-root evaluation)."""
        try:
            return fn()
        except SkipSignal as r:
            return self.skip(r.reason, r.detail)

    def per_root(self, ctx: StrategyContext,
                 idea: Callable[[StrategyContext, str, int], TradeIdea]) -> tuple[Outcome, ...]:
        """One outcome per phase root: ``idea(ctx, root, pending)``, where ``pending`` counts the
        ideas already made in this rule firing (they count toward the cap)."""
        out: list[Outcome] = []
        for root in self.roots(ctx):
            pending = sum(1 for o in out if isinstance(o, TradeIdea))
            out.append(self.run(partial(idea, ctx, root, pending)))
        return tuple(out)

    def skip(self, reason: str, detail: str = "") -> Skip:
        """A Skip of this strategy; ``reason`` is a :class:`SkipReason` or a passed-on code."""
        return Skip(self.key, str(reason), detail)

    # -- checks in SPEC order --------------------------------------------------------------------
    def gate(self, ctx: StrategyContext, sched: Schedule) -> None:
        """Phase (strategy and rule minimum, non-zero cap), then regime."""
        phase = ctx.phase
        need = max(self.common.min_phase, sched.min_phase)
        if phase < need:
            raise SkipSignal(SkipReason.PHASE_LOCKED,
                             f"{sched.rule} needs phase {int(need)}, account is phase {int(phase)}")
        if self.common.cap(phase) <= 0:
            raise SkipSignal(SkipReason.PHASE_LOCKED,
                             f"cap is 0 in phase {int(phase)}")
        block = self.cfg.vix.entry_block(self.key, ctx.regime, ctx.vix)
        if block is not None:
            raise SkipSignal(*block)

    def roots(self, ctx: StrategyContext) -> tuple[str, ...]:
        """Roots for the phase and engine (:func:`config.universe.roots_for`); never empty."""
        roots = roots_for(self.key, ctx.phase, ctx.engine)
        if not roots:
            raise SkipSignal(SkipReason.INSTRUMENT_UNAVAILABLE,
                             f"no {self.key.value} root in phase {int(ctx.phase)} on "
                             f"{ctx.engine.value}")
        return roots

    def check_engine(self, root: str, engine: Engine, kind: ExpiryKind) -> None:
        """The engine must have ``kind`` options on ``root`` (no silent substitution)."""
        try:
            ok = instrument(root).supports(engine, kind)
        except KeyError:
            ok = False
        if not ok:
            raise SkipSignal(SkipReason.INSTRUMENT_UNAVAILABLE,
                             f"{root} {kind.value} options are not available on {engine.value}")

    def open_positions(self, ctx: StrategyContext) -> tuple[Position, ...]:
        return ctx.positions(self.key)

    def check_cap(self, ctx: StrategyContext, count: int) -> None:
        cap = self.common.cap(ctx.phase)
        if count >= cap:
            raise SkipSignal(SkipReason.CAP_REACHED,
                             f"{count} open {self.common.cap_unit}, cap {cap} in phase "
                             f"{int(ctx.phase)}")

    def price(self, ctx: StrategyContext, root: str) -> float:
        p = ctx.price(root)
        if p is None or not math.isfinite(p) or p <= 0:
            raise SkipSignal(SkipReason.NO_UNDERLYING_PRICE, f"no price for {root}")
        return float(p)

    def session_open(self, ctx: StrategyContext, root: str) -> float:
        p = ctx.session_open(root)
        if p is None or not math.isfinite(p) or p <= 0:
            raise SkipSignal(SkipReason.NO_UNDERLYING_PRICE, f"no session open for {root}")
        return float(p)

    def closes(self, ctx: StrategyContext, root: str, need: int) -> FloatArray:
        """Finite daily closes of the last year (at least ``need`` of them)."""
        raw = np.asarray(ctx.daily_closes(root, TRADING_DAYS_PER_YEAR), dtype=np.float64)
        c: FloatArray = raw[np.isfinite(raw) & (raw > 0)]
        if c.shape[0] < max(need, 1):
            raise SkipSignal(SkipReason.PRICE_HISTORY_SHORT,
                             f"{root}: {c.shape[0]} daily closes, need {max(need, 1)}")
        return c

    def chain(self, ctx: StrategyContext, root: str, lo: int, hi: int) -> ChainSnapshot:
        got = ctx.chain(root, lo, hi)
        if isinstance(got, Skip):
            raise SkipSignal(got.reason or SkipReason.NO_CHAIN,
                             got.detail or f"{root} {lo}-{hi} DTE")
        if len(got) == 0:
            raise SkipSignal(SkipReason.EMPTY_CHAIN, f"{root} {lo}-{hi} DTE: no contracts")
        if got.stale_underlying:
            raise SkipSignal(SkipReason.STALE_UNDERLYING, f"{root} underlying price is stale")
        if got.n_usable == 0:
            raise SkipSignal(SkipReason.NO_VALID_QUOTE,
                             f"{root}: no usable quote ({got.excluded_text()})")
        return got

    def expiry(self, snap: ChainSnapshot, target: int, lo: int, hi: int,
               exclude: frozenset[date] = frozenset()) -> date:
        e = snap.expiry_nearest(target, lo, hi, exclude)
        if e is None:
            raise SkipSignal(SkipReason.NO_EXPIRY_IN_WINDOW,
                             f"{snap.root}: no usable expiry with {lo} <= DTE <= {hi} "
                             f"(have {[snap.expiry_dte(x) for x in snap.expiries]})")
        return e

    def by_delta(self, snap: ChainSnapshot, expiry: date, right: Right, dt: DeltaTarget,
                 sell: bool, leg: str) -> int:
        """Row nearest ``dt.target`` |delta| inside ``[dt.lo, dt.hi]``; a sold leg needs a bid."""
        row = snap.by_delta(expiry, right, dt.target, dt.lo, dt.hi, sellable=sell)
        if row is not None:
            return row
        where = (f"{leg} leg: {right.name.lower()} |delta| {dt.target:g} in "
                 f"[{dt.lo:g}, {dt.hi:g}] {snap.root} {expiry.isoformat()}")
        if sell and snap.by_delta(expiry, right, dt.target, dt.lo, dt.hi) is not None:
            raise SkipSignal(SkipReason.NO_VALID_QUOTE, f"{where}: no bid to sell into")
        raise SkipSignal(SkipReason.NO_STRIKE_IN_DELTA_RANGE,
                         f"{where} (excluded: {snap.excluded_for_text(expiry, right)})")

    def by_strike(self, snap: ChainSnapshot, expiry: date, right: Right, strike: float,
                  sell: bool, leg: str) -> int:
        """Row at ``strike``: absent → ``no_strike_at_offset``; unusable → ``no_valid_quote``."""
        row = snap.by_strike(expiry, right, strike, sellable=sell)
        if row is not None:
            return row
        where = f"{leg} leg: {snap.root} {expiry.isoformat()} {right.value} {strike:g}"
        if snap.is_listed(expiry, right, strike):
            raise SkipSignal(SkipReason.NO_VALID_QUOTE, f"{where}: quote unusable")
        raise SkipSignal(SkipReason.NO_STRIKE_AT_OFFSET, f"{where}: strike not listed")

    def idea(self, snap: ChainSnapshot, structure: Structure, legs: tuple[IdeaLeg, ...],
             expiry: date, reason: str, max_loss_per_unit: float | None, *,
             size_factor: float = 1.0, max_units: int | None = None,
             parent_id: str | None = None, replaces: str | None = None) -> TradeIdea:
        return TradeIdea(self.key, snap.root, structure.value, legs, expiry,
                         snap.inst.multiplier, reason, max_loss_per_unit, size_factor,
                         max_units, parent_id, replaces)


def require_credit(idea: TradeIdea) -> TradeIdea:
    """``idea`` when its net mid is a credit (negative), else SkipSignal ``not_a_credit``."""
    net = idea.net_mid
    if not (math.isfinite(net) and net < 0):
        raise SkipSignal(SkipReason.NOT_A_CREDIT, f"net mid {net:+.4f} is not a credit")
    return idea


def require_debit(idea: TradeIdea) -> TradeIdea:
    """``idea`` when its net mid is a debit (positive), else SkipSignal ``not_a_debit``."""
    net = idea.net_mid
    if not (math.isfinite(net) and net > 0):
        raise SkipSignal(SkipReason.NOT_A_DEBIT, f"net mid {net:+.4f} is not a debit")
    return idea


def require_descending(strikes: tuple[float, ...], what: str) -> None:
    """Strikes must strictly decrease (leg order of put structures)."""
    if any(a <= b for a, b in itertools.pairwise(strikes)):
        raise SkipSignal(SkipReason.INVALID_STRUCTURE, f"{what}: strikes {strikes} out of order")


def ema(values: FloatArray, span: int) -> float:
    """Exponential moving average (alpha = 2/(span+1)) of ``values`` (oldest first), seeded with
    the simple average of the first ``span`` values; NaN when fewer than ``span`` values."""
    if values.shape[0] < span or span < 1:
        return math.nan
    alpha = 2.0 / (span + 1.0)
    e = float(np.mean(values[:span]))
    for v in values[span:].tolist():
        e += alpha * (v - e)
    return e
