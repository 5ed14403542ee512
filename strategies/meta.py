"""Position metadata a strategy needs later for its own exit rules.

The system attaches :func:`entry_meta` of the approved idea to ``Position.meta`` when the entry
fills, and may overwrite ``leg_price:<symbol>`` with the actual per-leg fill price when the broker
reports one. Keys:

``leg_price:<contract symbol>``
    Entry price of one contract of that leg in option points (positive), e.g. the LT112 naked
    put's price (the naked pair's entry credit is 2 × this).
``underlying``
    Underlying price when the idea was made (IPMCC short call: extrinsic value at entry).
"""

from __future__ import annotations

import math

from config.instruments import Contract
from execution.types import Position
from strategies.types import TradeIdea

LEG_PRICE_PREFIX = "leg_price:"
UNDERLYING_KEY = "underlying"


def leg_price_key(contract: Contract) -> str:
    """Meta key of ``contract``'s entry price."""
    return f"{LEG_PRICE_PREFIX}{contract.symbol}"


def entry_meta(idea: TradeIdea) -> tuple[tuple[str, str], ...]:
    """Meta pairs to store on the position opened from ``idea`` (mids at idea time)."""
    items = [(leg_price_key(leg.contract), repr(leg.mid)) for leg in idea.legs]
    if idea.legs:
        items.append((UNDERLYING_KEY, repr(idea.legs[-1].underlying_price)))
    return tuple(items)


def meta_float(position: Position, name: str) -> float | None:
    """Finite float stored under ``name``; None when missing or unparsable."""
    raw = position.meta_value(name)
    if raw is None:
        return None
    try:
        v = float(raw)
    except ValueError:
        return None
    return v if math.isfinite(v) else None
