"""Stress check (SPEC §7): reprice the book under every underlying move × IV multiplier.

Every underlying moves by the same fraction at once and every implied vol is multiplied by the
same factor; time to expiry does not change. Losses are dollars, positive = loss, measured against
the model value of the same legs at today's price and vol (so the scenario P&L is not polluted by
the bid/ask of the book).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from config.model import Config
from risk.legs import FloatArray, LegColumns, StressLeg, first_issue, unit_prices
from risk.types import Rejection

__all__ = ["StressLeg", "StressResult", "StressTest", "scenario_label"]

CHECK = "stress"


def scenario_label(move: float, iv_multiplier: float) -> str:
    """Text name of a scenario, e.g. ``-10% x IV 2.0``."""
    return f"{move * 100:+g}% x IV {iv_multiplier:.1f}"


@dataclass(frozen=True, slots=True)
class StressResult:
    """Scenario losses of a set of legs.

    Attributes
    ----------
    worst_loss : float
        Largest scenario loss in dollars (positive = loss, negative = every scenario gains).
        Zero for an empty book.
    scenario : str
        Label of the worst scenario (``""`` for an empty book).
    per_scenario : tuple[tuple[str, float], ...]
        ``(label, loss in dollars)`` for every scenario, in configuration order.
    """

    worst_loss: float
    scenario: str
    per_scenario: tuple[tuple[str, float], ...]


class StressTest:
    """Reprices legs under ``cfg.stress.moves × cfg.stress.iv_multipliers``."""

    def __init__(self, cfg: Config) -> None:
        s = cfg.stress
        pairs = [(m, v) for m in s.moves for v in s.iv_multipliers]
        self._labels = tuple(scenario_label(m, v) for m, v in pairs)
        self._spot = np.asarray([1.0 + m for m, _ in pairs], dtype=np.float64)
        self._vol = np.asarray([v for _, v in pairs], dtype=np.float64)
        self._max_loss_nlv = s.max_loss_nlv

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    @property
    def max_loss_nlv(self) -> float:
        """Largest allowed worst-scenario loss as a fraction of NLV."""
        return self._max_loss_nlv

    def scenario_losses(self, legs: Sequence[StressLeg]) -> FloatArray | Rejection:
        """Dollar loss (positive = loss) of ``legs`` in each scenario, shape ``(scenarios,)``.

        A leg that cannot be priced (missing IV, underlying price, unknown instrument) or whose
        repricing fails gives a Rejection; it is never treated as zero exposure.
        """
        if not legs:
            return np.zeros(len(self._labels))
        bad = first_issue(legs)
        if bad is not None:
            code, symbol = bad
            return Rejection(CHECK, code, detail=f"leg {symbol} cannot be priced")
        cols = LegColumns.of(legs)
        spot = np.concatenate(([1.0], self._spot))
        vol = np.concatenate(([1.0], self._vol))
        try:
            prices = unit_prices(cols, spot, vol)
        except (ValueError, FloatingPointError, ArithmeticError) as exc:
            return Rejection(CHECK, "pricing_failed", detail=str(exc))
        if not np.all(np.isfinite(prices)):
            col = int(np.argwhere(~np.isfinite(prices))[0][1])
            return Rejection(CHECK, "pricing_failed",
                             detail=f"leg {legs[col].contract.symbol} has no model price")
        values = prices * cols.dollars_per_point[None, :]
        totals = values.sum(axis=1)
        losses: FloatArray = totals[0] - totals[1:]
        return losses

    def run(self, legs: Sequence[StressLeg]) -> StressResult | Rejection:
        """Worst scenario and every scenario's loss for ``legs``."""
        losses = self.scenario_losses(legs)
        if isinstance(losses, Rejection):
            return losses
        return self._result(losses, empty=not legs)

    def _result(self, losses: FloatArray, empty: bool) -> StressResult:
        per = tuple((lab, float(x)) for lab, x in zip(self._labels, losses, strict=True))
        if empty:
            return StressResult(0.0, "", per)
        k = int(np.argmax(losses))
        return StressResult(float(losses[k]), self._labels[k], per)

    def check(self, book: Sequence[StressLeg], candidate: Sequence[StressLeg],
              nlv: float) -> Rejection | None:
        """Reject when the worst scenario loss of book + candidate exceeds ``max_loss_nlv × NLV``.

        ``candidate`` is the new position's legs at the quantity to be checked (one unit when
        called before sizing).
        """
        losses = self.scenario_losses([*book, *candidate])
        if isinstance(losses, Rejection):
            return losses
        return self.verdict(losses, nlv)

    def verdict(self, losses: FloatArray, nlv: float, share: float = 1.0,
                reason: str = "worst_loss_over_limit") -> Rejection | None:
        """Rejection when the largest of ``losses`` (dollars per scenario, as returned by
        :meth:`scenario_losses`) exceeds ``share × max_loss_nlv × nlv``; an invalid NLV
        rejects."""
        if not (math.isfinite(nlv) and nlv > 0.0):
            return Rejection(CHECK, "invalid_nlv", observed=nlv)
        limit = share * self._max_loss_nlv * nlv
        k = int(np.argmax(losses)) if losses.size else 0
        worst = float(losses[k]) if losses.size else 0.0
        if worst > limit:
            return Rejection(CHECK, reason, limit=limit, observed=worst,
                             detail=f"scenario {self._labels[k]}")
        return None

    def max_units(self, book_losses: FloatArray, unit_losses: FloatArray, nlv: float,
                  share: float = 1.0) -> float:
        """Largest (real) number of candidate units ``N`` with every scenario loss of
        ``book + N × candidate`` within ``share × max_loss_nlv × NLV``.

        Scenario losses are linear in ``N``; scenarios in which the candidate gains can only lower
        the bound when the book alone is already over the limit (then the answer is 0 unless the
        candidate offsets enough). Returns ``inf`` when no scenario bounds ``N``.
        """
        limit = share * self._max_loss_nlv * nlv
        room = limit - book_losses
        upper = np.where(unit_losses > 0.0, room / np.where(unit_losses > 0.0, unit_losses, 1.0),
                         np.inf)
        needs = (unit_losses < 0.0) & (room < 0.0)
        lower = np.where(needs, room / np.where(unit_losses < 0.0, unit_losses, -1.0), 0.0)
        impossible = bool(np.any((unit_losses == 0.0) & (room < 0.0)))
        hi = float(np.min(upper)) if upper.size else math.inf
        lo = float(np.max(lower)) if lower.size else 0.0
        if impossible or hi < lo:
            return 0.0
        return max(hi, 0.0)
