"""Net prices of multi-leg structures and the orientation of combo limit orders.

Prices are per unit of the structure *as written* (``Σ ratio × leg price``, option points):
positive = debit to buy the structure, negative = credit. A trade has a direction ``d``
(``+1`` buys the structure as written, ``-1`` sells it); its **cost** per unit is ``d × price``
(positive = cash paid, negative = cash received). A more aggressive limit is a higher cost, so
walks toward the natural price raise the cost.

A :class:`~execution.types.ComboOrder` needs a positive limit: :func:`orient` flips the leg signs
when needed so the limit is positive and the direction sits in the sign of the order quantity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

from config.instruments import Contract, instrument
from execution.types import ComboLeg, Quote

QuoteSource = Callable[[Contract], Quote | None]


@dataclass(frozen=True, slots=True)
class LegQuote:
    """One leg with its usable top of book (points)."""

    contract: Contract
    ratio: int
    bid: float
    ask: float

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)


@dataclass(frozen=True, slots=True)
class ComboQuote:
    """The market of one unit of a structure as written.

    Attributes
    ----------
    legs
        Leg quotes in the order of the structure's legs.
    tick
        Price increment used for limits (the coarsest tick of the legs' roots).
    """

    legs: tuple[LegQuote, ...]
    tick: float

    @property
    def mid(self) -> float:
        """``Σ ratio × mid`` per unit, points (positive = debit)."""
        return math.fsum(leg.ratio * leg.mid for leg in self.legs)

    @property
    def leg_mids(self) -> tuple[float, ...]:
        return tuple(leg.mid for leg in self.legs)

    def natural(self, direction: int) -> float:
        """Net price per unit at the natural (crossing) prices.

        Buying (``direction > 0``): pay the ask on ``+`` legs, receive the bid on ``−`` legs.
        Selling (``direction < 0``): receive the bid on ``+`` legs, pay the ask on ``−`` legs.
        """
        if direction > 0:
            return math.fsum(leg.ratio * (leg.ask if leg.ratio > 0 else leg.bid)
                             for leg in self.legs)
        return math.fsum(leg.ratio * (leg.bid if leg.ratio > 0 else leg.ask) for leg in self.legs)

    def mid_cost(self, direction: int) -> float:
        """Cost per unit at the mid (positive = paid)."""
        return direction * self.mid

    def natural_cost(self, direction: int) -> float:
        """Cost per unit at the natural price, on the tick grid (positive = paid)."""
        return round_cost(direction * self.natural(direction), self.tick)


@dataclass(frozen=True, slots=True)
class PriceFailure:
    """Why a structure could not be priced. ``reason`` is a stable code."""

    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Orientation:
    """How a trade is expressed as a combo order.

    ``legs`` carry the oriented ratios, ``quantity`` the signed oriented units and ``buy`` whether
    the oriented order buys (``quantity > 0``). For every leg ``oriented ratio × quantity`` equals
    ``ratio × units`` of the trade as written.
    """

    legs: tuple[ComboLeg, ...]
    quantity: int
    buy: bool

    @property
    def sign(self) -> int:
        """``+1`` when the oriented legs equal the legs as written times the trade direction."""
        return 1 if self.buy else -1


def ratio_gcd(ratios: Sequence[int]) -> int:
    """Greatest common divisor of the absolute ratios (0 for an empty or all-zero list)."""
    return reduce(math.gcd, (abs(r) for r in ratios), 0)


def normalise(legs: Sequence[ComboLeg], units: int) -> tuple[tuple[ComboLeg, ...], int]:
    """Divide the ratios by their gcd and multiply the units by it (same contracts traded)."""
    g = ratio_gcd([leg.ratio for leg in legs])
    if g <= 1:
        return tuple(legs), units
    return tuple(ComboLeg(leg.contract, leg.ratio // g) for leg in legs), units * g


def combo_tick(legs: Sequence[ComboLeg]) -> float:
    """The coarsest option tick among the legs' roots; raises ``KeyError`` for an unknown root."""
    return max(instrument(leg.contract.root).tick for leg in legs)


def round_cost(cost: float, tick: float) -> float:
    """Nearest tick; an exact half tick rounds toward the lower cost (in the trader's favour)."""
    n = math.ceil(cost / tick - 0.5 - 1e-9)
    return round(n * tick, 10)


def quote_problem(quote: Quote | None, now: datetime, max_age_minutes: int) -> str | None:
    """A stable reason code when ``quote`` cannot be used to price an order, else None.

    Usable: finite ``0 <= bid <= ask``, ``ask > 0``, not older than ``max_age_minutes``.
    """
    if quote is None:
        return "no_quote"
    bid, ask = quote.bid, quote.ask
    if not (math.isfinite(bid) and math.isfinite(ask)) or bid < 0 or ask <= 0 or ask < bid:
        return "bad_quote"
    if now - quote.time > timedelta(minutes=max_age_minutes):
        return "stale_quote"
    return None


def quote_combo(legs: Sequence[ComboLeg], quotes: QuoteSource, now: datetime,
                max_age_minutes: int) -> ComboQuote | PriceFailure:
    """Read every leg's quote; fail closed on the first unusable leg or an unknown root."""
    try:
        tick = combo_tick(legs)
    except KeyError as exc:
        return PriceFailure("unknown_root", str(exc))
    out: list[LegQuote] = []
    for leg in legs:
        quote = quotes(leg.contract)
        problem = quote_problem(quote, now, max_age_minutes)
        if problem is not None or quote is None:
            return PriceFailure(problem or "no_quote", leg.contract.symbol)
        out.append(LegQuote(leg.contract, leg.ratio, quote.bid, quote.ask))
    return ComboQuote(tuple(out), tick)


def orient(legs: Sequence[ComboLeg], units: int, final_cost: float,
           start_cost: float) -> Orientation:
    """Express a trade of ``units`` (signed) of ``legs`` as a combo order with a positive limit.

    The orientation is chosen so the walk's final (most aggressive) cost is expressible: an order
    that pays at its final price buys, one that receives sells. A final cost of exactly zero
    takes the sign of ``start_cost`` (zero or positive: buy).
    """
    if final_cost > 0:
        buy = True
    elif final_cost < 0:
        buy = False
    else:
        buy = start_cost >= 0
    direction = 1 if units > 0 else -1
    flip = direction if buy else -direction
    oriented = tuple(ComboLeg(leg.contract, leg.ratio * flip) for leg in legs)
    quantity = abs(units) if buy else -abs(units)
    return Orientation(oriented, quantity, buy)


def cost_to_limit(cost: float, buy: bool, tick: float) -> float:
    """Positive combo limit for ``cost`` in an order oriented with ``buy``; at least one tick."""
    limit = cost if buy else -cost
    return round(max(limit, tick), 10)


def limit_to_cost(limit: float, buy: bool) -> float:
    """Inverse of :func:`cost_to_limit` (without the one-tick floor)."""
    return limit if buy else -limit
