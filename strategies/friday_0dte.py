"""SPEC §8.1 ``friday_0dte``: Friday 10:30 0DTE iron condor or credit spread by the morning move.

m = (price at the rule time − session open) / open. |m| <= move_threshold → iron condor;
m > threshold → call credit spread; m < −threshold → put credit spread. Shorts nearest the target
|delta| inside the allowed range, long wings ``wing_points`` beyond the shorts. The instrument is
ES 0DTE offline (MES when NLV < ``micro_below_nlv``) and SPXW 0DTE on LEAN, stated in the idea's
reason. The per-phase cap is in contracts and becomes ``TradeIdea.max_units``.
"""

from __future__ import annotations

from datetime import date

from config.enums import Engine, ExpiryKind, Right
from config.instruments import instrument
from config.model import Config, Schedule
from config.universe import MICRO_0DTE_ROOT
from strategies.base import (
    Outcome,
    RuleSpec,
    SkipReason,
    SkipSignal,
    StrategyBase,
    Structure,
    require_credit,
)
from strategies.chain import ChainSnapshot
from strategies.types import IdeaLeg, StrategyContext


class Friday0Dte(StrategyBase):
    """Friday 0DTE credit structures (one position per Friday)."""

    def __init__(self, cfg: Config) -> None:
        self.spec = cfg.strategies.friday_0dte
        super().__init__(cfg, self.spec.common)
        self._rules = {"entry": RuleSpec(self._entry)}

    def resolve_root(self, ctx: StrategyContext) -> tuple[str, str]:
        """(option root, why) for this phase, NLV and engine."""
        root = self.roots(ctx)[0]
        micro = self.spec.micro_below_nlv
        if ctx.engine is Engine.LEAN:
            why = f"{root} 0DTE on lean (no weekly/daily futures options)"
        elif ctx.nlv < micro:
            root = MICRO_0DTE_ROOT
            why = f"{root} 0DTE (NLV {ctx.nlv:,.0f} < {micro:,.0f})"
        else:
            why = f"{root} 0DTE (NLV {ctx.nlv:,.0f} >= {micro:,.0f})"
        self.check_engine(root, ctx.engine, ExpiryKind.WEEKLY)
        return root, why

    def _entry(self, ctx: StrategyContext, sched: Schedule) -> tuple[Outcome, ...]:
        spec = self.spec
        root, why = self.resolve_root(ctx)
        und_root = instrument(root).underlying
        price = self.price(ctx, und_root)
        open_ = self.session_open(ctx, und_root)
        m = (price - open_) / open_

        mine = self.open_positions(ctx)
        today = ctx.now.date()
        today_count = sum(1 for p in mine if p.entry_time.date() == today)
        if today_count >= spec.max_positions_per_day:
            raise SkipSignal(SkipReason.CAP_REACHED,
                             f"{today_count} position(s) opened today, max "
                             f"{spec.max_positions_per_day}")
        used = sum(p.units for p in mine)
        self.check_cap(ctx, used)
        units = self.common.cap(ctx.phase) - used

        snap = self.chain(ctx, root, 0, 0)
        expiry = self.expiry(snap, 0, 0, 0)
        thr = spec.move_threshold
        if m > thr:
            structure = Structure.CALL_CREDIT_SPREAD
        elif m < -thr:
            structure = Structure.PUT_CREDIT_SPREAD
        else:
            structure = Structure.IRON_CONDOR
        legs: list[IdeaLeg] = []
        widths: list[float] = []
        if structure is not Structure.CALL_CREDIT_SPREAD:
            legs_p, w = self._spread(snap, expiry, Right.PUT)
            legs += legs_p
            widths.append(w)
        if structure is not Structure.PUT_CREDIT_SPREAD:
            legs_c, w = self._spread(snap, expiry, Right.CALL)
            legs += legs_c
            widths.append(w)
        shorts = [leg.contract.strike for leg in legs if leg.ratio < 0]
        if len(shorts) == 2 and shorts[0] >= shorts[1]:
            raise SkipSignal(SkipReason.INVALID_STRUCTURE,
                             f"short put {shorts[0]:g} not below short call {shorts[1]:g}")
        credit = -sum(leg.ratio * leg.mid for leg in legs)
        max_loss = (max(widths) - credit) * snap.inst.multiplier
        reason = (f"{structure.value}: move {m:+.2%} vs ±{thr:.2%} (open {open_:g}, "
                  f"now {price:g}); {why}; shorts "
                  + "/".join(f"{abs(leg.delta):.3f}Δ" for leg in legs if leg.ratio < 0))
        idea = require_credit(self.idea(snap, structure, tuple(legs), expiry, reason,
                                        max_loss, max_units=units))
        if max_loss <= 0:
            raise SkipSignal(SkipReason.INVALID_STRUCTURE,
                             f"credit {credit:.2f} >= wing width {max(widths):g}")
        return (idea,)

    def _spread(self, snap: ChainSnapshot, expiry: date,
                right: Right) -> tuple[list[IdeaLeg], float]:
        """(legs, width): short nearest the target |delta|, long ``wing_points`` further out;
        put legs ordered (long, short), call legs (short, long)."""
        name = right.name.lower()
        short = self.by_delta(snap, expiry, right, self.spec.short, True, f"short {name}")
        out = self.spec.wing_points if right is Right.CALL else -self.spec.wing_points
        wing_strike = snap.offset_strike(short, out)
        wing = self.by_strike(snap, expiry, right, wing_strike, False, f"long {name} wing")
        width = abs(float(snap.strike[wing]) - float(snap.strike[short]))
        if width <= 0:
            raise SkipSignal(SkipReason.INVALID_STRUCTURE, f"{name} wing width {width:g}")
        pair = [snap.leg(wing, 1), snap.leg(short, -1)]
        return (pair if right is Right.PUT else pair[::-1]), width

