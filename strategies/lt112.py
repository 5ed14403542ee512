"""SPEC §8.2 ``lt112``: 120-DTE 1-1-2 put structure on MES (phase 2) / ES (phases 3–4).

Long put nearest the long |delta| target, short put ``spread_width_points`` below it, two naked
puts nearest the naked target; ratios (+1, −1, −2); must be a net credit. Filters: underlying
below ``max_fraction_of_52w_high`` × 52-week high; no two LT112 positions share an expiry (the
nearest unused expiry in the window is taken). The expiry window widens to ``dte_quarterly``
when the normal window has no expiry and the root lists quarterlies.

Management (:meth:`Lt112.manage`): the naked pair takes profit at ``naked_profit_target`` of its
entry credit (closing only those legs); the whole position stops when the naked puts are worth
``naked_stop_multiple`` × their entry credit. The pair's entry credit is 2 × the naked leg's
``leg_price:<symbol>`` meta (see :mod:`strategies.meta`).
"""

from __future__ import annotations

from config.enums import ExpiryKind, Right
from config.instruments import instrument
from config.model import Config, Schedule
from execution.types import ExitDecision, ExitReason, Position, PositionLeg
from strategies.base import (
    Outcome,
    PerPosition,
    RuleSpec,
    SkipReason,
    SkipSignal,
    StrategyBase,
    Structure,
    require_credit,
    require_descending,
)
from strategies.meta import leg_price_key, meta_float
from strategies.types import PositionMark, StrategyContext

# Leg ratio of the naked puts in a 1-1-2.
NAKED_RATIO = -2


class Lt112(StrategyBase):
    """Long Term 1-1-2 on equity index futures options."""

    def __init__(self, cfg: Config) -> None:
        self.spec = cfg.strategies.lt112
        super().__init__(cfg, self.spec.common)
        self._rules = {"entry": RuleSpec(self._entry), "entry_extra": RuleSpec(self._entry)}
        self._naked_credit = PerPosition(self._entry_credit)

    def _entry(self, ctx: StrategyContext, sched: Schedule) -> tuple[Outcome, ...]:
        spec = self.spec
        roots = self.roots(ctx)
        root = roots[0]
        self.check_engine(root, ctx.engine, ExpiryKind.QUARTERLY)
        price = self.price(ctx, root)
        high = float(self.closes(ctx, root, 1).max())
        if price >= spec.max_fraction_of_52w_high * high:
            raise SkipSignal(SkipReason.NEAR_52W_HIGH,
                             f"{root} {price:g} >= {spec.max_fraction_of_52w_high:.0%} of 52-week "
                             f"high {high:g}")
        mine = self.open_positions(ctx)
        self.check_cap(ctx, len(mine))

        wide = spec.dte_quarterly
        snap = self.chain(ctx, root, min(spec.dte.lo, wide.lo), max(spec.dte.hi, wide.hi))
        taken = frozenset(p.expiry for p in mine)
        windows = [(spec.dte, f"{spec.dte.lo}-{spec.dte.hi} DTE")]
        if ExpiryKind.QUARTERLY in instrument(root).expiries:
            windows.append((wide, f"{wide.lo}-{wide.hi} DTE (widened: quarterlies only)"))
        found = next(((e, label) for w, label in windows
                      if (e := snap.expiry_nearest(spec.dte.target, w.lo, w.hi, taken))
                      is not None), None)
        if found is None:
            labels = " or ".join(label for _, label in windows)
            if any(snap.expiry_nearest(spec.dte.target, w.lo, w.hi) for w, _ in windows):
                raise SkipSignal(SkipReason.EXPIRY_TAKEN,
                                 f"every {root} expiry in {labels} already has an LT112")
            raise SkipSignal(SkipReason.NO_EXPIRY_IN_WINDOW,
                             f"{root}: no usable expiry in {labels} "
                             f"(have {[snap.expiry_dte(x) for x in snap.expiries]})")
        expiry, window = found

        long_row = self.by_delta(snap, expiry, Right.PUT, spec.long, False, "long put")
        short_strike = snap.offset_strike(long_row, -spec.spread_width_points)
        short_row = self.by_strike(snap, expiry, Right.PUT, short_strike, True, "short put")
        naked_row = self.by_delta(snap, expiry, Right.PUT, spec.naked, True, "naked put")
        strikes = tuple(float(snap.strike[r]) for r in (long_row, short_row, naked_row))
        require_descending(strikes, "long/short/naked puts")
        legs = (snap.leg(long_row, 1), snap.leg(short_row, -1), snap.leg(naked_row, NAKED_RATIO))
        dte = snap.expiry_dte(expiry)
        reason = (f"1-1-2 {root} {expiry.isoformat()} ({dte} DTE, window {window}); "
                  f"long {abs(legs[0].delta):.3f}Δ, naked {abs(legs[2].delta):.3f}Δ; "
                  f"{price:g} vs 52w high {high:g}")
        return (require_credit(self.idea(snap, Structure.PUT_112, legs, expiry, reason, None)),)

    @staticmethod
    def _entry_credit(position: Position) -> tuple[PositionLeg, float] | None:
        """The naked leg and the pair's entry credit (2 × its ``leg_price`` meta); None without
        a naked leg or a positive entry price."""
        naked = next((leg for leg in position.legs if leg.ratio == NAKED_RATIO), None)
        if naked is None:
            return None
        entry = meta_float(position, leg_price_key(naked.contract))
        if entry is None or entry <= 0:
            return None
        return naked, -NAKED_RATIO * entry

    def manage(self, position: Position, mark: PositionMark,
               ctx: StrategyContext) -> ExitDecision | None:
        """Naked-pair profit take (those legs only) or naked-put stop (whole position)."""
        naked_credit = self._naked_credit(position)
        if naked_credit is None:
            return None
        naked, credit = naked_credit
        lm = next((m for m in mark.legs if m.contract == naked.contract), None)
        if lm is None:
            return None
        value = -NAKED_RATIO * lm.mid
        spec = self.spec
        if value >= spec.naked_stop_multiple * credit:
            return ExitDecision(position.position_id, ExitReason.STOP_LOSS,
                                f"naked puts worth {value:.2f} >= {spec.naked_stop_multiple:g} x "
                                f"entry credit {credit:.2f}", urgent=True)
        if value <= (1.0 - spec.naked_profit_target) * credit:
            return ExitDecision(position.position_id, ExitReason.PROFIT_TARGET,
                                f"naked pair kept {1 - value / credit:.0%} of credit "
                                f"{credit:.2f} (target {spec.naked_profit_target:.0%})",
                                legs=(PositionLeg(naked.contract, naked.ratio),))
        return None
