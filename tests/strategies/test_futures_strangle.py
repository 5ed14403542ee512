"""SPEC §8.3 futures_strangle on hand-built futures option chains."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from config.enums import Engine, Phase, Regime, Right, StrategyKey
from strategies.futures_strangle import FuturesStrangle, iv_rank
from strategies.types import FloatArray, Skip, TradeIdea
from tests.strategies.builders import CFG, FakeContext, at, position_from, raw_chain

TUE = date(2025, 6, 10)  # second Tuesday of June 2025
NOW = at(TUE, 10, 15)
RULE = "futures_strangle.entry"
SPEC = CFG.strategies.futures_strangle
STRAT = FuturesStrangle(CFG)
PARAMS = {"CL": (75.0, 0.35, 0.6), "MCL": (75.0, 0.35, 0.6),
          "GC": (2300.0, 0.15, 0.35), "MGC": (2300.0, 0.15, 0.35)}


def high_rank(n: int = 252) -> FloatArray:
    out: FloatArray = np.r_[np.linspace(0.20, 0.30, n - 1), 0.29]
    return out


def ctx(**kw: Any) -> FakeContext:
    chains = {root: raw_chain(root, NOW, [TUE + timedelta(days=d) for d in (60, 90, 120)],
                              spot, vol=vol, width=width)
              for root, (spot, vol, width) in PARAMS.items()}
    base: dict[str, Any] = {"phase": Phase.P1, "chains": chains,
                            "iv_history": {root: high_rank() for root in PARAMS}}
    base.update(kw)
    return FakeContext(NOW, **base)


def test_entry_when_phase_1_sells_strangles_on_micro_crude_and_gold() -> None:
    got = STRAT.on_rule_all(RULE, ctx())

    assert got is not None and [o.root for o in got if isinstance(o, TradeIdea)] == [
        "MCL", "MGC"]
    for idea in got:
        assert isinstance(idea, TradeIdea)
        put, call = idea.legs
        assert (put.contract.right, put.ratio, call.contract.right, call.ratio) == (
            Right.PUT, -1, Right.CALL, -1)
        assert SPEC.put.lo <= abs(put.delta) <= SPEC.put.hi
        assert SPEC.call.lo <= abs(call.delta) <= SPEC.call.hi
        assert SPEC.dte.lo <= (idea.expiry - TUE).days <= SPEC.dte.hi
        assert idea.net_mid < 0 and idea.max_loss_per_unit is None


def test_on_rule_when_several_roots_returns_first_idea() -> None:
    got = STRAT.on_rule(RULE, ctx())

    assert isinstance(got, TradeIdea) and got.root == "MCL"


def test_entry_when_phase_3_uses_full_size_roots_and_skips_missing_chains() -> None:
    hist = {root: high_rank() for root in ("CL", "GC", "ZB", "6E")}

    got = STRAT.on_rule_all(RULE, ctx(phase=Phase.P3, iv_history=hist))

    assert got is not None and len(got) == 4
    ideas = [o.root for o in got if isinstance(o, TradeIdea)]
    skips = [o.reason for o in got if isinstance(o, Skip)]
    assert ideas == ["CL", "GC"]
    assert skips == ["no_chain", "no_chain"]


def test_entry_when_lean_phase_1_skips_micro_roots_as_unavailable() -> None:
    got = STRAT.on_rule_all(RULE, ctx(engine=Engine.LEAN))

    assert got is not None
    assert all(isinstance(o, Skip) and o.reason == "instrument_unavailable" for o in got)
    assert "MCL" in got[0].detail and "lean" in got[0].detail  # type: ignore[union-attr]


def test_entry_when_root_already_open_skips_that_root_only() -> None:
    c = ctx()
    first = STRAT.on_rule(RULE, c)
    assert isinstance(first, TradeIdea)
    c.open_positions.append(position_from(first, NOW - timedelta(days=30)))

    got = STRAT.on_rule_all(RULE, c)

    assert got is not None
    assert isinstance(got[0], Skip) and got[0].reason == "cap_reached"
    assert isinstance(got[1], TradeIdea) and got[1].root == "MGC"


def test_entry_when_phase_cap_reached_counts_ideas_of_this_run() -> None:
    c = ctx()
    first = STRAT.on_rule(RULE, c)
    assert isinstance(first, TradeIdea)
    other = position_from(first, NOW - timedelta(days=30))
    c.open_positions.append(replace(other, root="CL"))

    got = STRAT.on_rule_all(RULE, c)

    assert got is not None
    assert isinstance(got[0], TradeIdea)
    assert isinstance(got[1], Skip) and got[1].reason == "cap_reached"


@pytest.mark.parametrize(("regime", "reason"), [(Regime.CALM, "regime_forbids"),
                                               (Regime.HIGH, "regime_forbids"),
                                               (Regime.CRISIS, "regime_forbids"),
                                               (Regime.UNKNOWN, "vix_unknown")])
def test_entry_when_regime_excludes_strangles_skips(regime: Regime, reason: str) -> None:
    got = STRAT.on_rule(RULE, ctx(regime=regime))

    assert isinstance(got, Skip) and got.reason == reason
    assert got.key is StrategyKey.FUTURES_STRANGLE


def test_entry_when_iv_rank_low_skips() -> None:
    low = np.r_[np.linspace(0.20, 0.30, 251), 0.22]

    got = STRAT.on_rule(RULE, ctx(iv_history={"MCL": low, "MGC": low}))

    assert isinstance(got, Skip) and got.reason == "iv_rank_low"


def test_entry_when_iv_history_short_skips() -> None:
    short = high_rank(100)

    got = STRAT.on_rule(RULE, ctx(iv_history={"MCL": short, "MGC": short}))

    assert isinstance(got, Skip) and got.reason == "iv_history_short"


def test_entry_when_no_expiry_near_90_dte_skips() -> None:
    chains = {r: raw_chain(r, NOW, [TUE + timedelta(days=30)], 75.0, vol=0.35, width=0.6)
              for r in ("MCL", "MGC")}

    got = STRAT.on_rule(RULE, ctx(chains=chains, filter_dte=False))

    assert isinstance(got, Skip) and got.reason == "no_expiry_in_window"


def test_entry_when_call_range_missed_by_coarse_strikes_skips() -> None:
    chains = {r: raw_chain(r, NOW, [TUE + timedelta(days=90)], 75.0, vol=0.35, width=0.6,
                           strike_step=10.0) for r in ("MCL", "MGC")}

    got = STRAT.on_rule(RULE, ctx(chains=chains))

    assert isinstance(got, Skip) and got.reason == "no_strike_in_delta_range"


def test_iv_rank_when_last_is_max_is_100_and_flat_is_nan() -> None:
    assert iv_rank(np.array([0.1, 0.2, 0.3])) == pytest.approx(100.0)
    assert iv_rank(np.array([0.1, 0.3, 0.2])) == pytest.approx(50.0)
    assert np.isnan(iv_rank(np.array([0.2, 0.2])))
