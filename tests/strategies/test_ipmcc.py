"""SPEC §8.4 ipmcc: LEAP entry, weekly calls by the EMA rule, rolls, and management."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from config.enums import Phase, Right, StrategyKey
from config.model import ExitRules
from execution.types import ExitReason, Position
from strategies.ipmcc import Ipmcc
from strategies.meta import UNDERLYING_KEY, leg_price_key
from strategies.types import FloatArray, Skip, TradeIdea
from tests.strategies.builders import (
    CFG,
    FakeContext,
    at,
    config,
    mark,
    position_from,
    raw_chain,
    rising,
    simple_position,
)

CFG0 = config(risk_free_rate="0.0")  # with r = 4% a 365-DTE 80Δ call carries > 5% extrinsic
SPEC = CFG0.strategies.ipmcc
STRAT = Ipmcc(CFG0)
WED = date(2025, 5, 7)
FRI = date(2025, 6, 6)


def leap_ctx(**kw: Any) -> FakeContext:
    chains = {r: raw_chain(r, at(WED, 10), [WED + timedelta(days=d) for d in (250, 365, 500)],
                           450.0, vol=0.2, width=0.5, r=0.0) for r in ("QQQ", "SPY")}
    base: dict[str, Any] = {"phase": Phase.P1, "config": CFG0, "chains": chains,
                            "prices": {"QQQ": 450.0, "SPY": 450.0},
                            "closes": {"QQQ": rising(252, 400.0, 0.3),
                                       "SPY": rising(252, 400.0, 0.3)}}
    base.update(kw)
    return FakeContext(at(WED, 10), **base)


def leap_position(units: int = 2) -> Position:
    idea = STRAT.on_rule("ipmcc.entry", leap_ctx())
    assert isinstance(idea, TradeIdea)
    return position_from(idea, at(WED, 10, 5), units=units, position_id="leap1")


def call_ctx(closes: FloatArray, price: float = 450.0, **kw: Any) -> FakeContext:
    now = at(FRI, 9, 45)
    raw = raw_chain("QQQ", now, [FRI, FRI + timedelta(days=7), FRI + timedelta(days=14)],
                    450.0, vol=0.2, width=0.1, r=0.0)
    base: dict[str, Any] = {"phase": Phase.P1, "config": CFG0, "chains": {"QQQ": raw},
                            "prices": {"QQQ": price}, "closes": {"QQQ": closes},
                            "open_positions": [leap_position()]}
    base.update(kw)
    return FakeContext(now, **base)


def call_idea(c: FakeContext) -> TradeIdea:
    got = STRAT.on_rule("ipmcc.call", c)
    assert isinstance(got, TradeIdea), got
    return got


def test_entry_when_no_leap_buys_80_delta_call_a_year_out() -> None:
    idea = STRAT.on_rule("ipmcc.entry", leap_ctx())

    assert isinstance(idea, TradeIdea)
    (leg,) = idea.legs
    assert idea.structure == "leap_call" and idea.root == "QQQ"
    assert leg.contract.right is Right.CALL and leg.ratio == 1
    assert SPEC.leap.lo <= abs(leg.delta) <= SPEC.leap.hi
    assert SPEC.dte.lo <= (idea.expiry - WED).days <= SPEC.dte.hi
    assert idea.net_mid > 0
    assert idea.max_loss_per_unit == pytest.approx(leg.mid * 100)
    extrinsic = leg.mid - (450.0 - leg.contract.strike)
    assert extrinsic <= SPEC.max_extrinsic_fraction * 450.0


def test_entry_when_volatility_makes_extrinsic_large_skips() -> None:
    chains = {"QQQ": raw_chain("QQQ", at(WED, 10), [WED + timedelta(days=365)], 450.0,
                               vol=0.45, width=0.8)}
    got = Ipmcc(CFG).on_rule("ipmcc.entry", leap_ctx(config=CFG, chains=chains))

    assert isinstance(got, Skip) and got.reason == "extrinsic_too_high"


def test_entry_when_only_interest_carry_then_extrinsic_measured_net_of_carry() -> None:
    # r = 4%: a year of carry on an 80-delta strike is ~3.5% of spot by itself; measured over
    # the forward intrinsic S - K e^(-rT) the LEAP passes the 5% extrinsic filter.
    chains = {"QQQ": raw_chain("QQQ", at(WED, 10), [WED + timedelta(days=365)], 450.0,
                               vol=0.2, width=0.5)}
    got = Ipmcc(CFG).on_rule("ipmcc.entry", leap_ctx(config=CFG, chains=chains))

    assert isinstance(got, TradeIdea), got
    (leg,) = got.legs
    assert leg.mid - (450.0 - leg.contract.strike) > SPEC.max_extrinsic_fraction * 450.0


def test_entry_when_phase_2_buys_on_qqq_and_spy() -> None:
    got = STRAT.on_rule_all("ipmcc.entry", leap_ctx(phase=Phase.P2))

    assert got is not None and [o.root for o in got if isinstance(o, TradeIdea)] == [
        "QQQ", "SPY"]


def test_entry_when_root_has_leap_skips_that_root() -> None:
    got = STRAT.on_rule("ipmcc.entry", leap_ctx(open_positions=[leap_position()]))

    assert isinstance(got, Skip) and got.reason == "cap_reached"


def test_entry_when_within_2_percent_of_high_skips() -> None:
    got = STRAT.on_rule("ipmcc.entry", leap_ctx(closes={"QQQ": rising(252, 400.0, 0.2)}))

    assert isinstance(got, Skip) and got.reason == "near_52w_high"


def test_entry_when_no_chain_skips() -> None:
    got = STRAT.on_rule("ipmcc.entry", leap_ctx(chains={}))

    assert isinstance(got, Skip) and got.reason == "no_chain"


@pytest.mark.parametrize(("closes", "price", "strike", "label"), [
    (rising(60, 400.0, 0.8), 450.0, 450.0, "ATM"),            # EMA8 >= EMA21
    (rising(60, 500.0, -0.8), 450.0, 449.0, "1 strike(s) ITM"),  # EMA8 < EMA21
    (np.full(60, 430.0), 450.0, 448.0, "2 strike(s) ITM"),     # price > 2% above EMA8
])
def test_call_when_ema_rule_picks_strike_never_otm(closes: FloatArray, price: float,
                                                   strike: float, label: str) -> None:
    idea = call_idea(call_ctx(closes, price))

    (leg,) = idea.legs
    assert leg.contract.strike == strike and leg.contract.strike <= 450.0
    assert leg.contract.right is Right.CALL and leg.ratio == -1
    assert (idea.expiry - FRI).days == SPEC.call_dte
    assert idea.parent_id == "leap1" and idea.max_units == 2 and idea.replaces is None
    assert idea.net_mid < 0 and label in idea.reason


def test_call_when_short_call_open_rolls_in_one_combo() -> None:
    old = simple_position(StrategyKey.IPMCC, root="QQQ", expiry=FRI,
                          legs=((445.0, "C", -1),), entry_price=-6.0, units=2,
                          structure="short_call", position_id="sc1", parent_id="leap1")
    c = call_ctx(rising(60, 400.0, 0.8))
    c.open_positions.append(old)

    idea = call_idea(c)

    assert [(leg.contract.expiry, leg.contract.strike, leg.ratio) for leg in idea.legs] == [
        (FRI, 445.0, 1), (FRI + timedelta(days=7), 450.0, -1)]
    assert idea.replaces == "sc1" and idea.parent_id == "leap1" and idea.max_units == 2


def test_call_when_good_friday_moves_rule_to_monday_sells_the_coming_friday() -> None:
    monday = date(2025, 4, 21)  # Good Friday 2025-04-18 moved the 9:45 rule here
    now = at(monday, 9, 45)
    raw = raw_chain("QQQ", now, [monday + timedelta(days=d) for d in (1, 3, 4, 7)], 450.0,
                    vol=0.2, width=0.1, r=0.0)
    c = call_ctx(rising(60, 400.0, 0.8), chains={"QQQ": raw})
    c.now = now

    idea = call_idea(c)

    assert idea.expiry == date(2025, 4, 25)


def test_call_when_no_leap_open_skips() -> None:
    got = STRAT.on_rule("ipmcc.call", call_ctx(rising(60, 400.0, 0.8), open_positions=[]))

    assert isinstance(got, Skip) and got.reason == "no_leap_open"


def test_call_when_history_short_skips() -> None:
    got = STRAT.on_rule("ipmcc.call", call_ctx(rising(10, 400.0, 0.8)))

    assert isinstance(got, Skip) and got.reason == "price_history_short"


def test_exit_rules_when_short_call_are_off_and_leap_keeps_config() -> None:
    leap = leap_position()
    short = replace(leap, structure="short_call", parent_id="leap1")

    assert STRAT.exit_rules(leap) == SPEC.common.exits
    assert STRAT.exit_rules(short) == ExitRules()


def _short_call(entry: float = 3.0, s0: float = 450.0) -> Position:
    k = 450.0
    c = simple_position(StrategyKey.IPMCC, root="QQQ", expiry=FRI + timedelta(days=7),
                        legs=((k, "C", -1),), entry_price=-entry, structure="short_call",
                        position_id="sc2", parent_id="leap1")
    return replace(c, meta=((leg_price_key(c.legs[0].contract), repr(entry)),
                            (UNDERLYING_KEY, repr(s0))))


@pytest.mark.parametrize(("mid", "und", "expected"), [
    (0.29, 449.0, ExitReason.PROFIT_TARGET),  # extrinsic 3.00 -> 0.29: > 90% captured
    (0.31, 449.0, None),
    (5.25, 455.0, ExitReason.PROFIT_TARGET),  # ITM: extrinsic 0.25 left of 3.00
    (6.00, 455.0, None),
])
def test_manage_when_short_call_extrinsic_captured_closes(mid: float, und: float,
                                                          expected: ExitReason | None) -> None:
    pos = _short_call()
    c = call_ctx(rising(60, 400.0, 0.8))

    got = STRAT.manage(pos, mark(pos, -mid, at(FRI, 12), leg_mids=[mid], underlying=und), c)

    assert (got.reason if got else None) == expected


def test_manage_when_parent_leap_gone_closes_short_call() -> None:
    pos = _short_call()
    c = call_ctx(rising(60, 400.0, 0.8), open_positions=[])

    got = STRAT.manage(pos, mark(pos, -2.0, at(FRI, 12), leg_mids=[2.0]), c)

    assert got is not None and got.reason is ExitReason.DEFENCE


def test_manage_when_leap_returns_none() -> None:
    leap = leap_position()

    assert STRAT.manage(leap, mark(leap, 80.0, at(FRI, 12)), call_ctx(rising(60, 400, 1))) is None
