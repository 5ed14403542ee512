"""SPEC §8.1 friday_0dte on hand-built 0DTE chains."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from config.enums import Engine, Phase, Regime, Right, StrategyKey
from strategies.friday_0dte import Friday0Dte
from strategies.types import Skip, TradeIdea
from tests.strategies.builders import (
    CFG,
    FakeContext,
    at,
    config,
    empty_chain,
    position_from,
    raw_chain,
    with_columns,
)

FRI = date(2025, 6, 6)
NOW = at(FRI, 10, 30)
RULE = "friday_0dte.entry"
SPEC = CFG.strategies.friday_0dte
STRAT = Friday0Dte(CFG)


def ctx(move: float = 0.002, **kw: Any) -> FakeContext:
    chains = {root: raw_chain(root, NOW, [FRI, FRI + timedelta(days=7)], spot, vol=0.30,
                              width=0.05)
              for root, spot in (("ES", 5000.0), ("MES", 5000.0), ("SPXW", 5000.0))}
    base: dict[str, Any] = {
        "chains": chains,
        "prices": {"ES": 5000.0 * (1 + move), "MES": 5000.0 * (1 + move),
                   "SPX": 5000.0 * (1 + move)},
        "opens": {"ES": 5000.0, "MES": 5000.0, "SPX": 5000.0},
    }
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


def _shorts_in_range(idea: TradeIdea) -> None:
    for leg in idea.legs:
        if leg.ratio < 0:
            assert SPEC.short.lo <= abs(leg.delta) <= SPEC.short.hi


def test_entry_when_move_small_builds_iron_condor() -> None:
    idea = idea_of(ctx(0.002))

    assert idea.structure == "iron_condor"
    assert [(leg.contract.right, leg.ratio) for leg in idea.legs] == [
        (Right.PUT, 1), (Right.PUT, -1), (Right.CALL, -1), (Right.CALL, 1)]
    ks = [leg.contract.strike for leg in idea.legs]
    assert ks[1] - ks[0] == 30.0 and ks[3] - ks[2] == 30.0 and ks[1] < ks[2]
    _shorts_in_range(idea)
    assert idea.expiry == FRI and all(leg.contract.expiry == FRI for leg in idea.legs)
    assert idea.net_mid < 0
    assert idea.multiplier == 50
    assert idea.max_loss_per_unit == pytest.approx((30.0 + idea.net_mid) * 50)


def test_entry_when_move_up_builds_call_credit_spread() -> None:
    idea = idea_of(ctx(0.006))

    assert idea.structure == "call_credit_spread"
    assert [(leg.contract.right, leg.ratio) for leg in idea.legs] == [
        (Right.CALL, -1), (Right.CALL, 1)]
    assert idea.legs[1].contract.strike - idea.legs[0].contract.strike == 30.0
    _shorts_in_range(idea)
    assert idea.net_mid < 0


def test_entry_when_move_down_builds_put_credit_spread() -> None:
    idea = idea_of(ctx(-0.006))

    assert idea.structure == "put_credit_spread"
    assert [(leg.contract.right, leg.ratio) for leg in idea.legs] == [
        (Right.PUT, 1), (Right.PUT, -1)]
    assert idea.legs[1].contract.strike - idea.legs[0].contract.strike == 30.0
    _shorts_in_range(idea)
    assert idea.net_mid < 0
    assert "-0.60%" in idea.reason


@pytest.mark.parametrize(("phase", "units"), [(Phase.P1, 1), (Phase.P2, 2), (Phase.P3, 3),
                                             (Phase.P4, 4)])
def test_entry_when_phase_sets_contract_cap_as_max_units(phase: Phase, units: int) -> None:
    assert idea_of(ctx(phase=phase)).max_units == units


def test_entry_when_nlv_below_micro_threshold_trades_mes() -> None:
    idea = idea_of(ctx(nlv=30_000.0, phase=Phase.P1))

    assert idea.root == "MES" and idea.multiplier == 5
    assert "MES" in idea.reason and "40,000" in idea.reason


def test_entry_when_lean_engine_trades_spxw() -> None:
    idea = idea_of(ctx(engine=Engine.LEAN, nlv=30_000.0))

    assert idea.root == "SPXW" and idea.multiplier == 100
    assert "lean" in idea.reason


def test_entry_when_position_opened_today_skips_cap_reached() -> None:
    c = ctx()
    c.open_positions.append(position_from(idea_of(c), at(FRI, 10, 31)))

    assert skip_of(c).reason == "cap_reached"


def test_entry_when_contract_cap_used_by_open_positions_skips_cap_reached() -> None:
    c = ctx(phase=Phase.P2)
    c.open_positions.append(position_from(idea_of(c), at(FRI - timedelta(days=7), 10, 31),
                                          units=2))

    assert skip_of(c).reason == "cap_reached"


@pytest.mark.parametrize(("regime", "reason"), [(Regime.UNKNOWN, "vix_unknown"),
                                               (Regime.CRISIS, "regime_forbids")])
def test_entry_when_regime_blocks_skips(regime: Regime, reason: str) -> None:
    assert skip_of(ctx(regime=regime)).reason == reason


def test_entry_when_vix_at_no_0dte_level_skips() -> None:
    s = skip_of(ctx(vix=CFG.vix.no_0dte_at_or_above))

    assert s.reason == "vix_too_high" and s.key is StrategyKey.FRIDAY_0DTE


def test_entry_when_no_session_open_skips_no_underlying_price() -> None:
    assert skip_of(ctx(opens={})).reason == "no_underlying_price"


def test_entry_when_no_chain_skips_no_chain() -> None:
    s = skip_of(ctx(chains={}))

    assert s.reason == "no_chain" and s.key is StrategyKey.FRIDAY_0DTE


def test_entry_when_chain_empty_skips_empty_chain() -> None:
    assert skip_of(ctx(chains={"ES": empty_chain("ES", NOW)})).reason == "empty_chain"


def test_entry_when_no_0dte_expiry_skips_no_expiry_in_window() -> None:
    raw = raw_chain("ES", NOW, [FRI + timedelta(days=7)], 5000.0, vol=0.30, width=0.05)

    s = skip_of(ctx(chains={"ES": raw}, filter_dte=False))

    assert s.reason == "no_expiry_in_window"


def test_entry_when_quotes_stale_skips_no_valid_quote() -> None:
    raw = raw_chain("ES", NOW, [FRI], 5000.0, vol=0.30, width=0.05, quote_age=timedelta(hours=1))

    s = skip_of(ctx(chains={"ES": raw}))

    assert s.reason == "no_valid_quote" and "stale_quote" in s.detail


def test_entry_when_underlying_stale_skips() -> None:
    raw = raw_chain("ES", NOW, [FRI], 5000.0, vol=0.30, width=0.05,
                    underlying_age=timedelta(minutes=30))

    assert skip_of(ctx(chains={"ES": raw})).reason == "stale_underlying"


def test_entry_when_strikes_too_coarse_skips_no_strike_in_delta_range() -> None:
    raw = raw_chain("ES", NOW, [FRI], 5000.0, vol=0.30, width=0.05, strike_step=100.0)

    s = skip_of(ctx(chains={"ES": raw}))

    assert s.reason == "no_strike_in_delta_range" and "short put" in s.detail


def test_entry_when_wing_strike_missing_skips_no_strike_at_offset() -> None:
    raw = raw_chain("ES", NOW, [FRI], 5000.0, vol=0.30, width=0.012)

    s = skip_of(ctx(chains={"ES": raw}))

    assert s.reason == "no_strike_at_offset" and "wing" in s.detail


def test_entry_when_short_strikes_have_zero_bid_skips_no_valid_quote() -> None:
    no_spread_check = config(**{"data.spread_check_min_mid": "1000"})
    raw = raw_chain("ES", NOW, [FRI], 5000.0, vol=0.30, width=0.05)
    raw = with_columns(raw, bid=np.zeros(len(raw)))

    s = skip_of(ctx(chains={"ES": raw}, config=no_spread_check))

    assert s.reason == "no_valid_quote" and "no bid" in s.detail


def test_entry_when_zero_bids_with_spread_check_skips_without_trading() -> None:
    raw = raw_chain("ES", NOW, [FRI], 5000.0, vol=0.30, width=0.05)

    put_bids_zero = with_columns(raw, bid=np.where(raw.is_call, raw.bid, 0.0))

    s = skip_of(ctx(chains={"ES": put_bids_zero}))

    assert s.reason == "no_strike_in_delta_range"
    assert "short put" in s.detail and "wide_spread" in s.detail


def test_entry_when_quotes_crossed_skips_no_valid_quote() -> None:
    raw = raw_chain("ES", NOW, [FRI], 5000.0, vol=0.30, width=0.05)

    s = skip_of(ctx(chains={"ES": with_columns(raw, bid=raw.ask + 1.0)}))

    assert s.reason == "no_valid_quote" and "crossed_quote" in s.detail


def test_entry_when_phase_cap_zero_skips_phase_locked() -> None:
    zero_p1 = Friday0Dte(config(**{"friday_0dte.caps": "0,2,3,4"}))

    got = zero_p1.on_rule(RULE, ctx(phase=Phase.P1))

    assert isinstance(got, Skip) and got.reason == "phase_locked"


def test_entry_when_rule_unknown_skips_unknown_rule() -> None:
    got = STRAT.on_rule("friday_0dte.other", ctx())

    assert isinstance(got, Skip) and got.reason == "unknown_rule"
