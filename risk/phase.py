"""The one owner of the account phase (SPEC §1).

Thresholds are ``cfg.phases.min_nlv`` (phase i+1 starts at ``min_nlv[i]``). The phase moves up
when NLV ≥ the next phase's threshold and down only when NLV < the current phase's threshold ×
``cfg.phases.down_hysteresis``. It is evaluated once per trading day.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Final

from config.enums import Engine, Phase, StrategyKey
from config.model import Config
from config.universe import LEAN_ROOTS, MICRO_0DTE_ROOT, roots_for
from risk.types import Rejection

CHECK: Final = "phase"
_PHASES: Final = tuple(Phase)


class PhaseManager:
    """Daily phase evaluation with hysteresis.

    Attributes
    ----------
    invalid_nlv : int
        How many evaluations were given a NaN, infinite or negative NLV (the previous phase was
        kept, phase 1 when there was none). Such an evaluation does not use up the day: a later
        valid NLV the same day is still applied.
    last_issue : str
        Reason code of the latest ignored evaluation (``""`` when none).
    """

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self._phase: Phase | None = None
        self._day: date | None = None
        self.invalid_nlv = 0
        self.last_issue = ""

    @property
    def phase(self) -> Phase:
        """The stored phase (phase 1 before the first valid evaluation)."""
        return self._phase if self._phase is not None else Phase.P1

    def restore(self, phase: Phase, day: date | None) -> None:
        """Continue from a persisted ``phase`` last evaluated on ``day`` (after a restart), so
        the hysteresis is kept instead of re-deriving the phase from the NLV alone."""
        self._phase = Phase(phase)
        self._day = day

    def evaluate(self, nlv: float, day: date) -> Phase:
        """Apply ``nlv`` (USD) for trading ``day`` and return the phase.

        A second call for the same day returns the stored phase without looking at ``nlv``.
        """
        if self._day == day and self._phase is not None:
            return self._phase
        if not (math.isfinite(nlv) and nlv >= 0.0):
            self.invalid_nlv += 1
            self.last_issue = "invalid_nlv"
            return self.phase
        self._phase = self._direct(nlv) if self._phase is None else self._step(self._phase, nlv)
        self._day = day
        return self._phase

    def _direct(self, nlv: float) -> Phase:
        thresholds = self._cfg.phases.min_nlv
        return max(p for p, lo in zip(_PHASES, thresholds, strict=True) if nlv >= lo)

    def _step(self, current: Phase, nlv: float) -> Phase:
        thresholds = self._cfg.phases.min_nlv
        down = self._cfg.phases.down_hysteresis
        i = _PHASES.index(current)
        while i + 1 < len(_PHASES) and nlv >= thresholds[i + 1]:
            i += 1
        while i > 0 and nlv < thresholds[i] * down:
            i -= 1
        return _PHASES[i]

    def allows(self, key: StrategyKey, phase: Phase | None = None) -> Rejection | None:
        """None when ``key`` may trade in ``phase`` (the stored phase when None): the phase is at
        least the strategy's ``min_phase`` and its cap for the phase is not zero."""
        p = self.phase if phase is None else phase
        common = self._cfg.strategies.common(key)
        if p < common.min_phase:
            return Rejection(CHECK, "below_min_phase", limit=int(common.min_phase),
                             observed=int(p))
        if common.cap(p) <= 0:
            return Rejection(CHECK, "zero_cap", limit=0, observed=int(p),
                             detail=f"{key.value} has no {common.cap_unit} in phase {int(p)}")
        return None

    def zero_dte_root(self, nlv: float, engine: Engine) -> str:
        """Root the Friday 0DTE trades: the micro root below ``friday_0dte.micro_below_nlv``
        (also when NLV is invalid: the smaller contract), else the phase's root; the engine's
        substitution (LEAN: SPXW) is applied last."""
        key = StrategyKey.FRIDAY_0DTE
        small = not (math.isfinite(nlv) and nlv >= self._cfg.strategies.friday_0dte.micro_below_nlv)
        root = MICRO_0DTE_ROOT if small else roots_for(key, self.phase, Engine.OFFLINE)[0]
        if engine is Engine.LEAN:
            return LEAN_ROOTS.get(key, {}).get(root, root)
        return root
