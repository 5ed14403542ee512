"""SPEC §8.5 ``leap_put_ladder``: one 365-DTE short SPY put every Monday.

Target |delta| by the week of the month of the rule's nominal Monday (``week_deltas[n-1]`` for the
nth Monday; a holiday Monday entry made on Tuesday keeps its Monday's week), allowed range
``[delta_lo, delta_hi]``. VIX below ``vix_skip_below`` skips the week; VIX above
``vix_double_above`` sets ``size_factor`` = ``high_vix_size_factor`` (the sizer still caps it).
Profit target and the roll (close) at ``roll_dte`` are data in ``common.exits``.
"""

from __future__ import annotations

from datetime import date

from config.enums import ExpiryKind, Right
from config.model import Config, DeltaTarget, Schedule
from strategies.base import (
    Outcome,
    RuleSpec,
    SkipReason,
    SkipSignal,
    StrategyBase,
    Structure,
    require_credit,
)
from strategies.schedule import last_weekday, week_of_month
from strategies.types import StrategyContext


class LeapPutLadder(StrategyBase):
    """Weekly ladder of long-dated short puts."""

    def __init__(self, cfg: Config) -> None:
        self.spec = cfg.strategies.leap_put_ladder
        super().__init__(cfg, self.spec.common)
        self._rules = {"entry": RuleSpec(self._entry)}

    def target_delta(self, day: date, weekday: int) -> tuple[float, int]:
        """(target |delta|, week of month) for the rule's nominal ``weekday`` on or before
        ``day``."""
        week = week_of_month(last_weekday(day, weekday))
        deltas = self.spec.week_deltas
        return deltas[min(week, len(deltas)) - 1], week

    def _entry(self, ctx: StrategyContext, sched: Schedule) -> tuple[Outcome, ...]:
        spec = self.spec
        vix = ctx.vix
        if vix is None:
            raise SkipSignal(SkipReason.VIX_UNKNOWN, "no VIX value")
        if vix < spec.vix_skip_below:
            raise SkipSignal(SkipReason.VIX_BELOW_MIN,
                             f"VIX {vix:g} < {spec.vix_skip_below:g}: skip the week")
        factor = spec.high_vix_size_factor if vix > spec.vix_double_above else 1.0
        roots = self.roots(ctx)
        root = roots[0]
        self.check_engine(root, ctx.engine, ExpiryKind.MONTHLY)
        self.check_cap(ctx, len(self.open_positions(ctx)))

        wd = sched.weekday if sched.weekday is not None else ctx.now.weekday()
        target, week = self.target_delta(ctx.now.date(), wd)
        dt = DeltaTarget(target, spec.delta_lo, spec.delta_hi)
        snap = self.chain(ctx, root, spec.dte.lo, spec.dte.hi)
        expiry = self.expiry(snap, spec.dte.target, spec.dte.lo, spec.dte.hi)
        row = self.by_delta(snap, expiry, Right.PUT, dt, True, "short put")
        leg = snap.leg(row, -1)
        reason = (f"ladder put {root} {expiry.isoformat()} ({snap.expiry_dte(expiry)} DTE) "
                  f"{abs(leg.delta):.3f}Δ (week {week} target {target:g}); VIX {vix:g}"
                  + (f" > {spec.vix_double_above:g}: size x{factor:g}" if factor != 1.0 else ""))
        idea = self.idea(snap, Structure.SHORT_PUT, (leg,), expiry, reason, None,
                         size_factor=factor)
        return (require_credit(idea),)
