"""The one function that decides how many units (contracts of structure) to open (SPEC §5).

    contracts = floor(min(risk budget / max loss per unit,
                          BP room / BP per unit,
                          phase cap            (strategies capped in contracts),
                          max_units            (strategy budget, e.g. the butterfly's debit),
                          stress room          (units the stress limit still admits)))

    risk budget = NLV × min(kelly_fraction × f*, max_risk_fraction)
                      × VIX multiplier × drawdown multiplier × size factor

Kelly ``f* = (p·b − q)/b`` with win rate ``p``, payoff ratio ``b`` (average win / average loss)
and ``q = 1 − p``. ``f* ≤ 0`` gives zero contracts.

Blending with realised results: with ``n`` closed trades, realised win rate ``p_r`` and payoff
``b_r``, and ``m = cfg.sizing.min_trades_for_blend``, the prior is used alone while ``n < m``;
from ``n ≥ m`` on, the prior counts as ``m`` pseudo-trades::

    p = (m·p₀ + n·p_r) / (m + n),   b = (m·b₀ + n·b_r) / (m + n)

so at ``n = m`` the two weigh equally and the realised figures dominate as ``n`` grows. The
caller passes ``None`` until the realised payoff is defined (at least one win and one loss).

Zero is a valid answer: it comes back as ``Rejection(check="sizing", reason=<binding
constraint>)`` and is never rounded up. Invalid inputs give a Rejection naming the input.
"""

from __future__ import annotations

import math
from typing import Final

from config.enums import Phase, StrategyKey
from config.model import Config, KellyPrior
from risk.types import Approval, Rejection

CHECK: Final = "sizing"
# Tolerance on the unit count so that an exact quotient computed in floating point
# (e.g. 2.9999999999999996) is not floored one unit short.
_FLOOR_TOL: Final = 1e-9

Realised = tuple[int, float, float]
"""``(closed trades, win rate in [0, 1], payoff ratio > 0)``."""


def _nonneg(x: float) -> bool:
    return math.isfinite(x) and x >= 0.0


def _pos(x: float) -> bool:
    return math.isfinite(x) and x > 0.0


class PositionSizer:
    """Decides units from the risk budget, buying power and caps; reads ``cfg.sizing``."""

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg

    def kelly(self, key: StrategyKey, realised: Realised | None = None) -> float | Rejection:
        """Full Kelly fraction ``f*`` for ``key`` (prior, blended with ``realised`` when it has
        at least ``min_trades_for_blend`` trades)."""
        prior = self._cfg.strategies.common(key).prior
        if realised is None:
            return prior.kelly
        n, p_r, b_r = realised
        if n < 0 or not (math.isfinite(p_r) and 0.0 <= p_r <= 1.0) or not _pos(b_r):
            return Rejection(CHECK, "invalid_realised_stats", observed=str(realised))
        m = self._cfg.sizing.min_trades_for_blend
        if n < m:
            return prior.kelly
        w = n / (m + n)
        blended = KellyPrior((1.0 - w) * prior.win_rate + w * p_r,
                             (1.0 - w) * prior.payoff + w * b_r)
        return blended.kelly

    def size(self, key: StrategyKey, nlv: float, max_loss_per_unit: float, bp_per_unit: float,
             bp_room: float, phase: Phase, vix_multiplier: float, drawdown_multiplier: float,
             size_factor: float = 1.0, max_units: int | None = None,
             realised: Realised | None = None,
             stress_units: float | None = None) -> Approval | Rejection:
        """Units to open for one idea.

        Parameters
        ----------
        key
            Strategy; gives the Kelly prior and the per-phase cap.
        nlv
            Net liquidation value, USD (finite, > 0).
        max_loss_per_unit
            Dollars one unit can lose (defined risk: the structure's max loss; undefined risk:
            the stress loss). Finite, > 0.
        bp_per_unit
            Buying power one unit uses, USD. Finite, > 0.
        bp_room
            Buying power still allowed under the regime/phase cap, USD (finite; ≤ 0 gives 0).
        phase
            Current phase (the cap of contract-capped strategies).
        vix_multiplier, drawdown_multiplier, size_factor
            Multipliers of the risk budget (finite, ≥ 0).
        max_units
            Optional strategy cap on units (≥ 0).
        realised
            Optional ``(trades, win rate, payoff)`` for blending (see the module docstring).
        stress_units
            Optional number of units the stress limit admits (≥ 0, may be fractional or inf).

        Returns
        -------
        Approval
            ``contracts ≥ 1`` and ``binding`` = the constraint that set the number
            (``risk_budget``, ``buying_power``, ``phase_cap``, ``max_units``, ``stress``).
        Rejection
            ``check="sizing"``; ``reason`` is the binding constraint when the answer is zero,
            ``kelly_non_positive`` when f* ≤ 0, or ``invalid_<input>`` for a bad input.
        """
        bad = self._bad_input(nlv, max_loss_per_unit, bp_per_unit, bp_room, vix_multiplier,
                              drawdown_multiplier, size_factor, max_units, stress_units)
        if bad is not None:
            return bad
        f = self.kelly(key, realised)
        if isinstance(f, Rejection):
            return f
        if f <= 0.0:
            return Rejection(CHECK, "kelly_non_positive", limit=0.0, observed=f)
        sz = self._cfg.sizing
        fraction = min(sz.kelly_fraction * f, sz.max_risk_fraction)
        budget = nlv * fraction * vix_multiplier * drawdown_multiplier * size_factor
        bounds: list[tuple[str, float]] = [
            ("risk_budget", budget / max_loss_per_unit),
            ("buying_power", max(bp_room, 0.0) / bp_per_unit),
        ]
        common = self._cfg.strategies.common(key)
        if common.cap_unit == "contracts":
            bounds.append(("phase_cap", float(common.cap(phase))))
        if max_units is not None:
            bounds.append(("max_units", float(max_units)))
        if stress_units is not None:
            bounds.append(("stress", stress_units))
        binding, units = min(bounds, key=lambda b: b[1])
        contracts = math.floor(units + _FLOOR_TOL)
        detail = (f"budget {budget:.2f} (f* {f:.4f}, fraction {fraction:.4f}); "
                  + ", ".join(f"{name} {value:.4g}" for name, value in bounds))
        if contracts <= 0:
            return Rejection(CHECK, binding, limit=1.0, observed=units, detail=detail)
        return Approval(contracts, binding, detail)

    @staticmethod
    def _bad_input(nlv: float, max_loss: float, bp_per_unit: float, bp_room: float,
                   vix_mult: float, dd_mult: float, size_factor: float, max_units: int | None,
                   stress_units: float | None) -> Rejection | None:
        checks: tuple[tuple[bool, str, float | str | None], ...] = (
            (_pos(nlv), "invalid_nlv", nlv),
            (_pos(max_loss), "invalid_max_loss", max_loss),
            (_pos(bp_per_unit), "invalid_bp_per_unit", bp_per_unit),
            (math.isfinite(bp_room), "invalid_bp_room", bp_room),
            (_nonneg(vix_mult), "invalid_vix_multiplier", vix_mult),
            (_nonneg(dd_mult), "invalid_drawdown_multiplier", dd_mult),
            (_nonneg(size_factor), "invalid_size_factor", size_factor),
            (max_units is None or max_units >= 0, "invalid_max_units",
             None if max_units is None else float(max_units)),
            (stress_units is None or (not math.isnan(stress_units) and stress_units >= 0.0),
             "invalid_stress_units", stress_units),
        )
        for ok, reason, observed in checks:
            if not ok:
                return Rejection(CHECK, reason, observed=observed)
        return None
