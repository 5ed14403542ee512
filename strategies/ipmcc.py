"""SPEC §8.4 ``ipmcc``: Income Poor Man's Covered Call on equity ETFs.

``ipmcc.entry`` buys a ≈80Δ call of ≈365 DTE (structure ``leap_call``) on each phase root that
has none, when its extrinsic value is at most ``max_extrinsic_fraction`` of the underlying and the
underlying is at least ``min_below_52w_high`` below its 52-week high.

``ipmcc.call`` sells, against each open LEAP, a call expiring ``call_dte`` days after the rule's
nominal day (the next Friday, also when a holiday moved the rule to Monday): at the money when
EMA(fast) >= EMA(slow), ``itm_strikes_below_ema`` strikes in the money when EMA(fast) <
EMA(slow), ``itm_strikes_extended`` strikes in the money when the price is more than
``extended_fraction`` above EMA(fast). "At the money" is the highest listed strike at or
below the underlying, so the call is never out of the money. An open short call of that LEAP is
rolled in the same combo (buy back old, sell new; ``TradeIdea.replaces`` = the old position).

The configured exit rules (stop at ``leap_stop_fraction`` of cost, roll at ``leap_roll_dte``)
apply to the LEAP only; the short call is managed here: closed when ``call_profit_fraction`` of
its entry extrinsic value is captured, or when its LEAP is gone.
"""

from __future__ import annotations

import math
from datetime import timedelta
from functools import partial

import numpy as np

from config.enums import ExpiryKind, Right
from config.model import Config, ExitRules, Schedule
from execution.types import ExitDecision, ExitReason, Position, PositionLeg
from strategies.base import (
    Outcome,
    PerPosition,
    RuleSpec,
    SkipReason,
    SkipSignal,
    StrategyBase,
    Structure,
    ema,
    require_credit,
    require_debit,
)
from strategies.meta import UNDERLYING_KEY, leg_price_key, meta_float
from strategies.quotes import year_fraction
from strategies.schedule import last_weekday
from strategies.types import FloatArray, PositionMark, StrategyContext, TradeIdea

# The weekly call expires after today: the soonest admissible DTE.
_MIN_CALL_DTE = 1


def _is(position: Position, structure: Structure) -> bool:
    return position.structure == structure.value


class Ipmcc(StrategyBase):
    """LEAP calls with weekly calls sold against them."""

    def __init__(self, cfg: Config) -> None:
        self.spec = cfg.strategies.ipmcc
        super().__init__(cfg, self.spec.common)
        self._rules = {"entry": RuleSpec(self._entry), "call": RuleSpec(self._calls)}
        self._short_call_rules = ExitRules()
        self._entry_extrinsic = PerPosition(self._call_extrinsic)

    def exit_rules(self, position: Position) -> ExitRules:
        """The configured LEAP rules for the LEAP; none for the short call (see :meth:`manage`)."""
        if _is(position, Structure.SHORT_CALL):
            return self._short_call_rules
        return self.common.exits

    # -- LEAP entry ------------------------------------------------------------------------------
    def _entry(self, ctx: StrategyContext, sched: Schedule) -> tuple[Outcome, ...]:
        return self.per_root(ctx, self._leap)

    def _leap(self, ctx: StrategyContext, root: str, pending: int) -> TradeIdea:
        spec = self.spec
        self.check_engine(root, ctx.engine, ExpiryKind.MONTHLY)
        leaps = [p for p in self.open_positions(ctx) if _is(p, Structure.LEAP_CALL)]
        if any(p.root == root for p in leaps):
            raise SkipSignal(SkipReason.CAP_REACHED, f"{root} already has a LEAP")
        price = self.price(ctx, root)
        high = float(self.closes(ctx, root, 1).max())
        if price >= (1.0 - spec.min_below_52w_high) * high:
            raise SkipSignal(SkipReason.NEAR_52W_HIGH,
                             f"{root} {price:g} within {spec.min_below_52w_high:.0%} of 52-week "
                             f"high {high:g}")
        self.check_cap(ctx, len(leaps) + pending)

        snap = self.chain(ctx, root, spec.dte.lo, spec.dte.hi)
        expiry = self.expiry(snap, spec.dte.target, spec.dte.lo, spec.dte.hi)
        row = self.by_delta(snap, expiry, Right.CALL, spec.leap, False, "LEAP call")
        leg = snap.leg(row, 1)
        spot = leg.underlying_price
        # Extrinsic net of carry: the time value above the forward intrinsic S − K·e^(−rT), so the
        # interest a deep call carries over a year does not count as premium paid for time.
        t = year_fraction(expiry, ctx.now)
        carry_free = spot - leg.contract.strike * math.exp(-self.cfg.risk_free_rate * t)
        extrinsic = leg.mid - max(carry_free, 0.0)
        if extrinsic > spec.max_extrinsic_fraction * spot:
            raise SkipSignal(SkipReason.EXTRINSIC_TOO_HIGH,
                             f"{root} extrinsic {extrinsic:.2f} > "
                             f"{spec.max_extrinsic_fraction:.0%} of {spot:g}")
        reason = (f"LEAP {root} {expiry.isoformat()} ({snap.expiry_dte(expiry)} DTE) "
                  f"{abs(leg.delta):.3f}Δ, extrinsic {extrinsic:.2f}; 52w high {high:g}")
        idea = self.idea(snap, Structure.LEAP_CALL, (leg,), expiry, reason,
                         leg.mid * snap.inst.multiplier)
        return require_debit(idea)

    # -- weekly call -----------------------------------------------------------------------------
    def _calls(self, ctx: StrategyContext, sched: Schedule) -> tuple[Outcome, ...]:
        mine = self.open_positions(ctx)
        leaps = [p for p in mine if _is(p, Structure.LEAP_CALL)]
        if not leaps:
            raise SkipSignal(SkipReason.NO_LEAP_OPEN, "no LEAP to write calls against")
        shorts = {p.parent_id: p for p in mine if _is(p, Structure.SHORT_CALL)}
        return tuple(self.run(partial(self._call, ctx, sched, leap, shorts.get(leap.position_id)))
                     for leap in leaps)

    def itm_strikes(self, price: float, closes: FloatArray) -> tuple[int, str]:
        """(strikes in the money, why) from the EMA rule."""
        spec = self.spec
        fast, slow = ema(closes, spec.ema_fast), ema(closes, spec.ema_slow)
        if price > (1.0 + spec.extended_fraction) * fast:
            return spec.itm_strikes_extended, (
                f"price {price:g} > {spec.extended_fraction:.0%} above EMA{spec.ema_fast} "
                f"{fast:.2f}")
        if fast < slow:
            return spec.itm_strikes_below_ema, (
                f"EMA{spec.ema_fast} {fast:.2f} < EMA{spec.ema_slow} {slow:.2f}")
        return 0, f"EMA{spec.ema_fast} {fast:.2f} >= EMA{spec.ema_slow} {slow:.2f}"

    def _call(self, ctx: StrategyContext, sched: Schedule, leap: Position,
              old: Position | None) -> TradeIdea:
        """The weekly call for ``leap`` (a roll of ``old`` when it is open). The expiry is the
        one nearest ``call_dte`` days after the rule's nominal day (the next Friday, also when a
        holiday moved the rule to Monday), within ``call_dte`` days of today."""
        spec = self.spec
        root = leap.root
        closes = self.closes(ctx, root, spec.ema_slow)
        price = self.price(ctx, root)
        k, why = self.itm_strikes(price, closes)

        old_leg = next((leg for leg in old.legs if leg.ratio < 0), None) if old else None
        hi = spec.call_dte
        if old_leg is not None:
            hi = max(hi, old_leg.contract.dte(ctx.now.date()))
        snap = self.chain(ctx, root, 0, hi)
        today = ctx.now.date()
        nominal = last_weekday(today, sched.weekday) if sched.weekday is not None else today
        target = (nominal + timedelta(days=spec.call_dte) - today).days
        expiry = self.expiry(snap, target, _MIN_CALL_DTE, spec.call_dte)
        spot = snap.underlying_at(expiry)
        if spot is None:
            raise SkipSignal(SkipReason.NO_VALID_QUOTE, f"{root} {expiry}: no underlying price")
        listed = snap.strikes(expiry, Right.CALL)
        atm_i = int(np.searchsorted(listed, spot, "right")) - 1
        if atm_i - k < 0:
            raise SkipSignal(SkipReason.NO_STRIKE_AT_OFFSET,
                             f"{root} {expiry}: no call strike {k} below the money at {spot:g}")
        strike = float(listed[atm_i - k])
        row = self.by_strike(snap, expiry, Right.CALL, strike, True, "short call")
        new = snap.leg(row, -1)
        label = "ATM" if k == 0 else f"{k} strike(s) ITM"
        reason = f"short call {root} {expiry.isoformat()} {strike:g} {label}: {why}"
        if old is None or old_leg is None:
            idea = self.idea(snap, Structure.SHORT_CALL, (new,), expiry, reason, None,
                             max_units=leap.units, parent_id=leap.position_id)
            return require_credit(idea)
        if old_leg.contract == new.contract:
            raise SkipSignal(SkipReason.SAME_CONTRACT, f"{new.contract.symbol} is already short")
        c = old_leg.contract
        if c.right is None:
            raise SkipSignal(SkipReason.INVALID_STRUCTURE, f"{c.symbol} is not an option")
        old_row = self.by_strike(snap, c.expiry, c.right, c.strike, False, "buy-back call")
        legs = (snap.leg(old_row, 1), new)
        return self.idea(snap, Structure.SHORT_CALL, legs, expiry,
                         f"roll {c.symbol} -> {reason}", None, max_units=old.units,
                         parent_id=leap.position_id, replaces=old.position_id)

    # -- management ------------------------------------------------------------------------------
    @staticmethod
    def _call_extrinsic(position: Position) -> tuple[PositionLeg, float] | None:
        """A short call's leg and its extrinsic value at entry (its ``leg_price`` meta, else the
        entry credit of a one-leg position, less the intrinsic value at the ``underlying``
        meta); None when a fact is missing or the extrinsic value was not positive."""
        leg = next((lg for lg in position.legs if lg.ratio < 0), None)
        if leg is None:
            return None
        entry = meta_float(position, leg_price_key(leg.contract))
        if entry is None and len(position.legs) == 1:
            entry = -position.entry_price
        s0 = meta_float(position, UNDERLYING_KEY)
        if entry is None or s0 is None:
            return None
        e0 = entry - max(s0 - leg.contract.strike, 0.0)
        return (leg, e0) if e0 > 0 else None

    def manage(self, position: Position, mark: PositionMark,
               ctx: StrategyContext) -> ExitDecision | None:
        """Short call: close when its LEAP is gone (DEFENCE) or when ``call_profit_fraction`` of
        its entry extrinsic value is captured (PROFIT_TARGET). LEAP: the configured rules."""
        if not _is(position, Structure.SHORT_CALL):
            return None
        pid = position.position_id
        if not any(p.position_id == position.parent_id for p in ctx.positions(self.key)):
            return ExitDecision(pid, ExitReason.DEFENCE,
                                f"parent LEAP {position.parent_id} is no longer open")
        extrinsic = self._entry_extrinsic(position)
        if extrinsic is None:
            return None
        leg, e0 = extrinsic
        lm = next((m for m in mark.legs if m.contract == leg.contract), None)
        if lm is None:
            return None
        k = leg.contract.strike
        e_now = lm.mid - max(mark.underlying_price - k, 0.0)
        captured = (e0 - e_now) / e0
        if captured >= self.spec.call_profit_fraction:
            return ExitDecision(pid, ExitReason.PROFIT_TARGET,
                                f"captured {captured:.0%} of extrinsic {e0:.2f} "
                                f"(target {self.spec.call_profit_fraction:.0%})")
        return None
