"""SPEC §8.5 leap_put_ladder on hand-built SPY chains."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from config.enums import Phase, Regime, Right
from strategies.leap_put_ladder import LeapPutLadder
from strategies.types import Skip, TradeIdea
from tests.strategies.builders import (
    CFG,
    FakeContext,
    at,
    keep_rows,
    position_from,
    raw_chain,
    snapshot,
)

SPEC = CFG.strategies.leap_put_ladder
STRAT = LeapPutLadder(CFG)
RULE = "leap_put_ladder.entry"


def ctx(day: date = date(2025, 6, 9), **kw: Any) -> FakeContext:
    now = at(day, 10)
    raw = raw_chain("SPY", now, [day + timedelta(days=d) for d in (300, 365, 420)], 550.0,
                    vol=0.2, skew=0.2, width=0.6)
    base: dict[str, Any] = {"phase": Phase.P2, "vix": 17.0, "chains": {"SPY": raw}}
    base.update(kw)
    return FakeContext(now, **base)


def idea_of(c: FakeContext) -> TradeIdea:
    got = STRAT.on_rule(RULE, c)
    assert isinstance(got, TradeIdea), got
    return got


def skip_of(c: FakeContext) -> Skip:
    got = STRAT.on_rule(RULE, c)
    assert isinstance(got, Skip), got
    return got


@pytest.mark.parametrize(("monday", "target", "week"), [
    (date(2025, 6, 2), 0.12, 1), (date(2025, 6, 9), 0.13, 2), (date(2025, 6, 16), 0.14, 3),
    (date(2025, 6, 23), 0.12, 4), (date(2025, 6, 30), 0.12, 5),
])
def test_target_delta_when_week_of_month_follows_table(monday: date, target: float,
                                                       week: int) -> None:
    assert STRAT.target_delta(monday, 0) == (target, week)


def test_target_delta_when_holiday_tuesday_keeps_mondays_week() -> None:
    assert STRAT.target_delta(date(2025, 5, 27), 0) == (0.12, 4)  # Memorial Day Monday 26th


def test_entry_when_monday_sells_one_put_a_year_out_in_range() -> None:
    idea = idea_of(ctx())

    (leg,) = idea.legs
    assert leg.contract.right is Right.PUT and leg.ratio == -1
    assert SPEC.delta_lo <= abs(leg.delta) <= SPEC.delta_hi
    assert SPEC.dte.lo <= (idea.expiry - date(2025, 6, 9)).days <= SPEC.dte.hi
    assert idea.structure == "short_put" and idea.net_mid < 0
    assert idea.size_factor == 1.0 and idea.max_loss_per_unit is None
    assert "week 2" in idea.reason


def test_entry_when_third_monday_delta_nearer_14() -> None:
    second = idea_of(ctx(date(2025, 6, 9))).legs[0].delta
    third = idea_of(ctx(date(2025, 6, 16))).legs[0].delta

    assert abs(third) > abs(second)


def test_entry_when_vix_below_skip_level_skips_the_week() -> None:
    assert skip_of(ctx(vix=14.9)).reason == "vix_below_min"


def test_entry_when_vix_above_double_level_doubles_size() -> None:
    assert idea_of(ctx(vix=20.5, regime=Regime.ELEVATED)).size_factor == 2.0
    assert idea_of(ctx(vix=20.0, regime=Regime.ELEVATED)).size_factor == 1.0


def test_entry_when_phase_1_skips_phase_locked() -> None:
    assert skip_of(ctx(phase=Phase.P1)).reason == "phase_locked"


@pytest.mark.parametrize(("phase", "cap"), [(Phase.P2, 4), (Phase.P3, 6), (Phase.P4, 10)])
def test_entry_when_cap_reached_skips(phase: Phase, cap: int) -> None:
    c = ctx(phase=phase)
    one = idea_of(c)
    c.open_positions += [position_from(one, at(date(2025, 6, 2), 10)) for _ in range(cap - 1)]
    assert isinstance(STRAT.on_rule(RULE, c), TradeIdea)
    c.open_positions.append(position_from(one, at(date(2025, 6, 2), 10)))

    assert skip_of(c).reason == "cap_reached"


def test_entry_when_no_leap_expiry_skips() -> None:
    now = at(date(2025, 6, 9), 10)
    raw = raw_chain("SPY", now, [date(2025, 6, 9) + timedelta(days=200)], 550.0, width=0.6)

    assert skip_of(ctx(chains={"SPY": raw}, filter_dte=False)).reason == "no_expiry_in_window"


def test_entry_when_strikes_missing_around_target_skips() -> None:
    day = date(2025, 6, 9)
    raw = ctx(day).chains["SPY"]
    snap = snapshot(raw, at(day, 10))
    near = snap.usable & ~snap.is_call & (np.abs(snap.delta) >= SPEC.delta_lo - 0.01) & (
        np.abs(snap.delta) <= SPEC.delta_hi + 0.01)
    gone = np.isin(raw.strike, snap.strike[near]) & ~raw.is_call

    s = skip_of(ctx(day, chains={"SPY": keep_rows(raw, ~gone)}))

    assert s.reason == "no_strike_in_delta_range" and "short put" in s.detail
