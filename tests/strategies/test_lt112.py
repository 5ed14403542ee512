"""SPEC §8.2 lt112: entry on hand-built chains and the naked-pair management."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from config.enums import Engine, Phase, Regime, Right, StrategyKey
from execution.types import ExitReason, Position, PositionLeg
from strategies.lt112 import Lt112
from strategies.meta import leg_price_key
from strategies.types import Skip, TradeIdea
from tests.strategies.builders import (
    CFG,
    FakeContext,
    at,
    keep_rows,
    mark,
    position_from,
    raw_chain,
    rising,
)

WED = date(2025, 5, 7)  # first Wednesday of May 2025 is the 7th
NOW = at(WED, 10)
SPEC = CFG.strategies.lt112
STRAT = Lt112(CFG)
DTES = (93, 121, 142, 184)


def chain(root: str = "ES", dtes: tuple[int, ...] = DTES, **kw: Any) -> Any:
    args: dict[str, Any] = {"vol": 0.18, "skew": 0.3, "width": 0.4}
    args.update(kw)
    return raw_chain(root, NOW, [WED + timedelta(days=d) for d in dtes], 5000.0, **args)


def ctx(**kw: Any) -> FakeContext:
    base: dict[str, Any] = {
        "phase": Phase.P3,
        "chains": {"ES": chain("ES"), "MES": chain("MES")},
        "prices": {"ES": 5000.0, "MES": 5000.0},
        "closes": {"ES": rising(252, 4800.0, 1.6), "MES": rising(252, 4800.0, 1.6)},
    }
    base.update(kw)
    return FakeContext(NOW, **base)


def run(c: FakeContext, rule: str = "lt112.entry") -> TradeIdea | Skip | None:
    return STRAT.on_rule(rule, c)


def idea_of(c: FakeContext, rule: str = "lt112.entry") -> TradeIdea:
    got = run(c, rule)
    assert isinstance(got, TradeIdea), got
    return got


def skip_of(c: FakeContext, rule: str = "lt112.entry") -> Skip:
    got = run(c, rule)
    assert isinstance(got, Skip), got
    return got


def test_entry_when_first_wednesday_builds_1_1_2_in_ranges() -> None:
    idea = idea_of(ctx())

    long_, short, naked = idea.legs
    assert [leg.ratio for leg in idea.legs] == [1, -1, -2]
    assert all(leg.contract.right is Right.PUT for leg in idea.legs)
    assert SPEC.long.lo <= abs(long_.delta) <= SPEC.long.hi
    assert SPEC.naked.lo <= abs(naked.delta) <= SPEC.naked.hi
    assert long_.contract.strike - short.contract.strike == SPEC.spread_width_points
    assert naked.contract.strike < short.contract.strike
    assert (idea.expiry - WED).days == 121
    assert idea.net_mid < 0
    assert idea.max_loss_per_unit is None
    assert idea.root == "ES" and idea.multiplier == 50


def test_entry_when_phase_2_trades_mes() -> None:
    idea = idea_of(ctx(phase=Phase.P2))

    assert idea.root == "MES" and idea.multiplier == 5


def test_entry_when_phase_1_skips_phase_locked() -> None:
    assert skip_of(ctx(phase=Phase.P1)).reason == "phase_locked"


def test_entry_extra_when_phase_3_skips_phase_locked_and_phase_4_trades() -> None:
    assert skip_of(ctx(phase=Phase.P3), "lt112.entry_extra").reason == "phase_locked"
    assert idea_of(ctx(phase=Phase.P4), "lt112.entry_extra").key is StrategyKey.LT112


def test_entry_when_lean_phase_2_skips_instrument_unavailable() -> None:
    s = skip_of(ctx(phase=Phase.P2, engine=Engine.LEAN))

    assert s.reason == "instrument_unavailable"
    assert "MES" in s.detail and "lean" in s.detail


def test_entry_when_crisis_regime_still_allows_short_put_structure() -> None:
    assert idea_of(ctx(regime=Regime.CRISIS)).structure == "put_112"


def test_entry_when_vix_unknown_skips() -> None:
    assert skip_of(ctx(regime=Regime.UNKNOWN)).reason == "vix_unknown"


def test_entry_when_price_near_52_week_high_skips() -> None:
    s = skip_of(ctx(closes={"ES": rising(252, 4800.0, 0.8)}))

    assert s.reason == "near_52w_high"


def test_entry_when_no_price_history_skips() -> None:
    assert skip_of(ctx(closes={})).reason == "price_history_short"


def test_entry_when_cap_reached_skips() -> None:
    c = ctx(phase=Phase.P2)
    first = idea_of(c)
    c.open_positions += [position_from(first, NOW), position_from(first, NOW)]

    assert skip_of(c).reason == "cap_reached"


def test_entry_when_nearest_expiry_taken_uses_another_in_window() -> None:
    c = ctx()
    c.open_positions.append(position_from(idea_of(c), NOW - timedelta(days=14)))

    idea = idea_of(c)

    assert (idea.expiry - WED).days == 142
    assert "widened" in idea.reason


def test_entry_when_only_expiry_taken_skips_expiry_taken() -> None:
    c = ctx(chains={"ES": chain("ES", (121,))})
    c.open_positions.append(position_from(idea_of(c), NOW - timedelta(days=14)))

    assert skip_of(c).reason == "expiry_taken"


def test_entry_when_only_quarterly_beyond_normal_window_widens() -> None:
    idea = idea_of(ctx(chains={"ES": chain("ES", (93, 145))}))

    assert (idea.expiry - WED).days == 145
    assert "widened" in idea.reason


def test_entry_when_no_expiry_in_any_window_skips() -> None:
    s = skip_of(ctx(chains={"ES": chain("ES", (60, 200))}, filter_dte=False))

    assert s.reason == "no_expiry_in_window"


def test_entry_when_no_chain_skips() -> None:
    assert skip_of(ctx(chains={})).reason == "no_chain"


def test_entry_when_naked_strikes_missing_skips_no_strike_in_delta_range() -> None:
    s = skip_of(ctx(chains={"ES": chain("ES", width=0.1)}))

    assert s.reason == "no_strike_in_delta_range" and "naked put" in s.detail


def test_entry_when_short_strike_missing_skips_no_strike_at_offset() -> None:
    short_k = idea_of(ctx()).legs[1].contract.strike
    raw = chain("ES")

    s = skip_of(ctx(chains={"ES": keep_rows(raw, raw.strike != short_k)}))

    assert s.reason == "no_strike_at_offset" and "short put" in s.detail


def test_entry_when_naked_puts_cheap_skips_not_a_credit() -> None:
    s = skip_of(ctx(chains={"ES": chain("ES", skew=-0.6)}))

    assert s.reason == "not_a_credit"


def _open(credit_each: float = 15.75) -> tuple[Position, PositionLeg]:
    c = ctx()
    pos = position_from(idea_of(c), NOW)
    naked = pos.legs[2]
    meta = tuple((k, v) for k, v in pos.meta if k != leg_price_key(naked.contract))
    return replace(pos, meta=(*meta, (leg_price_key(naked.contract), repr(credit_each)))), naked


@pytest.mark.parametrize(("naked_mid", "expected"), [
    (1.5, ExitReason.PROFIT_TARGET),   # pair worth 3.0 of a 31.5 credit: 90% kept
    (1.6, None),                       # 3.2 <= 3.15? no
    (47.25, ExitReason.STOP_LOSS),     # pair worth 94.5 = 3 x 31.5
    (47.0, None),
])
def test_manage_when_naked_pair_moves_decides(naked_mid: float,
                                               expected: ExitReason | None) -> None:
    pos, naked = _open(15.75)
    m = mark(pos, -1.0, NOW, leg_mids=[80.0, 70.0, naked_mid])

    got = STRAT.manage(pos, m, ctx())

    assert (got.reason if got else None) == expected
    if got is not None and expected is ExitReason.PROFIT_TARGET:
        assert got.legs == (naked,) and not got.urgent
    if got is not None and expected is ExitReason.STOP_LOSS:
        assert got.legs == () and got.urgent


def test_manage_when_pair_credit_unknown_returns_none() -> None:
    pos, _ = _open()
    bare = replace(pos, meta=())

    assert STRAT.manage(bare, mark(bare, -1.0, NOW, leg_mids=[80.0, 70.0, 0.1]), ctx()) is None


def test_manage_when_naked_pair_already_closed_returns_none() -> None:
    pos, _ = _open()
    spread_only = replace(pos, legs=pos.legs[:2])

    assert STRAT.manage(spread_only, mark(spread_only, 10.0, NOW), ctx()) is None
