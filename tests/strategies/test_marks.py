"""mark_position: leg mids, signed deltas from greeks/, validity."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest

from config.enums import StrategyKey
from config.instruments import Contract
from execution.types import Position, Quote
from strategies.marks import leg_iv, legs_iv, mark_position, mark_positions
from tests.strategies.builders import CFG, simple_position

NOW = datetime(2025, 6, 6, 11, 0)
EXP = date(2025, 7, 18)


def spread() -> Position:
    return simple_position(StrategyKey.BEAR_TRAP, root="SPY", expiry=EXP,
                           legs=((560.0, "P", 1), (540.0, "P", -1), (500.0, "P", -2)))


def quotes(mids: tuple[float, ...], when: datetime = NOW) -> dict[Contract, Quote | None]:
    p = spread()
    return {leg.contract: Quote(m - 0.05, m + 0.05, when)
            for leg, m in zip(p.legs, mids, strict=True)}


def und(price: float | None = 550.0) -> dict[Contract, float | None]:
    return {leg.contract: price for leg in spread().legs}


def test_mark_when_quotes_good_sums_ratio_times_mid_and_signs_deltas() -> None:
    p = spread()

    m = mark_position(p, quotes((18.0, 9.0, 2.0)), und(), NOW, CFG)

    assert m.valid
    assert m.net_mid == pytest.approx(18.0 - 9.0 - 4.0)
    assert all(leg.delta < 0 for leg in m.legs)
    assert abs(m.legs[0].delta) > abs(m.legs[1].delta) > abs(m.legs[2].delta)
    assert m.underlying_price == 550.0 and m.now == NOW


def test_mark_when_a_quote_missing_is_invalid() -> None:
    p = spread()
    q = quotes((18.0, 9.0, 2.0))
    q[p.legs[2].contract] = None

    m = mark_position(p, q, und(), NOW, CFG)

    assert not m.valid and math.isnan(m.net_mid)


def test_mark_when_quotes_stale_is_invalid() -> None:
    stale = quotes((18.0, 9.0, 2.0), NOW - timedelta(minutes=30))

    m = mark_position(spread(), stale, und(), NOW, CFG)

    assert not m.valid


def test_mark_when_iv_unsolvable_delta_nan_and_invalid() -> None:
    m = mark_position(spread(), quotes((1.0, 9.0, 2.0)), und(), NOW, CFG)

    assert not m.valid and math.isnan(m.legs[0].delta)
    assert not math.isnan(m.legs[1].delta)


def test_mark_when_underlying_missing_is_invalid() -> None:
    m = mark_position(spread(), quotes((18.0, 9.0, 2.0)), und(None), NOW, CFG)

    assert not m.valid


def test_mark_when_far_leg_has_zero_bid_stays_valid() -> None:
    p = spread()
    q = quotes((18.0, 9.0, 2.0))
    q[p.legs[2].contract] = Quote(0.0, 0.06, NOW)

    m = mark_position(p, q, und(), NOW, CFG)

    assert m.valid and m.legs[2].mid == pytest.approx(0.03)


def test_leg_iv_when_quote_good_solves_and_when_bad_returns_none() -> None:
    p = spread()
    c = p.legs[1].contract

    iv = leg_iv(c, Quote(8.95, 9.05, NOW), 550.0, NOW, CFG)

    assert iv is not None and 0.05 < iv < 1.0
    assert leg_iv(c, Quote(9.05, 8.95, NOW), 550.0, NOW, CFG) is None
    assert leg_iv(c, Quote(8.95, 9.05, NOW - timedelta(hours=1)), 550.0, NOW, CFG) is None
    assert leg_iv(c, Quote(8.95, 9.05, NOW), math.nan, NOW, CFG) is None
    assert leg_iv(p.legs[0].contract, Quote(0.95, 1.05, NOW), 550.0, NOW, CFG) is None


def test_mark_positions_when_batched_with_futures_positions_then_equal_to_one_by_one() -> None:
    spy = spread()
    es = simple_position(StrategyKey.LT112, root="ES", expiry=EXP,
                         legs=((5400.0, "P", 1), (5350.0, "P", -1), (4800.0, "P", -2)))
    q = quotes((18.0, 9.0, 2.0)) | {leg.contract: Quote(m - 0.25, m + 0.25, NOW)
                                    for leg, m in zip(es.legs, (60.0, 45.0, 8.0), strict=True)}
    u = und() | {leg.contract: 5500.0 for leg in es.legs}

    batch = mark_positions((spy, es), q, u, NOW, CFG)

    for p in (spy, es):
        assert batch[p.position_id] == mark_position(p, q, u, NOW, CFG)
        assert batch[p.position_id].valid


def test_legs_iv_when_batched_then_equal_to_leg_iv_and_bad_quotes_left_out() -> None:
    p = spread()
    q = quotes((18.0, 9.0, 2.0))
    bad = p.legs[2].contract
    q[bad] = None

    ivs = legs_iv([leg.contract for leg in p.legs], q, und(), NOW, CFG)

    assert bad not in ivs
    for leg in p.legs[:2]:
        quote = q[leg.contract]
        assert quote is not None
        assert ivs[leg.contract] == pytest.approx(leg_iv(leg.contract, quote, 550.0, NOW, CFG))


def test_mark_positions_when_delta_not_needed_then_nan_deltas_and_valid_from_quotes() -> None:
    p = spread()

    marks = mark_positions((p,), quotes((18.0, 9.0, 2.0)), und(), NOW, CFG,
                           need_delta=lambda _pos: False)

    m = marks[p.position_id]
    assert m.valid
    assert all(math.isnan(leg.delta) for leg in m.legs)
    assert m.net_mid == pytest.approx(18.0 - 9.0 - 4.0)
