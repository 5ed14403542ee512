"""Which roots each strategy trades, by phase and engine (SPEC §2, §8), and the correlation
group membership table (SPEC §4). Names only; the numbers live in :mod:`config.defaults`."""

from __future__ import annotations

from typing import Final

from config.enums import Engine, Phase, StrategyKey

_P1, _P2, _P3, _P4 = Phase.P1, Phase.P2, Phase.P3, Phase.P4
_K = StrategyKey

# Offline roots per strategy and phase. LEAN substitutions are in LEAN_ROOTS below; a root whose
# options the engine lacks (see config.instruments) makes the strategy skip with a reason.
ROOTS: Final[dict[StrategyKey, dict[Phase, tuple[str, ...]]]] = {
    _K.FRIDAY_0DTE: {p: ("ES",) for p in Phase},
    _K.LT112: {_P1: (), _P2: ("MES",), _P3: ("ES",), _P4: ("ES",)},
    _K.FUTURES_STRANGLE: {_P1: ("MCL", "MGC"), _P2: ("MCL", "MGC"),
                          _P3: ("CL", "GC", "ZB", "6E"), _P4: ("CL", "GC", "ZB", "6E")},
    _K.IPMCC: {_P1: ("QQQ",), _P2: ("QQQ", "SPY"), _P3: ("QQQ", "SPY", "IWM"),
               _P4: ("QQQ", "SPY", "IWM")},
    _K.LEAP_PUT_LADDER: {p: ("SPY",) for p in Phase},
    _K.BEAR_TRAP: {p: ("SPY",) for p in Phase},
    _K.BUTTERFLY_0DTE: {p: ("SPXW",) for p in Phase},
}

# The 0DTE root below friday_0dte.micro_below_nlv (offline engine).
MICRO_0DTE_ROOT: Final = "MES"

# Engine-specific replacements: LEAN has no weekly or daily futures options, so the Friday 0DTE
# trades SPXW 0DTE options there under the same risk budget.
LEAN_ROOTS: Final[dict[StrategyKey, dict[str, str]]] = {
    _K.FRIDAY_0DTE: {"ES": "SPXW", "MES": "SPXW"},
}


def roots_for(key: StrategyKey, phase: Phase, engine: Engine) -> tuple[str, ...]:
    """Roots ``key`` trades in ``phase`` on ``engine`` (before the micro-0DTE NLV rule)."""
    roots = ROOTS[key][phase]
    if engine is Engine.LEAN:
        swap = LEAN_ROOTS.get(key, {})
        roots = tuple(dict.fromkeys(swap.get(r, r) for r in roots))
    return roots


# SPEC §4 membership; limits are in defaults (correlation.group.<name>.limit).
GROUP_MEMBERS: Final[dict[str, tuple[str, ...]]] = {
    "A1": ("ES", "MES", "NQ", "MNQ", "RTY", "M2K", "YM", "MYM", "SPX"),
    "A2": ("SPY", "QQQ", "IWM", "DIA"),
    "B1": ("GC", "MGC", "GLD", "TLT", "ZB", "ZN"),
    "B2": ("SI", "SLV", "HG", "PL"),
    "C1": ("CL", "MCL", "RB", "HO", "XLE", "XOP"),
    "C2": ("NG",),
    "D1": ("ZC", "ZS", "ZW"),
    "D2": ("LE", "HE", "GF"),
    "E": ("6E", "6B", "6A", "6C", "M6E"),
}
COMBINED_GROUPS: Final = ("A1", "A2")

# Strategies that stop opening at ``vix.no_0dte_at_or_above`` (SPEC §3).
ZERO_DTE: Final = (StrategyKey.FRIDAY_0DTE, StrategyKey.BUTTERFLY_0DTE)
