"""Builders of config, contracts, ideas, positions, legs and a wired gate for the risk tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from config import load_config
from config.enums import Phase, PricingModel, Right, StrategyKey
from config.instruments import CATALOGUE, Contract, instrument
from config.model import Config
from execution.types import Account, Position, PositionLeg
from risk.breakers import CircuitBreakers
from risk.correlation import CorrelationLimiter
from risk.gate import GateState, PreTradeGate
from risk.legs import StressLeg
from risk.phase import PhaseManager
from risk.sizing import PositionSizer
from risk.stress import StressTest
from risk.vix_regime import VixRegimeManager
from strategies.types import IdeaLeg, TradeIdea

TODAY = date(2026, 3, 6)
NOW = datetime(2026, 3, 6, 10, 30)
EXPIRY = date(2026, 6, 19)


@cache
def cfg() -> Config:
    return load_config()


def config_with(**overrides: str) -> Config:
    """Configuration with flat parameter overrides (names use ``__`` for ``.``)."""
    return load_config({k.replace("__", "."): v for k, v in overrides.items()})


def contract(root: str = "SPY", strike: float = 500.0, right: Right | None = Right.PUT,
             expiry: date = EXPIRY) -> Contract:
    return Contract(root, expiry, strike if right is not None else 0.0, right)


def idea_leg(c: Contract, ratio: int, bid: float = 1.0, ask: float = 1.2, delta: float = -0.1,
             iv: float = 0.2, underlying: float = 520.0) -> IdeaLeg:
    return IdeaLeg(c, ratio, bid, ask, delta, iv, underlying)


def idea(key: StrategyKey = StrategyKey.LEAP_PUT_LADDER, root: str = "SPY",
         legs: tuple[IdeaLeg, ...] | None = None, expiry: date = EXPIRY,
         max_loss: float | None = None, multiplier: float | None = None,
         size_factor: float = 1.0, max_units: int | None = None,
         parent_id: str | None = None, replaces: str | None = None) -> TradeIdea:
    if legs is None:
        legs = (idea_leg(contract(root, 450.0, Right.PUT, expiry), -1),)
    mult = instrument(root).multiplier if multiplier is None else multiplier
    return TradeIdea(key, root, "test", legs, expiry, mult, "builder", max_loss,
                     size_factor, max_units, parent_id, replaces)


def position(pid: str, root: str = "SPY", expiry: date = EXPIRY,
             key: StrategyKey = StrategyKey.LT112, parent_id: str | None = None,
             legs: int = 1) -> Position:
    c = [PositionLeg(contract(root, 400.0 + 5 * i, Right.PUT, expiry), -1) for i in range(legs)]
    inst = CATALOGUE.get(root)
    return Position(pid, key, root, "test", tuple(c), 1, NOW - timedelta(days=1), -1.0,
                    1.0 if inst is None else inst.multiplier, expiry, parent_id)


def stress_leg(root: str = "SPY", strike: float = 500.0, right: Right | None = Right.PUT,
               quantity: int = -1, underlying: float = 520.0, iv: float = 0.2,
               t_years: float = 0.25, position_id: str | None = None) -> StressLeg:
    return StressLeg.of(contract(root, strike, right), quantity, underlying, iv, t_years,
                        cfg().risk_free_rate, 0.0, position_id)


def raw_leg(quantity: int = -1, multiplier: float = 100.0,
            model: PricingModel = PricingModel.BSM, iv: float = 0.2,
            underlying: float = 520.0) -> StressLeg:
    return StressLeg(contract("SPY", 500.0, Right.PUT), quantity, underlying, iv, 0.25,
                     multiplier, model, 0.04)


def account(nlv: float = 100_000.0, bp_used: float = 0.0) -> Account:
    return Account(nlv, bp_used, nlv - bp_used, nlv)


@dataclass
class World:
    """A gate wired from real components, put into an 'everything allows' state by default."""

    config: Config
    vix: VixRegimeManager
    phases: PhaseManager
    breakers: CircuitBreakers
    correlation: CorrelationLimiter
    stress: StressTest
    sizer: PositionSizer
    gate: PreTradeGate


def world(vix_level: float = 16.0, equity: float = 100_000.0, config: Config | None = None
          ) -> World:
    c = cfg() if config is None else config
    vix = VixRegimeManager(c)
    vix.start_day(TODAY)
    vix.update(vix_level, NOW - timedelta(minutes=1))
    phases = PhaseManager(c)
    phases.evaluate(equity, TODAY)
    breakers = CircuitBreakers(c)
    breakers.start_day(TODAY, equity)
    breakers.update(equity, NOW - timedelta(minutes=1))
    correlation = CorrelationLimiter(c)
    stress = StressTest(c)
    sizer = PositionSizer(c)
    gate = PreTradeGate(c, vix, phases, breakers, correlation, stress, sizer)
    return World(c, vix, phases, breakers, correlation, stress, sizer, gate)


def state(nlv: float = 100_000.0, phase: Phase = Phase.P4, bp_used: float = 0.0,
          positions: tuple[Position, ...] = (), book: tuple[StressLeg, ...] = (),
          candidate: tuple[StressLeg, ...] | None = None,
          unmanaged: frozenset[str] = frozenset()) -> GateState:
    cand = (stress_leg("SPY", 450.0, Right.PUT, -1, 520.0, 0.2, 1.0),) if candidate is None \
        else candidate
    return GateState(NOW, nlv, account(nlv, bp_used), phase, positions, book, cand,
                     unmanaged_roots=unmanaged)
