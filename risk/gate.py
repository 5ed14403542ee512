"""The pre-trade gate: every entry passes phase → regime → breakers → correlation → stress →
sizing, and the first stage that says no decides (SPEC §8 "Common", DESIGN "Data flow").

Every answer is an :class:`Approval` (units to open, the binding sizing constraint) or a
:class:`Rejection` whose ``check`` is the stage (``inputs``, ``phase``, ``regime``, ``breakers``,
``correlation``, ``stress``, ``sizing``) and whose ``reason`` is a stable code; the system counts
them by ``(check, reason)`` (see :class:`risk.counter.RejectionCounter`).

Sizing inputs the gate derives:

* max loss per unit: ``idea.max_loss_per_unit`` for defined risk, otherwise the worst stress
  loss of one unit of the candidate (dollars);
* BP per unit: :func:`risk.margin.bp_per_unit`;
* BP room: ``vix.max_bp(phase, key) × NLV − account.bp_used − bp_reserved`` (entries in flight);
* size multipliers: the regime's, the VIX-spike multiplier of the 0DTE, the drawdown level's,
  and ``idea.size_factor`` (strategy-specific scaling; strategies must not apply the VIX-spike
  multiplier themselves);
* stress room: the largest number of units with book + units × candidate within the stress limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

import numpy as np

from config.enums import Phase, StrategyKey
from config.instruments import CATALOGUE
from config.model import Config
from execution.types import Account, Position
from risk.breakers import CircuitBreakers
from risk.correlation import CHECK as CORRELATION
from risk.correlation import CorrelationLimiter
from risk.legs import StressLeg
from risk.margin import bp_per_unit
from risk.phase import CHECK as PHASE
from risk.phase import PhaseManager
from risk.sizing import PositionSizer, Realised
from risk.stress import StressTest
from risk.types import Approval, Rejection
from risk.vix_regime import VixRegimeManager
from strategies.types import TradeIdea

INPUTS: Final = "inputs"
_MULTIPLIER_RTOL: Final = 1e-9


@dataclass(frozen=True, slots=True)
class GateState:
    """What the gate needs to know about the account and the book at decision time.

    Attributes
    ----------
    now : datetime
        Decision time (naive exchange time).
    nlv : float
        Net liquidation value, USD.
    account : Account
        Broker figures; ``bp_used`` (USD) is read.
    phase : Phase
        Today's phase from :class:`risk.phase.PhaseManager`.
    positions : tuple[Position, ...]
        Every open position.
    book_legs : tuple[StressLeg, ...]
        Every open leg with its signed quantity in contracts (``position_id`` set).
    candidate_legs : tuple[StressLeg, ...]
        The idea's legs for ONE unit (quantity = leg ratio).
    realised : Mapping[StrategyKey, Realised]
        Optional realised ``(trades, win rate, payoff)`` per strategy for Kelly blending.
    unmanaged_roots : frozenset[str]
        Roots the broker holds that the ledger does not manage (restart reconciliation); they
        block entries in their correlation group, and every entry when their group is unknown.
    bp_reserved : float
        Buying power (USD) of entries still working at the broker, which ``account.bp_used``
        does not include yet; it is taken from the room under the BP cap. (Those entries are
        also in ``positions`` and ``book_legs`` at full size, so every limit counts them.)
    """

    now: datetime
    nlv: float
    account: Account
    phase: Phase
    positions: tuple[Position, ...] = ()
    book_legs: tuple[StressLeg, ...] = ()
    candidate_legs: tuple[StressLeg, ...] = ()
    realised: Mapping[StrategyKey, Realised] = field(default_factory=dict)
    unmanaged_roots: frozenset[str] = frozenset()
    bp_reserved: float = 0.0


class PreTradeGate:
    """Runs the checks in order and sizes the entry. Holds no state of its own."""

    def __init__(self, cfg: Config, vix: VixRegimeManager, phases: PhaseManager,
                 breakers: CircuitBreakers, correlation: CorrelationLimiter, stress: StressTest,
                 sizer: PositionSizer) -> None:
        self._cfg = cfg
        self._vix = vix
        self._phases = phases
        self._breakers = breakers
        self._correlation = correlation
        self._stress = stress
        self._sizer = sizer
        self._strategy_share = cfg.stress.max_strategy_share

    def evaluate(self, idea: TradeIdea, state: GateState) -> Approval | Rejection:
        """Approval with the number of units, or the first Rejection (never raises for bad
        market or account inputs)."""
        key, now = idea.key, state.now
        stages: tuple[Callable[[], Rejection | None], ...] = (
            lambda: self._inputs(idea, state),
            lambda: self._phase(idea, state),
            lambda: self._vix.allows(key, now),
            lambda: self._breakers.allows_entries(now),
            lambda: self._correlation_stage(idea, state),
        )
        for stage in stages:
            verdict = stage()
            if verdict is not None:
                return verdict
        return self._stress_and_size(idea, state)

    def _inputs(self, idea: TradeIdea, state: GateState) -> Rejection | None:
        if not (math.isfinite(state.nlv) and state.nlv > 0.0):
            return Rejection(INPUTS, "invalid_nlv", observed=state.nlv)
        used = state.account.bp_used
        if not (math.isfinite(used) and used >= 0.0):
            return Rejection(INPUTS, "invalid_bp_used", observed=used)
        if not (math.isfinite(state.bp_reserved) and state.bp_reserved >= 0.0):
            return Rejection(INPUTS, "invalid_bp_reserved", observed=state.bp_reserved)
        inst = CATALOGUE.get(idea.root)
        if inst is None:
            return Rejection(INPUTS, "unknown_instrument", observed=idea.root)
        if not math.isclose(idea.multiplier, inst.multiplier, rel_tol=_MULTIPLIER_RTOL):
            return Rejection(INPUTS, "multiplier_mismatch", limit=inst.multiplier,
                             observed=idea.multiplier)
        if not idea.legs or not state.candidate_legs:
            return Rejection(INPUTS, "no_candidate_legs",
                             detail="the idea must come with its legs for the stress check")
        return None

    def _phase(self, idea: TradeIdea, state: GateState) -> Rejection | None:
        verdict = self._phases.allows(idea.key, state.phase)
        if verdict is not None:
            return verdict
        common = self._cfg.strategies.common(idea.key)
        if common.cap_unit != "positions" or idea.parent_id is not None:
            return None
        held = sum(1 for p in state.positions
                   if p.key is idea.key and p.parent_id is None and p.position_id != idea.replaces)
        cap = common.cap(state.phase)
        if held >= cap:
            return Rejection(PHASE, "position_cap", limit=cap, observed=held)
        return None

    def _correlation_stage(self, idea: TradeIdea, state: GateState) -> Rejection | None:
        group = self._correlation.group_of(idea.root)
        for root in sorted(state.unmanaged_roots):
            g = self._correlation.group_of(root)
            if g is None:
                return Rejection(CORRELATION, "unmanaged_unknown_root", observed=root)
            if group is not None and g.name == group.name:
                return Rejection(CORRELATION, "unmanaged_position", observed=root,
                                 detail=f"group {g.name}")
        return self._correlation.check(idea.root, idea.expiry, state.positions, state.phase,
                                       self._vix.value(state.now), parent_id=idea.parent_id,
                                       replaces=idea.replaces, key=idea.key)

    def _stress_and_size(self, idea: TradeIdea, state: GateState) -> Approval | Rejection:
        book = tuple(leg for leg in state.book_legs
                     if idea.replaces is None or leg.position_id != idea.replaces)
        book_losses = self._stress.scenario_losses(book)
        if isinstance(book_losses, Rejection):
            return book_losses
        unit_losses = self._stress.scenario_losses(state.candidate_legs)
        if isinstance(unit_losses, Rejection):
            return unit_losses
        verdict = self._stress.verdict(book_losses + unit_losses, state.nlv)
        if verdict is not None:
            return verdict
        share = self._strategy_share
        own_ids = {p.position_id for p in state.positions if p.key is idea.key}
        own = tuple(leg for leg in book if leg.position_id in own_ids)
        own_losses = self._stress.scenario_losses(own)
        if isinstance(own_losses, Rejection):
            return own_losses
        verdict = self._stress.verdict(own_losses + unit_losses, state.nlv, share,
                                       "strategy_share_over_limit")
        if verdict is not None:
            return verdict
        unit_worst = float(np.max(unit_losses))
        max_loss = idea.max_loss_per_unit if idea.max_loss_per_unit is not None else unit_worst
        now, key = state.now, idea.key
        room = (self._vix.max_bp(state.phase, key, now) * state.nlv - state.account.bp_used
                - state.bp_reserved)
        bp_unit = bp_per_unit(idea, unit_worst)
        sized = self._sizer.size(
            key, state.nlv, max_loss, bp_unit, room, state.phase,
            self._vix.size_multiplier(now) * self._vix.spike_multiplier(key, now),
            self._breakers.size_multiplier, idea.size_factor, idea.max_units,
            state.realised.get(key),
            min(self._stress.max_units(book_losses, unit_losses, state.nlv),
                self._stress.max_units(own_losses, unit_losses, state.nlv, share)),
        )
        if isinstance(sized, Approval):
            return replace(sized, bp_per_unit=bp_unit)
        return sized
