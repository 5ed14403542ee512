"""SPEC §8.7 butterfly_0dte on hand-built SPXW 0DTE chains."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from config.enums import Phase, Regime, Right
from strategies.butterfly_0dte import Butterfly0Dte
from strategies.types import Skip, TradeIdea
from tests.strategies.builders import CFG, FakeContext, at, config, position_from, raw_chain

FRI = date(2025, 6, 6)
SPEC = CFG.strategies.butterfly_0dte


def ctx(move: float, **kw: Any) -> FakeContext:
    raw = raw_chain("SPXW", at(FRI, 10, 35), [FRI], 6000.0 * (1 + move), vol=0.14, width=0.03)
    base: dict[str, Any] = {"phase": Phase.P3, "nlv": 200_000.0, "chains": {"SPXW": raw},
                            "prices": {"SPX": 6000.0 * (1 + move)}, "opens": {"SPX": 6000.0}}
    base.update(kw)
    return FakeContext(at(FRI, 10, 30), **base)


def run(c: FakeContext, strat: Butterfly0Dte | None = None,
        baseline: bool = True) -> TradeIdea | Skip | None:
    s = strat or Butterfly0Dte(CFG)
    if baseline:
        assert s.on_rule("butterfly_0dte.baseline", c) is None
    c.now = at(FRI, 10, 35)
    return s.on_rule("butterfly_0dte.entry", c)


def test_baseline_when_fired_records_price_and_returns_none() -> None:
    s = Butterfly0Dte(CFG)

    got = s.on_rule("butterfly_0dte.baseline", ctx(0.006))

    assert got is None and s.baseline(FRI) == pytest.approx(6036.0)


def test_entry_when_up_move_buys_put_fly_below() -> None:
    idea = run(ctx(0.006))

    assert isinstance(idea, TradeIdea) and idea.structure == "put_butterfly"
    assert [(leg.contract.right, leg.ratio) for leg in idea.legs] == [
        (Right.PUT, 1), (Right.PUT, -2), (Right.PUT, 1)]
    # price 6036: centre 6036 - 10 on the 5-point grid, wings 10 either side
    assert [leg.contract.strike for leg in idea.legs] == [6015.0, 6025.0, 6035.0]
    assert idea.net_mid > 0
    assert idea.max_loss_per_unit == pytest.approx(idea.net_mid * 100)
    assert idea.max_units == int(SPEC.max_weekly_debit_nlv * 200_000 // (idea.net_mid * 100))


def test_entry_when_down_move_buys_call_fly_above() -> None:
    idea = run(ctx(-0.006))

    assert isinstance(idea, TradeIdea) and idea.structure == "call_butterfly"
    assert all(leg.contract.right is Right.CALL for leg in idea.legs)
    # price 5964: centre 5964 + 10 on the 5-point grid
    assert [leg.contract.strike for leg in idea.legs] == [5965.0, 5975.0, 5985.0]
    assert idea.net_mid > 0


def test_entry_when_move_small_skips() -> None:
    got = run(ctx(0.004))

    assert isinstance(got, Skip) and got.reason == "move_below_threshold"


def test_entry_when_no_baseline_skips() -> None:
    got = run(ctx(0.006), baseline=False)

    assert isinstance(got, Skip) and got.reason == "no_baseline"


def test_entry_when_phase_2_skips_phase_locked() -> None:
    got = run(ctx(0.006, phase=Phase.P2))

    assert isinstance(got, Skip) and got.reason == "phase_locked"


def test_entry_when_crisis_regime_skips() -> None:
    got = run(ctx(0.006, regime=Regime.CRISIS))

    assert isinstance(got, Skip) and got.reason == "regime_forbids"


def test_entry_when_weekly_budget_spent_by_open_fly_skips() -> None:
    two_a_week = Butterfly0Dte(config(**{"butterfly_0dte.caps": "0,0,2,2"}))
    first = run(ctx(0.006), two_a_week)
    assert isinstance(first, TradeIdea)
    c = ctx(0.006)
    c.open_positions.append(position_from(first, at(FRI, 10, 36), units=first.max_units or 1))

    got = run(c, two_a_week)

    assert isinstance(got, Skip) and got.reason == "debit_budget_spent"


def test_entry_when_last_weeks_fly_open_budget_is_fresh() -> None:
    two_a_week = Butterfly0Dte(config(**{"butterfly_0dte.caps": "0,0,2,2"}))
    first = run(ctx(0.006), two_a_week)
    assert isinstance(first, TradeIdea)
    c = ctx(0.006)
    c.open_positions.append(position_from(first, at(FRI - timedelta(days=7), 10, 36),
                                          units=first.max_units or 1))

    got = run(c, two_a_week)

    assert isinstance(got, TradeIdea) and got.max_units == first.max_units


def test_entry_when_one_open_skips_cap_reached() -> None:
    first = run(ctx(0.006))
    assert isinstance(first, TradeIdea)
    c = ctx(0.006)
    c.open_positions.append(position_from(first, at(FRI, 10, 36)))

    got = run(c)

    assert isinstance(got, Skip) and got.reason == "cap_reached"


def test_entry_when_small_account_budget_below_one_fly_skips() -> None:
    got = run(ctx(0.006, nlv=20_000.0))

    assert isinstance(got, Skip) and got.reason == "debit_budget_spent"


def test_entry_when_fly_strike_missing_skips() -> None:
    raw = raw_chain("SPXW", at(FRI, 10, 35), [FRI], 6036.0, vol=0.14, width=0.003)

    got = run(ctx(0.006, chains={"SPXW": raw}))

    assert isinstance(got, Skip) and got.reason == "no_strike_at_offset"
