"""SPEC §8.7 ``butterfly_0dte``: Friday post-10:30 fade butterfly on SPXW 0DTE.

``butterfly_0dte.baseline`` records the underlying price at the baseline time (returns None).
``butterfly_0dte.entry``: m = (price − session open) / open. When |m| >= ``move_threshold`` buy a
butterfly (+1, −2, +1) with wings ``wing_points`` either side of a centre ``center_offset_points``
against the move — a put fly below the price after an up move, a call fly above it after a down
move. ``max_units`` = (``max_weekly_debit_nlv`` × NLV − debit of this week's open butterflies) //
(debit per unit in dollars). The baseline must have been recorded today.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import date
from typing import Final

from config.enums import ExpiryKind, Right
from config.instruments import instrument
from config.model import Config, Schedule
from strategies.base import (
    Outcome,
    RuleSpec,
    SkipReason,
    SkipSignal,
    StrategyBase,
    Structure,
    require_debit,
)
from strategies.types import StrategyContext

_MEMO: Final = "baseline"


class Butterfly0Dte(StrategyBase):
    """0DTE fade butterfly with a weekly debit budget."""

    def __init__(self, cfg: Config) -> None:
        self.spec = cfg.strategies.butterfly_0dte
        super().__init__(cfg, self.spec.common)
        self._rules = {"baseline": RuleSpec(self._baseline, gated=False),
                       "entry": RuleSpec(self._entry)}
        self._baselines: dict[date, float] = {}

    def baseline(self, day: date) -> float | None:
        """The baseline price recorded on ``day``."""
        return self._baselines.get(day)

    def day_memo(self) -> dict[str, float]:
        """The recorded baselines, keyed ``baseline <ISO date>``."""
        return {f"{_MEMO} {d.isoformat()}": v for d, v in self._baselines.items()}

    def restore_day_memo(self, memo: Mapping[str, float]) -> None:
        for name, value in memo.items():
            kind, _, day = name.partition(" ")
            if kind == _MEMO:
                with contextlib.suppress(ValueError):
                    self._baselines[date.fromisoformat(day)] = float(value)

    def _root(self, ctx: StrategyContext) -> str:
        roots = self.roots(ctx)
        return roots[0]

    def _baseline(self, ctx: StrategyContext, sched: Schedule) -> None:
        day = ctx.now.date()
        try:
            p = ctx.price(instrument(self._root(ctx)).underlying)
        except (SkipSignal, KeyError):
            p = None
        self._baselines = {d: v for d, v in self._baselines.items() if d == day}
        if p is not None and p > 0:
            self._baselines[day] = float(p)
        return None

    def _entry(self, ctx: StrategyContext, sched: Schedule) -> tuple[Outcome, ...]:
        spec = self.spec
        root = self._root(ctx)
        self.check_engine(root, ctx.engine, ExpiryKind.DAILY)
        und_root = instrument(root).underlying
        today = ctx.now.date()
        base = self.baseline(today)
        if base is None:
            raise SkipSignal(SkipReason.NO_BASELINE,
                             f"no {spec.baseline_time} price recorded today")
        price = self.price(ctx, und_root)
        open_ = self.session_open(ctx, und_root)
        m = (price - open_) / open_
        if abs(m) < spec.move_threshold:
            raise SkipSignal(SkipReason.MOVE_BELOW_THRESHOLD,
                             f"move {m:+.2%} inside ±{spec.move_threshold:.2%}")
        mine = self.open_positions(ctx)
        self.check_cap(ctx, len(mine))
        year, week, _ = today.isocalendar()
        spent = sum(max(p.entry_price, 0.0) * p.multiplier * p.units for p in mine
                    if p.entry_time.date().isocalendar()[:2] == (year, week))
        budget = spec.max_weekly_debit_nlv * ctx.nlv - spent

        snap = self.chain(ctx, root, 0, 0)
        expiry = self.expiry(snap, 0, 0, 0)
        spot = snap.underlying_at(expiry)
        if spot is None:
            raise SkipSignal(SkipReason.NO_VALID_QUOTE, f"{root} {expiry}: no underlying price")
        right, structure, sign = ((Right.PUT, Structure.PUT_BUTTERFLY, -1.0) if m > 0
                                  else (Right.CALL, Structure.CALL_BUTTERFLY, 1.0))
        centre = snap.inst.round_strike(spot + sign * spec.center_offset_points)
        w = spec.wing_points
        rows = [self.by_strike(snap, expiry, right, k, sell, name) for k, sell, name in (
            (centre - w, False, "lower wing"), (centre, True, "body"),
            (centre + w, False, "upper wing"))]
        legs = (snap.leg(rows[0], 1), snap.leg(rows[1], -2), snap.leg(rows[2], 1))
        reason = (f"{structure.value} {root} centre {centre:g} wings ±{w:g}: move {m:+.2%} from "
                  f"open {open_:g} (baseline {base:g}, now {price:g})")
        idea = require_debit(self.idea(snap, structure, legs, expiry, reason, None))
        debit = idea.net_mid * snap.inst.multiplier
        if debit >= w * snap.inst.multiplier:
            raise SkipSignal(SkipReason.INVALID_STRUCTURE,
                             f"debit {idea.net_mid:.2f} >= wing width {w:g}")
        units = int(budget // debit) if budget > 0 else 0
        if units < 1:
            raise SkipSignal(SkipReason.DEBIT_BUDGET_SPENT,
                             f"weekly budget left {max(budget, 0.0):,.0f} < debit {debit:,.0f}")
        return (self.idea(snap, structure, legs, expiry, reason, debit, max_units=units),)
