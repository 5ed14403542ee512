"""SPEC §8.6 ``bear_trap``: 60-DTE put 1-1-2 on SPY when ``vix_min <= VIX <= vix_max``.

Long put nearest the long target, short put nearest the short target, two naked puts nearest the
naked target (each inside its allowed |delta| range); ratios (+1, −1, −2); net credit. The cap
(one open position) is the per-phase cap. Exits are data in ``common.exits``.
"""

from __future__ import annotations

from config.enums import ExpiryKind, Right
from config.model import Config, Schedule
from strategies.base import (
    Outcome,
    RuleSpec,
    SkipReason,
    SkipSignal,
    StrategyBase,
    Structure,
    require_credit,
    require_descending,
)
from strategies.types import StrategyContext


class BearTrap(StrategyBase):
    """Put 1-1-2 entered in elevated volatility."""

    def __init__(self, cfg: Config) -> None:
        self.spec = cfg.strategies.bear_trap
        super().__init__(cfg, self.spec.common)
        self._rules = {"entry": RuleSpec(self._entry)}

    def _entry(self, ctx: StrategyContext, sched: Schedule) -> tuple[Outcome, ...]:
        spec = self.spec
        vix = ctx.vix
        if vix is None:
            raise SkipSignal(SkipReason.VIX_UNKNOWN, "no VIX value")
        if not spec.vix_min <= vix <= spec.vix_max:
            raise SkipSignal(SkipReason.VIX_OUT_OF_BAND,
                             f"VIX {vix:g} outside [{spec.vix_min:g}, {spec.vix_max:g}]")
        roots = self.roots(ctx)
        root = roots[0]
        self.check_engine(root, ctx.engine, ExpiryKind.MONTHLY)
        self.check_cap(ctx, len(self.open_positions(ctx)))

        snap = self.chain(ctx, root, spec.dte.lo, spec.dte.hi)
        expiry = self.expiry(snap, spec.dte.target, spec.dte.lo, spec.dte.hi)
        long_row = self.by_delta(snap, expiry, Right.PUT, spec.long, False, "long put")
        short_row = self.by_delta(snap, expiry, Right.PUT, spec.short, True, "short put")
        naked_row = self.by_delta(snap, expiry, Right.PUT, spec.naked, True, "naked put")
        require_descending(tuple(float(snap.strike[r]) for r in (long_row, short_row, naked_row)),
                           "long/short/naked puts")
        legs = (snap.leg(long_row, 1), snap.leg(short_row, -1), snap.leg(naked_row, -2))
        reason = (f"bear trap {root} {expiry.isoformat()} ({snap.expiry_dte(expiry)} DTE); "
                  + ", ".join(f"{leg.ratio:+d} {abs(leg.delta):.3f}Δ" for leg in legs)
                  + f"; VIX {vix:g}")
        return (require_credit(self.idea(snap, Structure.PUT_112, legs, expiry, reason, None)),)
