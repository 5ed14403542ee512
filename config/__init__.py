"""Typed configuration: every default of SPEC.md once, validated at load.

Use :func:`load_config` to build a :class:`Config`; tables live in :mod:`config.defaults`
(numbers), :mod:`config.instruments` (catalogue) and :mod:`config.universe` (roots, groups).
"""

from config.enums import (
    BreakerLevel,
    Brokerage,
    Engine,
    ExpiryKind,
    InstrumentKind,
    Phase,
    PricingModel,
    Regime,
    Right,
    ScheduleKind,
    StrategyKey,
)
from config.instruments import CATALOGUE, Contract, Instrument, instrument
from config.loader import load_config
from config.model import Config, ConfigError

__all__ = [
    "CATALOGUE",
    "BreakerLevel",
    "Brokerage",
    "Config",
    "ConfigError",
    "Contract",
    "Engine",
    "ExpiryKind",
    "Instrument",
    "InstrumentKind",
    "Phase",
    "PricingModel",
    "Regime",
    "Right",
    "ScheduleKind",
    "StrategyKey",
    "instrument",
    "load_config",
]
