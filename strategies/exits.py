"""The one exit engine for every position (SPEC §9).

Rules in precedence order, first match wins (:class:`execution.types.ExitReason` order):

1. circuit-breaker flatten;
2. stop loss: loss >= ``stop_multiple`` × |entry premium|, or loss >= ``stop_loss_nlv`` × NLV
   (whole position, dollars), or the strategy's ``manage`` says STOP_LOSS;
3. time stop: on the expiry day at or after ``time_stop``;
4. defence: VIX >= ``close_vix_at_or_above``, a short leg's |delta| >= ``short_delta_exit``, or the
   strategy's ``manage`` says DEFENCE;
5. DTE rule: DTE <= ``dte_exit``;
6. profit target: profit >= ``profit_target`` × |entry premium|, or ``manage`` PROFIT_TARGET;
7. roll: DTE <= ``roll_dte``, or ``manage`` ROLL (a roll here is a close; re-entry happens at the
   strategy's next scheduled entry).

Thresholds come from the strategy's :class:`config.model.ExitRules` (``common.exits``, scoped per
position by strategies implementing :class:`strategies.base.HasExitRules`); a ``None`` threshold
switches its rule off. Breaker, stop-loss and time-stop exits are ``urgent``. With an invalid mark
only the breaker and time-stop rules can fire (and ``manage`` is not consulted). Positions whose
expiry date has passed are not evaluated: the system books them as ``EXPIRED``.

P&L per unit in points is ``mark.net_mid − position.entry_price`` (positive = profit); the entry
premium is ``|position.entry_price|`` (credit received or debit paid).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from config.model import Config, ExitRules
from execution.types import ExitDecision, ExitReason, Position
from strategies.types import PositionMark, Strategy, StrategyContext

URGENT_REASONS = frozenset({ExitReason.BREAKER_FLATTEN, ExitReason.STOP_LOSS,
                            ExitReason.TIME_STOP})


class _Facts:
    """What every rule reads; premium and P&L are worked out once per evaluation."""

    __slots__ = ("dte", "mark", "nlv", "now", "pnl", "position", "premium", "rules", "vix")

    def __init__(self, position: Position, mark: PositionMark, rules: ExitRules,
                 now: datetime, vix: float | None, nlv: float, dte: int) -> None:
        self.position = position
        self.mark = mark
        self.rules = rules
        self.now = now
        self.vix = vix
        self.nlv = nlv
        self.dte = dte
        self.premium = abs(position.entry_price)
        self.pnl = mark.net_mid - position.entry_price
        """Profit per unit in points (negative = loss)."""


Rule = Callable[[_Facts], str | None]


def _stop(f: _Facts) -> str | None:
    r, loss = f.rules, -f.pnl
    if r.stop_multiple is not None and f.premium > 0 and loss >= r.stop_multiple * f.premium:
        return f"loss {loss:.2f} >= {r.stop_multiple:g} x premium {f.premium:.2f}"
    dollars = loss * f.position.multiplier * f.position.units
    if r.stop_loss_nlv is not None and f.nlv > 0 and dollars >= r.stop_loss_nlv * f.nlv:
        return f"loss ${dollars:,.0f} >= {r.stop_loss_nlv:.1%} of NLV {f.nlv:,.0f}"
    return None


def _time_stop(f: _Facts) -> str | None:
    t = f.rules.time_stop
    if t is not None and f.dte == 0 and f.now.time() >= t:
        return f"expiry day, {f.now.time():%H:%M} >= {t:%H:%M}"
    return None


def _defence(f: _Facts) -> str | None:
    r = f.rules
    if r.close_vix_at_or_above is not None and f.vix is not None \
            and f.vix >= r.close_vix_at_or_above:
        return f"VIX {f.vix:g} >= {r.close_vix_at_or_above:g}"
    if r.short_delta_exit is not None:
        # A NaN delta is one the marks showed to be below this level without solving it
        # (strategies.marks): the comparison is False for it, as it would be for its value.
        for leg in f.mark.legs:
            if leg.ratio < 0 and abs(leg.delta) >= r.short_delta_exit:
                return (f"short {leg.contract.symbol} |delta| {abs(leg.delta):.3f} >= "
                        f"{r.short_delta_exit:g}")
    return None


def _dte_rule(f: _Facts) -> str | None:
    d = f.rules.dte_exit
    return f"{f.dte} DTE <= {d}" if d is not None and f.dte <= d else None


def _profit(f: _Facts) -> str | None:
    t = f.rules.profit_target
    if t is not None and f.premium > 0 and f.pnl >= t * f.premium:
        return f"profit {f.pnl:.2f} >= {t:.0%} of premium {f.premium:.2f}"
    return None


def _roll(f: _Facts) -> str | None:
    d = f.rules.roll_dte
    return f"{f.dte} DTE <= roll at {d}" if d is not None and f.dte <= d else None


# Precedence table; rules marked True also run on an invalid mark.
_RULES: tuple[tuple[ExitReason, Rule, bool], ...] = (
    (ExitReason.STOP_LOSS, _stop, False),
    (ExitReason.TIME_STOP, _time_stop, True),
    (ExitReason.DEFENCE, _defence, False),
    (ExitReason.DTE_RULE, _dte_rule, False),
    (ExitReason.PROFIT_TARGET, _profit, False),
    (ExitReason.ROLL, _roll, False),
)


class ExitEngine:
    """Evaluates the SPEC §9 exit rules for one position at a time."""

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self.manage_errors: list[str] = []
        """``position_id: error`` of strategy ``manage`` calls that raised (the generic rules
        still ran); the system may drain and log them."""

    def rules_for(self, position: Position, strategy: Strategy) -> ExitRules:
        """The position's exit thresholds: the strategy's per-position scoping when it has one,
        else its configured ``common.exits``."""
        scoped = getattr(strategy, "exit_rules", None)  # HasExitRules, without the slow
        if callable(scoped):                           # runtime protocol check
            rules = scoped(position)
            if isinstance(rules, ExitRules):
                return rules
        return self._cfg.strategies.common(position.key).exits

    def evaluate(self, position: Position, mark: PositionMark, now: datetime,
                 vix: float | None, nlv: float, flatten: bool, strategy: Strategy,
                 ctx: StrategyContext) -> ExitDecision | None:
        """The first exit rule that fires for ``position``, or None.

        Parameters
        ----------
        mark
            Current per-unit mark; when ``mark.valid`` is False only the breaker and time-stop
            rules are evaluated.
        vix
            Current VIX (None when missing or stale: the VIX defence rule cannot fire).
        nlv
            Net liquidation value in USD (for ``stop_loss_nlv``).
        flatten
            The circuit breaker demands closing every position.
        strategy
            The position's strategy: supplies the exit thresholds and ``manage``.
        """
        pid = position.position_id
        dte = (position.expiry - now.date()).days
        if dte < 0:
            return None
        if flatten:
            return ExitDecision(pid, ExitReason.BREAKER_FLATTEN, "circuit breaker flatten",
                                urgent=True)
        valid = mark.valid and math.isfinite(mark.net_mid)
        rules = self.rules_for(position, strategy)
        managed = self._managed(position, mark, strategy, ctx) if valid else None
        facts = _Facts(position, mark, rules, now, vix, nlv, dte)
        for reason, rule, any_mark in _RULES:
            if managed is not None and managed.reason <= reason:
                return _normalise(managed)
            if not (valid or any_mark):
                continue
            detail = rule(facts)
            if detail is not None:
                return ExitDecision(pid, reason, detail, urgent=reason in URGENT_REASONS)
        return _normalise(managed) if managed is not None else None

    def _managed(self, position: Position, mark: PositionMark, strategy: Strategy,
                 ctx: StrategyContext) -> ExitDecision | None:
        try:
            return strategy.manage(position, mark, ctx)
        except Exception as e:  # a strategy defect must not stop the generic exits
            self.manage_errors.append(f"{position.position_id}: {type(e).__name__}: {e}")
            return None


def _normalise(d: ExitDecision) -> ExitDecision:
    """Urgency follows the reason."""
    urgent = d.reason in URGENT_REASONS
    return d if d.urgent == urgent else replace(d, urgent=urgent)
