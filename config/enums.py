"""Enumerations shared by every package: rights, regimes, phases, strategy keys, breaker levels."""

from __future__ import annotations

from enum import Enum, IntEnum, StrEnum


class Right(Enum):
    """Option right."""

    CALL = "C"
    PUT = "P"


class Regime(IntEnum):
    """VIX regime, ordered by volatility. ``UNKNOWN`` means missing or stale VIX."""

    UNKNOWN = -1
    CALM = 0
    NORMAL = 1
    ELEVATED = 2
    HIGH = 3
    CRISIS = 4


class Phase(IntEnum):
    """Account phase by net liquidation value."""

    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4


class StrategyKey(StrEnum):
    """Strategy keys as used in config, logs, order tags and reports."""

    FRIDAY_0DTE = "friday_0dte"
    LT112 = "lt112"
    FUTURES_STRANGLE = "futures_strangle"
    IPMCC = "ipmcc"
    LEAP_PUT_LADDER = "leap_put_ladder"
    BEAR_TRAP = "bear_trap"
    BUTTERFLY_0DTE = "butterfly_0dte"


class BreakerLevel(IntEnum):
    """Drawdown circuit-breaker level; a higher value is more restrictive."""

    NORMAL = 0
    REDUCED = 1
    HALTED = 2
    FLATTEN = 3


class Engine(Enum):
    """Which engine runs the trading core; selects instruments the engine supports."""

    OFFLINE = "offline"
    LEAN = "lean"


class ExpiryKind(Enum):
    """Option expiry cycles an instrument lists."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class InstrumentKind(Enum):
    """What the root itself is."""

    FUTURE = "future"
    INDEX = "index"
    EQUITY = "equity"


class PricingModel(Enum):
    """Option pricing model used for greeks and implied vol."""

    BLACK76 = "black76"
    BSM = "bsm"


class ScheduleKind(Enum):
    """How a schedule picks its days."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY_NTH = "monthly_nth"


class Brokerage(Enum):
    """Brokerages the LEAN integration supports."""

    TASTYTRADE = "tastytrade"
    INTERACTIVE_BROKERS = "interactive_brokers"
