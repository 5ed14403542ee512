"""What each supported brokerage accepts for multi-leg orders, checked before an order is sent.

Facts (LEAN_NOTES.md; ``Common/Brokerages/TastytradeBrokerageModel.cs`` in QuantConnect/Lean lists
``ComboLimit`` as the only combo order type Tastytrade supports):

* Tastytrade accepts combo **limit** orders only: no combo market, no combo leg-limit orders.
  LEAN enforces the same rule in backtests once the Tastytrade brokerage model is set.
* Interactive Brokers accepts combo market and combo limit orders, and combo leg-limit orders of
  at most three legs.

Refusing up front turns a brokerage rejection that would arrive later as an invalid order event
into a stable reason code at the moment the order is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from config.enums import Brokerage
from risk.types import Rejection


class ComboOrderType(Enum):
    """LEAN's multi-leg order types (``combo_limit_order``, ``combo_market_order``,
    ``combo_leg_limit_order``)."""

    LIMIT = "combo_limit"
    MARKET = "combo_market"
    LEG_LIMIT = "combo_leg_limit"


@dataclass(frozen=True, slots=True)
class BrokerageRules:
    """Multi-leg capabilities of one brokerage.

    Attributes
    ----------
    brokerage : Brokerage
        The brokerage these rules describe.
    combo_types : frozenset[ComboOrderType]
        Combo order types the brokerage accepts.
    max_leg_limit_legs : int
        Most legs a combo leg-limit order may have (0 when leg-limit orders are not accepted).
    """

    brokerage: Brokerage
    combo_types: frozenset[ComboOrderType]
    max_leg_limit_legs: int

    def __post_init__(self) -> None:
        if self.max_leg_limit_legs < 0:
            raise ValueError(f"max_leg_limit_legs must be >= 0, got {self.max_leg_limit_legs}")
        leg_limit = ComboOrderType.LEG_LIMIT in self.combo_types
        if leg_limit != (self.max_leg_limit_legs > 0):
            raise ValueError(f"{self.brokerage.value}: leg-limit support and "
                             f"max_leg_limit_legs={self.max_leg_limit_legs} disagree")


RULES: Final[dict[Brokerage, BrokerageRules]] = {
    r.brokerage: r
    for r in (
        BrokerageRules(Brokerage.TASTYTRADE, frozenset({ComboOrderType.LIMIT}), 0),
        BrokerageRules(Brokerage.INTERACTIVE_BROKERS,
                       frozenset({ComboOrderType.LIMIT, ComboOrderType.MARKET,
                                  ComboOrderType.LEG_LIMIT}), 3),
    )
}


def rules_for(brokerage: Brokerage) -> BrokerageRules:
    """The rules of ``brokerage`` (every :class:`Brokerage` member has an entry)."""
    return RULES[brokerage]


def check_combo(brokerage: Brokerage, order_type: ComboOrderType, legs: int) -> Rejection | None:
    """None when ``brokerage`` accepts a combo of ``order_type`` with ``legs`` legs, otherwise
    a :class:`~risk.types.Rejection` (check ``"brokerage"``) with a stable reason code.

    Reason codes: ``no_legs``, ``<order type>_not_accepted`` (e.g. ``combo_market_not_accepted``),
    ``combo_leg_limit_too_many_legs``.
    """
    rules = rules_for(brokerage)
    if legs < 1:
        return Rejection("brokerage", "no_legs", limit=1, observed=legs,
                         detail=f"{brokerage.value}: a combo needs at least one leg")
    if order_type not in rules.combo_types:
        accepted = ",".join(sorted(t.value for t in rules.combo_types))
        return Rejection("brokerage", f"{order_type.value}_not_accepted", limit=accepted,
                         observed=order_type.value,
                         detail=f"{brokerage.value} accepts {accepted}")
    if order_type is ComboOrderType.LEG_LIMIT and legs > rules.max_leg_limit_legs:
        return Rejection("brokerage", "combo_leg_limit_too_many_legs",
                         limit=rules.max_leg_limit_legs, observed=legs,
                         detail=f"{brokerage.value} accepts leg-limit combos of at most "
                                f"{rules.max_leg_limit_legs} legs")
    return None


def market_exit_allowed(brokerage: Brokerage) -> bool:
    """Whether an urgent exit may fall back to a combo market order on ``brokerage``."""
    return ComboOrderType.MARKET in rules_for(brokerage).combo_types
