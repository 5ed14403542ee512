"""Buying power one unit of a trade idea uses (USD), an approximation of broker margin.

* Defined risk (``idea.max_loss_per_unit`` set): the max loss per unit.
* Undefined risk on futures options: the stress loss per unit (a SPAN-like scan: SPAN also takes
  the worst loss over a grid of price and volatility moves).
* Undefined risk on equity and index options: a Reg-T style estimate. Short legs are first
  covered by long legs of the same right and expiry-or-later, each short matched to the long that
  needs the least margin; a covered short needs its spread width (0 when the long is at least as
  far in the money), a naked short option needs, per contract,

  - put:  ``max(20% × S − OTM amount, 10% × K) + premium``
  - call: ``max(20% × S − OTM amount, 10% × S) + premium``

  with ``S`` the underlying, ``K`` the strike, premium the leg's mid, all × multiplier. A net
  debit is added on top. Credits received are not netted against the requirement (brokers that
  do so report a smaller figure; the estimate errs towards using more buying power).

When the estimate cannot be made (missing prices, unknown instrument, no stress loss for a futures
structure) the result is NaN, which the sizer rejects (``invalid_bp_per_unit``); it is never 0.
"""

from __future__ import annotations

import math
from typing import Final

from config.enums import InstrumentKind, Right
from config.instruments import CATALOGUE
from strategies.types import IdeaLeg, TradeIdea

# Reg-T naked option percentages (broker rules, not strategy parameters).
REG_T_UNDERLYING_FRACTION: Final = 0.20
REG_T_MINIMUM_FRACTION: Final = 0.10


def bp_per_unit(idea: TradeIdea, stress_loss_per_unit: float | None) -> float:
    """Buying power (USD) for one unit of ``idea``; NaN when it cannot be estimated.

    Parameters
    ----------
    idea
        The structure (legs with ratios and quotes, multiplier, root).
    stress_loss_per_unit
        Worst stress-scenario loss of one unit in dollars (positive = loss); used for
        undefined-risk futures options.
    """
    if idea.max_loss_per_unit is not None:
        m = idea.max_loss_per_unit
        return m if math.isfinite(m) and m > 0.0 else math.nan
    inst = CATALOGUE.get(idea.root)
    if inst is None:
        return math.nan
    if inst.kind is InstrumentKind.FUTURE:
        s = stress_loss_per_unit
        return s if s is not None and math.isfinite(s) and s > 0.0 else math.nan
    return _reg_t(idea, inst.multiplier)


def naked_requirement(leg: IdeaLeg) -> float:
    """Reg-T requirement in points for one naked short option contract (see module docs)."""
    s, k, premium = leg.underlying_price, leg.contract.strike, leg.mid
    if leg.contract.right is Right.PUT:
        otm = max(s - k, 0.0)
        floor = REG_T_MINIMUM_FRACTION * k
    else:
        otm = max(k - s, 0.0)
        floor = REG_T_MINIMUM_FRACTION * s
    return max(REG_T_UNDERLYING_FRACTION * s - otm, floor) + premium


def _spread_requirement(short: IdeaLeg, long: IdeaLeg) -> float:
    """Points needed for a short covered by a long of the same right (0 when fully covered)."""
    ks, kl = short.contract.strike, long.contract.strike
    width = ks - kl if short.contract.right is Right.PUT else kl - ks
    return max(width, 0.0)


def _reg_t(idea: TradeIdea, multiplier: float) -> float:
    for leg in idea.legs:
        values = (leg.bid, leg.ask, leg.underlying_price)
        if leg.contract.right is None or not all(math.isfinite(v) and v >= 0 for v in values):
            return math.nan
        if leg.underlying_price <= 0.0:
            return math.nan
    # One entry per contract: a ratio of -2 is two shorts, each covered or naked on its own.
    longs = [leg for leg in idea.legs if leg.ratio > 0 for _ in range(leg.ratio)]
    shorts = [leg for leg in idea.legs if leg.ratio < 0 for _ in range(-leg.ratio)]
    points = 0.0
    for short in sorted(shorts, key=naked_requirement, reverse=True):
        covers = [
            (i, _spread_requirement(short, long)) for i, long in enumerate(longs)
            if long.contract.right is short.contract.right
            and long.contract.expiry >= short.contract.expiry
        ]
        naked = naked_requirement(short)
        if covers:
            i, need = min(covers, key=lambda c: c[1])
            if need < naked:
                longs.pop(i)
                points += need
                continue
        points += naked
    points += max(idea.net_mid, 0.0)
    return points * multiplier
