"""Correlation limiter: root mapping, group/phase/combined limits, crisis cut, same expiry (§4)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.enums import Phase, Right, StrategyKey
from config.instruments import Contract
from execution.types import Position
from risk.correlation import CorrelationLimiter
from tests.risk.builders import EXPIRY, cfg, position

LIM = CorrelationLimiter(cfg())


def exp(n: int) -> date:
    return EXPIRY + timedelta(days=7 * n)


@pytest.mark.parametrize(("given_root", "root"), [
    ("ES", "ES"), ("MES", "MES"), ("/CL", "CL"), (" spy ", "SPY"), ("SPXW", "SPX"),
    ("SPX", "SPX"), ("GC", "GC"), ("6E", "6E"), ("NG", "NG"), ("XYZ", None), ("", None),
    (Contract("ES", EXPIRY, 5000.0, Right.PUT), "ES"),
    (Contract("ES", EXPIRY, 0.0, None), "ES"),
    (Contract("SPXW", EXPIRY, 5000.0, Right.CALL), "SPX"),
    (Contract("SPY", EXPIRY, 500.0, Right.PUT), "SPY"),
])
def test_root_of_when_contract_or_root_then_group_table_root(given_root: Contract | str,
                                                             root: str | None) -> None:
    assert LIM.root_of(given_root) == root


def test_check_when_root_unknown_then_rejected_fail_closed() -> None:
    verdict = LIM.check("XYZ", EXPIRY, (), Phase.P4, 16.0)

    assert verdict is not None and (verdict.check, verdict.reason) == ("correlation",
                                                                       "unknown_root")


@pytest.mark.parametrize(("group", "phase", "limit"), [
    (g.name, p, min(g.base_limit, cfg().correlation.phase_limits[int(p) - 1]))
    for g in cfg().correlation.groups for p in Phase
])
def test_limit_when_group_and_phase_then_min_of_base_and_phase(group: str, phase: Phase,
                                                               limit: int) -> None:
    g = next(x for x in cfg().correlation.groups if x.name == group)

    assert LIM.limit(g, phase, 16.0) == limit
    assert LIM.limit(g, phase, 30.0) == max(0, limit - 1)


@pytest.mark.parametrize(("phase", "held", "admitted"), [
    (Phase.P1, 1, True), (Phase.P1, 2, False), (Phase.P4, 2, False),
])
def test_check_when_a1_group_full_then_group_limit(phase: Phase, held: int,
                                                   admitted: bool) -> None:
    book = [position(f"p{i}", "ES", exp(i)) for i in range(held)]

    verdict = LIM.check("MES", exp(9), book, phase, 16.0)

    assert (verdict is None) is admitted
    if not admitted:
        assert verdict is not None and verdict.reason == "group_limit"


@pytest.mark.parametrize(("phase", "held", "reason"), [
    (Phase.P2, 2, "group_limit"), (Phase.P3, 2, None), (Phase.P3, 3, "group_limit"),
])
def test_check_when_a2_in_phase_then_phase_limit_applies(phase: Phase, held: int,
                                                         reason: str | None) -> None:
    book = [position(f"p{i}", "SPY", exp(i)) for i in range(held)]

    verdict = LIM.check("QQQ", exp(9), book, phase, 16.0)

    assert (None if verdict is None else verdict.reason) == reason


def test_check_when_a1_plus_a2_at_combined_limit_then_combined_limit() -> None:
    book = [position("a", "ES", exp(0)), position("b", "ES", exp(1)),
            position("c", "SPY", exp(2))]

    verdict = LIM.check("QQQ", exp(9), book, Phase.P4, 16.0)

    assert verdict is not None and verdict.reason == "combined_limit"
    assert verdict.limit == 3 and verdict.observed == 3


@pytest.mark.parametrize(("vix", "reason"), [
    (29.99, None), (30.0, "group_limit"), (None, "group_limit"), (float("nan"), "group_limit"),
])
def test_check_when_vix_at_crisis_then_every_limit_minus_one(vix: float | None,
                                                             reason: str | None) -> None:
    book = [position("a", "CL", exp(0))]

    verdict = LIM.check("MCL", exp(5), book, Phase.P4, vix)

    assert (None if verdict is None else verdict.reason) == reason


def test_check_when_crisis_on_limit_one_group_then_zero_never_negative() -> None:
    g = next(x for x in cfg().correlation.groups if x.name == "C2")

    verdict = LIM.check("NG", EXPIRY, (), Phase.P4, 45.0)

    assert LIM.limit(g, Phase.P4, 45.0) == 0
    assert verdict is not None and verdict.reason == "group_limit"


def test_check_when_same_group_same_expiry_then_rejected() -> None:
    book = [position("a", "ES", EXPIRY)]

    verdict = LIM.check("MES", EXPIRY, book, Phase.P4, 16.0)

    assert verdict is not None and verdict.reason == "same_group_expiry"


def test_check_when_other_group_same_expiry_then_admitted() -> None:
    book = [position("a", "ES", EXPIRY)]

    assert LIM.check("GC", EXPIRY, book, Phase.P4, 16.0) is None


def test_check_when_position_has_many_legs_then_counts_one() -> None:
    book = [position("a", "ES", exp(0), legs=4)]

    assert LIM.check("ES", exp(3), book, Phase.P1, 16.0) is None


def test_check_when_child_positions_open_then_counted_with_parent() -> None:
    book = [position("leap", "QQQ", exp(40)), position("call1", "QQQ", exp(1), parent_id="leap"),
            position("leap2", "SPY", exp(41))]

    verdict = LIM.check("IWM", exp(42), book, Phase.P3, 16.0)

    assert verdict is None


def test_check_when_new_child_of_open_parent_then_admitted_even_at_limit() -> None:
    book = [position("leap", "QQQ", exp(40)), position("leap2", "SPY", exp(41)),
            position("call", "SPY", exp(1), parent_id="leap2")]

    verdict = LIM.check("QQQ", exp(1), book, Phase.P2, 16.0, parent_id="leap")

    assert verdict is None


def test_check_when_roll_replaces_position_then_replaced_not_counted() -> None:
    book = [position("a", "ES", exp(0)), position("b", "ES", exp(1))]

    assert LIM.check("ES", exp(2), book, Phase.P1, 16.0) is not None
    assert LIM.check("ES", exp(2), book, Phase.P1, 16.0, replaces="b") is None


def test_check_when_open_position_root_unknown_then_rejected() -> None:
    book = [position("a", "ES", exp(0))]
    stray = Position("x", book[0].key, "XYZ", "test", (), 1, book[0].entry_time, -1.0, 100.0,
                     exp(3))

    verdict = LIM.check("GC", exp(5), [*book, stray], Phase.P4, 16.0)

    assert verdict is not None and verdict.reason == "unknown_open_position_root"


ROOTS = ["ES", "MES", "SPX", "SPY", "QQQ", "IWM", "CL", "MCL", "GC", "ZB", "6E", "NG"]
Op = tuple[bool, int, int, int]


@settings(max_examples=60, deadline=None)
@given(
    phase=st.sampled_from(list(Phase)),
    vix=st.sampled_from([12.0, 20.0, 30.0, 45.0]),
    ops=st.lists(st.tuples(st.booleans(), st.integers(0, len(ROOTS) - 1), st.integers(0, 5),
                           st.integers(0, 20)), max_size=40),
)
def test_check_when_any_order_of_requests_and_closes_then_limits_never_exceeded(
        phase: Phase, vix: float, ops: list[Op]) -> None:
    book: list[Position] = []
    for n, (is_open, root_i, exp_i, close_i) in enumerate(ops):
        if is_open:
            root = ROOTS[root_i]
            if LIM.check(root, exp(exp_i), book, phase, vix) is None:
                book.append(position(f"p{n}", root, exp(exp_i)))
        elif book:
            book.pop(close_i % len(book))

        by_group: dict[str, list[Position]] = {}
        for p in book:
            g = LIM.group_of(p.root)
            assert g is not None
            by_group.setdefault(g.name, []).append(p)
        for name, members in by_group.items():
            g = next(x for x in cfg().correlation.groups if x.name == name)
            assert len(members) <= LIM.limit(g, phase, vix)
            assert len({p.expiry for p in members}) == len(members)
        combined = sum(len(by_group.get(name, [])) for name in cfg().correlation.combined_groups)
        assert combined <= LIM.combined_limit(vix)


def test_check_when_ladder_rungs_on_one_root_then_counted_as_one_trade() -> None:
    ladder = StrategyKey.LEAP_PUT_LADDER
    rungs = [position(f"r{i}", "SPY", exp(i), key=ladder) for i in range(5)]
    other = position("q", "QQQ", exp(20))

    # five rungs + one QQQ trade = two trades in A2: a sixth rung joins the ladder and a third
    # A2 trade still fits (A2 limit 3 in phase 4, A1+A2 limit 3)
    assert LIM.check("SPY", exp(6), [*rungs, other], Phase.P4, 16.0, key=ladder) is None
    assert LIM.check("IWM", exp(30), [*rungs, other], Phase.P4, 16.0) is None
    full = [*rungs, other, position("w", "IWM", exp(31))]
    verdict = LIM.check("QQQ", exp(32), full, Phase.P4, 16.0)
    assert verdict is not None and verdict.reason == "group_limit"


def test_check_when_ladder_rung_shares_expiry_with_other_trade_then_rejected() -> None:
    ladder = StrategyKey.LEAP_PUT_LADDER
    book = [position("r0", "SPY", exp(0), key=ladder), position("b", "SPY", exp(3))]

    verdict = LIM.check("SPY", exp(3), book, Phase.P4, 16.0, key=ladder)

    assert verdict is not None and verdict.reason == "same_group_expiry"
