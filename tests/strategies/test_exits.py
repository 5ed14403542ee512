"""SPEC §9: one exit engine, each rule alone and the precedence when several fire."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from config.enums import StrategyKey
from config.model import ExitRules, Schedule
from execution.types import ExitDecision, ExitReason, Position
from strategies.exits import ExitEngine
from strategies.registry import build_strategies
from strategies.types import PositionMark, Skip, StrategyContext, TradeIdea
from tests.strategies.builders import CFG, FakeContext, at, mark, simple_position

EXPIRY = date(2025, 9, 19)
ENGINE = ExitEngine(CFG)
ALL = ExitRules(profit_target=0.5, stop_multiple=2.0, stop_loss_nlv=0.02,
                time_stop=CFG.exits.zero_dte_time_stop, dte_exit=21, roll_dte=30,
                close_vix_at_or_above=30.0, short_delta_exit=0.25)


@dataclass
class RulesStrategy:
    """A strategy with fixed exit rules and a fixed ``manage`` answer."""

    rules: ExitRules
    managed: ExitReason | None = None
    key: StrategyKey = StrategyKey.BEAR_TRAP

    def schedules(self) -> tuple[Schedule, ...]:
        return ()

    def on_rule(self, rule: str, ctx: StrategyContext) -> TradeIdea | Skip | None:
        return None

    def exit_rules(self, position: Position) -> ExitRules:
        return self.rules

    def manage(self, position: Position, mark: PositionMark,
               ctx: StrategyContext) -> ExitDecision | None:
        if self.managed is None:
            return None
        return ExitDecision(position.position_id, self.managed, "managed")


def pos(entry: float = -2.0, units: int = 1) -> Position:
    return simple_position(StrategyKey.BEAR_TRAP, expiry=EXPIRY,
                           legs=((520.0, "P", 1), (500.0, "P", -1)),
                           entry_price=entry, units=units)


def evaluate(rules: ExitRules, *, net: float = -1.8, days_left: int = 60,
             clock: tuple[int, int] = (11, 0), vix: float | None = 16.0,
             nlv: float = 100_000.0, flatten: bool = False, valid: bool = True,
             deltas: tuple[float, float] = (-0.3, -0.1), managed: ExitReason | None = None,
             position: Position | None = None) -> ExitDecision | None:
    p = position or pos()
    now = at(EXPIRY - timedelta(days=days_left), *clock)
    m = mark(p, net, now, valid=valid, deltas=deltas)
    return ENGINE.evaluate(p, m, now, vix, nlv, flatten, RulesStrategy(rules, managed),
                           FakeContext(now))


def reason(d: ExitDecision | None) -> ExitReason | None:
    return d.reason if d is not None else None


def test_evaluate_when_nothing_fires_returns_none() -> None:
    assert evaluate(ALL) is None


def test_evaluate_when_flatten_closes_urgently_even_without_mark() -> None:
    d = evaluate(ExitRules(), flatten=True, valid=False)

    assert d is not None and d.reason is ExitReason.BREAKER_FLATTEN and d.urgent


@pytest.mark.parametrize(("net", "expected"), [(-6.0, ExitReason.STOP_LOSS), (-5.99, None)])
def test_evaluate_when_loss_reaches_stop_multiple_stops(net: float,
                                                         expected: ExitReason | None) -> None:
    d = evaluate(ExitRules(stop_multiple=2.0), net=net)

    assert reason(d) == expected
    assert d is None or d.urgent


@pytest.mark.parametrize(("units", "expected"), [(5, ExitReason.STOP_LOSS), (4, None)])
def test_evaluate_when_loss_reaches_nlv_fraction_stops(units: int,
                                                       expected: ExitReason | None) -> None:
    # loss 4 points x 100 x units against 2% of 100,000
    d = evaluate(ExitRules(stop_loss_nlv=0.02), net=-6.0, position=pos(units=units))

    assert reason(d) == expected


@pytest.mark.parametrize(("days_left", "clock", "expected"), [
    (0, (15, 45), ExitReason.TIME_STOP), (0, (15, 44), None), (1, (15, 50), None)])
def test_evaluate_when_expiry_day_time_stop_reached_closes(
        days_left: int, clock: tuple[int, int], expected: ExitReason | None) -> None:
    d = evaluate(ExitRules(time_stop=CFG.exits.zero_dte_time_stop), days_left=days_left,
                 clock=clock)

    assert reason(d) == expected
    assert d is None or d.urgent


def test_evaluate_when_mark_invalid_time_stop_still_fires() -> None:
    d = evaluate(ALL, days_left=0, clock=(15, 46), valid=False, net=-50.0)

    assert reason(d) is ExitReason.TIME_STOP


def test_evaluate_when_mark_invalid_price_rules_wait() -> None:
    assert evaluate(ALL, valid=False, net=-50.0, days_left=5, vix=45.0,
                    managed=ExitReason.STOP_LOSS) is None


@pytest.mark.parametrize(("vix", "expected"), [(30.0, ExitReason.DEFENCE), (29.9, None),
                                               (None, None)])
def test_evaluate_when_vix_at_close_level_defends(vix: float | None,
                                                  expected: ExitReason | None) -> None:
    assert reason(evaluate(ExitRules(close_vix_at_or_above=30.0), vix=vix)) == expected


@pytest.mark.parametrize(("deltas", "expected"), [
    ((-0.9, -0.25), ExitReason.DEFENCE),   # short leg at 25 delta
    ((-0.9, -0.24), None),                 # long leg's delta does not count
    ((-0.9, math.nan), None),              # screened below the level by the marks
])
def test_evaluate_when_short_leg_delta_reaches_exit_defends(
        deltas: tuple[float, float], expected: ExitReason | None) -> None:
    assert reason(evaluate(ExitRules(short_delta_exit=0.25), deltas=deltas)) == expected


@pytest.mark.parametrize(("days_left", "expected"), [(21, ExitReason.DTE_RULE), (22, None)])
def test_evaluate_when_dte_reaches_exit_closes(days_left: int,
                                               expected: ExitReason | None) -> None:
    assert reason(evaluate(ExitRules(dte_exit=21), days_left=days_left)) == expected


@pytest.mark.parametrize(("net", "expected"), [(-1.0, ExitReason.PROFIT_TARGET), (-1.01, None)])
def test_evaluate_when_credit_half_kept_takes_profit(net: float,
                                                     expected: ExitReason | None) -> None:
    d = evaluate(ExitRules(profit_target=0.5), net=net)

    assert reason(d) == expected
    assert d is None or not d.urgent


def test_evaluate_when_debit_doubles_takes_profit_at_100_percent() -> None:
    fly = pos(entry=2.0)

    assert reason(evaluate(ExitRules(profit_target=1.0), net=4.0, position=fly)) is (
        ExitReason.PROFIT_TARGET)
    assert evaluate(ExitRules(profit_target=1.0), net=3.9, position=fly) is None


def test_evaluate_when_debit_loses_stop_fraction_stops() -> None:
    leap = pos(entry=80.0)

    assert reason(evaluate(ExitRules(stop_multiple=0.3), net=56.0, position=leap)) is (
        ExitReason.STOP_LOSS)
    assert evaluate(ExitRules(stop_multiple=0.3), net=56.1, position=leap) is None


@pytest.mark.parametrize(("days_left", "expected"), [(30, ExitReason.ROLL), (31, None)])
def test_evaluate_when_roll_dte_reached_rolls(days_left: int,
                                              expected: ExitReason | None) -> None:
    assert reason(evaluate(ExitRules(roll_dte=30), days_left=days_left)) == expected


def test_evaluate_when_rule_off_never_fires() -> None:
    assert evaluate(ExitRules(), net=-100.0, days_left=0, clock=(15, 59), vix=80.0,
                    deltas=(-1.0, -1.0)) is None


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"flatten": True, "net": -10.0, "days_left": 0, "clock": (15, 50)},
     ExitReason.BREAKER_FLATTEN),
    ({"net": -10.0, "days_left": 0, "clock": (15, 50)}, ExitReason.STOP_LOSS),
    ({"net": -0.5, "days_left": 0, "clock": (15, 50)}, ExitReason.TIME_STOP),
    ({"vix": 31.0, "days_left": 10, "net": -0.5}, ExitReason.DEFENCE),
    ({"deltas": (-0.5, -0.4), "days_left": 10}, ExitReason.DEFENCE),
    ({"net": -0.5, "days_left": 10}, ExitReason.DTE_RULE),
    ({"net": -0.5, "days_left": 25}, ExitReason.PROFIT_TARGET),
])
def test_evaluate_when_several_rules_fire_first_in_precedence_wins(
        kwargs: dict[str, object], expected: ExitReason) -> None:
    assert reason(evaluate(ALL, **kwargs)) is expected  # type: ignore[arg-type]


def test_evaluate_when_manage_stop_and_dte_rule_fire_stop_wins_urgently() -> None:
    d = evaluate(ALL, days_left=10, managed=ExitReason.STOP_LOSS)

    assert d is not None and d.reason is ExitReason.STOP_LOSS and d.urgent
    assert d.detail == "managed"


def test_evaluate_when_manage_profit_and_dte_rule_fire_dte_wins() -> None:
    d = evaluate(ALL, days_left=10, managed=ExitReason.PROFIT_TARGET)

    assert reason(d) is ExitReason.DTE_RULE


def test_evaluate_when_manage_roll_alone_rolls() -> None:
    d = evaluate(ExitRules(), managed=ExitReason.ROLL)

    assert reason(d) is ExitReason.ROLL and d is not None and not d.urgent


def test_evaluate_when_manage_defence_beats_profit_target() -> None:
    d = evaluate(ExitRules(profit_target=0.5), net=-0.1, managed=ExitReason.DEFENCE)

    assert reason(d) is ExitReason.DEFENCE


def test_evaluate_when_past_expiry_leaves_it_to_the_system() -> None:
    assert evaluate(ALL, days_left=-1, flatten=True) is None


@pytest.mark.parametrize("strategy", build_strategies(CFG), ids=lambda s: s.key.value)
def test_rules_for_when_real_strategy_reads_configured_exits(strategy: object) -> None:
    p = simple_position(strategy.key, structure="x")  # type: ignore[attr-defined]

    rules = ENGINE.rules_for(p, strategy)  # type: ignore[arg-type]

    assert rules == CFG.strategies.common(strategy.key).exits  # type: ignore[attr-defined]


def test_evaluate_when_real_0dte_at_time_stop_closes_urgently() -> None:
    f0 = build_strategies(CFG)[0]
    p = simple_position(StrategyKey.FRIDAY_0DTE, root="SPXW", expiry=date(2025, 6, 6),
                        legs=((5950.0, "P", 1), (5980.0, "P", -1)), entry_price=-3.0)
    now = datetime(2025, 6, 6, 15, 45)

    d = ENGINE.evaluate(p, mark(p, -2.0, now), now, 16.0, 100_000.0, False, f0,
                        FakeContext(now))

    assert d is not None and d.reason is ExitReason.TIME_STOP and d.urgent


def test_evaluate_when_real_strangle_short_call_at_25_delta_defends() -> None:
    st = build_strategies(CFG)[2]
    p = simple_position(StrategyKey.FUTURES_STRANGLE, root="CL", expiry=date(2025, 9, 16),
                        legs=((60.0, "P", -1), (90.0, "C", -1)), entry_price=-1.0)
    now = datetime(2025, 7, 1, 11)

    d = ENGINE.evaluate(p, mark(p, -1.2, now, deltas=(-0.02, 0.26)), now, 20.0, 100_000.0,
                        False, st, FakeContext(now))

    assert d is not None and d.reason is ExitReason.DEFENCE and "0.260" in d.detail


def test_evaluate_when_manage_raises_generic_rules_still_apply() -> None:
    class Raising(RulesStrategy):
        def manage(self, position: Position, mark: PositionMark,
                   ctx: StrategyContext) -> ExitDecision | None:
            raise ValueError("bad meta")

    engine = ExitEngine(CFG)
    p = pos()
    now = at(EXPIRY - timedelta(days=10), 11)

    d = engine.evaluate(p, mark(p, -1.8, now), now, 16.0, 1e5, False,
                        Raising(ExitRules(dte_exit=21)), FakeContext(now))

    assert reason(d) is ExitReason.DTE_RULE
    assert engine.manage_errors and "bad meta" in engine.manage_errors[0]
