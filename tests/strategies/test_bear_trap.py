"""SPEC §8.6 bear_trap on hand-built SPY chains."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from config.enums import Phase, Regime, Right
from strategies.bear_trap import BearTrap
from strategies.types import Skip, TradeIdea
from tests.strategies.builders import CFG, FakeContext, at, position_from, raw_chain

DAY = date(2025, 6, 4)
NOW = at(DAY, 10)
SPEC = CFG.strategies.bear_trap
STRAT = BearTrap(CFG)
RULE = "bear_trap.entry"


def ctx(skew: float = 0.8, **kw: Any) -> FakeContext:
    raw = raw_chain("SPY", NOW, [DAY + timedelta(days=d) for d in (44, 58, 72)], 550.0,
                    vol=0.22, skew=skew, width=0.35)
    base: dict[str, Any] = {"phase": Phase.P3, "vix": 22.0, "regime": Regime.ELEVATED,
                            "chains": {"SPY": raw}}
    base.update(kw)
    return FakeContext(NOW, **base)


def idea_of(c: FakeContext) -> TradeIdea:
    got = STRAT.on_rule(RULE, c)
    assert isinstance(got, TradeIdea), got
    return got


def skip_of(c: FakeContext) -> Skip:
    got = STRAT.on_rule(RULE, c)
    assert isinstance(got, Skip), got
    return got


def test_entry_when_vix_in_band_builds_put_1_1_2_credit() -> None:
    idea = idea_of(ctx())

    long_, short, naked = idea.legs
    assert [leg.ratio for leg in idea.legs] == [1, -1, -2]
    assert all(leg.contract.right is Right.PUT for leg in idea.legs)
    assert SPEC.long.lo <= abs(long_.delta) <= SPEC.long.hi
    assert SPEC.short.lo <= abs(short.delta) <= SPEC.short.hi
    assert SPEC.naked.lo <= abs(naked.delta) <= SPEC.naked.hi
    assert long_.contract.strike > short.contract.strike > naked.contract.strike
    assert SPEC.dte.lo <= (idea.expiry - DAY).days <= SPEC.dte.hi
    assert idea.net_mid < 0 and idea.max_loss_per_unit is None


@pytest.mark.parametrize("vix", [17.9, 35.1])
def test_entry_when_vix_outside_band_skips(vix: float) -> None:
    assert skip_of(ctx(vix=vix)).reason == "vix_out_of_band"


def test_entry_when_vix_at_band_edges_trades() -> None:
    assert idea_of(ctx(vix=18.0)).key == idea_of(ctx(vix=35.0, regime=Regime.CRISIS)).key


def test_entry_when_phase_2_skips_phase_locked() -> None:
    assert skip_of(ctx(phase=Phase.P2)).reason == "phase_locked"


def test_entry_when_one_open_skips_cap_reached() -> None:
    c = ctx()
    c.open_positions.append(position_from(idea_of(c), NOW - timedelta(days=3)))

    assert skip_of(c).reason == "cap_reached"


def test_entry_when_flat_skew_skips_not_a_credit() -> None:
    assert skip_of(ctx(skew=0.0)).reason == "not_a_credit"


def test_entry_when_stale_underlying_skips() -> None:
    raw = raw_chain("SPY", NOW, [DAY + timedelta(days=58)], 550.0, vol=0.22, skew=0.8,
                    width=0.35, underlying_age=timedelta(minutes=10))

    assert skip_of(ctx(chains={"SPY": raw})).reason == "stale_underlying"


def test_entry_when_one_expiry_only_outside_window_skips() -> None:
    raw = raw_chain("SPY", NOW, [DAY + timedelta(days=30)], 550.0, vol=0.22, skew=0.8,
                    width=0.35)

    assert skip_of(ctx(chains={"SPY": raw}, filter_dte=False)).reason == "no_expiry_in_window"
