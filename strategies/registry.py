"""The strategy set built from the configuration."""

from __future__ import annotations

from collections.abc import Callable

from config.enums import StrategyKey
from config.model import Config
from strategies.base import StrategyBase
from strategies.bear_trap import BearTrap
from strategies.butterfly_0dte import Butterfly0Dte
from strategies.friday_0dte import Friday0Dte
from strategies.futures_strangle import FuturesStrangle
from strategies.ipmcc import Ipmcc
from strategies.leap_put_ladder import LeapPutLadder
from strategies.lt112 import Lt112

STRATEGY_CLASSES: dict[StrategyKey, Callable[[Config], StrategyBase]] = {
    StrategyKey.FRIDAY_0DTE: Friday0Dte,
    StrategyKey.LT112: Lt112,
    StrategyKey.FUTURES_STRANGLE: FuturesStrangle,
    StrategyKey.IPMCC: Ipmcc,
    StrategyKey.LEAP_PUT_LADDER: LeapPutLadder,
    StrategyKey.BEAR_TRAP: BearTrap,
    StrategyKey.BUTTERFLY_0DTE: Butterfly0Dte,
}


def build_strategies(cfg: Config) -> tuple[StrategyBase, ...]:
    """One instance of each strategy, in :class:`StrategyKey` order. Instances hold per-run state
    (e.g. the butterfly's baseline price), so build one set per run."""
    return tuple(STRATEGY_CLASSES[k](cfg) for k in StrategyKey)
