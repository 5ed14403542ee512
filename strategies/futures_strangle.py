"""SPEC §8.3 ``futures_strangle``: 90-DTE short strangles on futures options, one per root.

Roots come from :func:`config.universe.roots_for` by phase and engine; a root whose monthly
options the engine lacks is skipped (``instrument_unavailable``). Filter: IV rank of the root's
ATM implied vol over ``iv_rank_days`` (the last value is today's) >= ``iv_rank_min``. Short put
and short call nearest their |delta| targets inside the allowed ranges; ratios (−1, −1).
The short-leg delta defence, VIX close-out, stop, profit and 21-DTE exits are data
(``common.exits``) applied by :class:`strategies.exits.ExitEngine`.
"""

from __future__ import annotations

import numpy as np

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
)
from strategies.types import FloatArray, StrategyContext, TradeIdea


def iv_rank(history: FloatArray) -> float:
    """IV rank in percent of the last value within the history's [min, max]; NaN when flat."""
    lo, hi = float(history.min()), float(history.max())
    if hi <= lo:
        return float("nan")
    return 100.0 * (float(history[-1]) - lo) / (hi - lo)


class FuturesStrangle(StrategyBase):
    """Short strangles on futures options."""

    def __init__(self, cfg: Config) -> None:
        self.spec = cfg.strategies.futures_strangle
        super().__init__(cfg, self.spec.common)
        self._rules = {"entry": RuleSpec(self._entry)}

    def _entry(self, ctx: StrategyContext, sched: Schedule) -> tuple[Outcome, ...]:
        return self.per_root(ctx, self._root)

    def _root(self, ctx: StrategyContext, root: str, pending: int) -> TradeIdea:
        """Idea for ``root``; ``pending`` ideas made earlier in this rule count toward the cap."""
        spec = self.spec
        self.check_engine(root, ctx.engine, ExpiryKind.MONTHLY)
        raw = np.asarray(ctx.atm_iv_history(root, spec.iv_rank_days), dtype=np.float64)
        hist = raw[np.isfinite(raw) & (raw > 0)]
        if hist.shape[0] < spec.iv_rank_days:
            raise SkipSignal(SkipReason.IV_HISTORY_SHORT,
                             f"{root}: {hist.shape[0]} ATM IV days, need {spec.iv_rank_days}")
        rank = iv_rank(hist)
        if not rank >= spec.iv_rank_min:
            raise SkipSignal(SkipReason.IV_RANK_LOW,
                             f"{root}: IV rank {rank:.1f} < {spec.iv_rank_min:g}")
        mine = self.open_positions(ctx)
        if any(p.root == root for p in mine):
            raise SkipSignal(SkipReason.CAP_REACHED, f"{root}: a strangle is already open")
        self.check_cap(ctx, len(mine) + pending)

        snap = self.chain(ctx, root, spec.dte.lo, spec.dte.hi)
        expiry = self.expiry(snap, spec.dte.target, spec.dte.lo, spec.dte.hi)
        put = self.by_delta(snap, expiry, Right.PUT, spec.put, True, "short put")
        call = self.by_delta(snap, expiry, Right.CALL, spec.call, True, "short call")
        if snap.strike[put] >= snap.strike[call]:
            raise SkipSignal(SkipReason.INVALID_STRUCTURE,
                             f"put strike {snap.strike[put]:g} not below call "
                             f"{snap.strike[call]:g}")
        legs = (snap.leg(put, -1), snap.leg(call, -1))
        reason = (f"strangle {root} {expiry.isoformat()} ({snap.expiry_dte(expiry)} DTE); "
                  f"put {abs(legs[0].delta):.3f}Δ, call {abs(legs[1].delta):.3f}Δ; "
                  f"IV rank {rank:.1f}")
        return require_credit(self.idea(snap, Structure.STRANGLE, legs, expiry, reason, None))
