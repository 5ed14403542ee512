"""ChainSnapshot: SPEC §11 validation, greeks from mids, and the §8 delta rule."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.enums import PricingModel, Right
from greeks import black76_greeks, bsm_greeks
from strategies.chain import ChainSnapshot, _by_group
from strategies.quotes import MIN_T_YEARS, solve_greeks, years_to_expiry
from strategies.types import RawChain
from tests.strategies.builders import CFG, at, empty_chain, raw_chain, snapshot, with_columns

DAY = date(2025, 6, 6)
NOW = at(DAY, 10, 30)
EXPS = [DAY + timedelta(days=d) for d in (0, 7, 14, 35)]


@pytest.fixture(scope="module")
def spy() -> ChainSnapshot:
    return snapshot(raw_chain("SPY", NOW, EXPS, 550.0, vol=0.2, skew=0.2, width=0.15), NOW)


def _one(bid: float, ask: float, *, root: str = "SPY", strike: float = 550.0,
         quote_age: timedelta = timedelta(0), und: float = 550.0) -> RawChain:
    return RawChain(root, np.array([DAY + timedelta(days=30)], dtype="datetime64[D]"),
                    np.array([strike]), np.array([False]), np.array([bid]), np.array([ask]),
                    np.array([np.datetime64(NOW - quote_age, "s")]), np.array([und]), NOW)


@pytest.mark.parametrize(("bid", "ask", "age", "reason"), [
    (math.nan, 12.0, 0, "missing_quote"),
    (11.0, math.nan, 0, "missing_quote"),
    (0.0, 0.0, 0, "ask_not_positive"),
    (12.0, 11.0, 0, "crossed_quote"),
    (6.0, 12.0, 0, "wide_spread"),
    (11.9, 12.1, 6, "stale_quote"),
    (40.0, 40.5, 0, "iv_unsolvable"),  # a 600 put with the spot at 550: below intrinsic
])
def test_build_when_quote_unusable_excludes_and_counts_reason(
        bid: float, ask: float, age: int, reason: str) -> None:
    raw = _one(bid, ask, strike=600.0, quote_age=timedelta(minutes=age))

    snap = ChainSnapshot.build(raw, NOW, CFG)


    assert snap.excluded == {reason: 1}
    assert not snap.usable[0]
    assert snap.n_usable == 0


def test_build_when_spread_wide_but_mid_below_check_level_keeps_contract() -> None:
    raw = _one(0.02, 0.08, strike=450.0)

    snap = ChainSnapshot.build(raw, NOW, CFG)

    assert snap.usable[0]
    assert snap.excluded == {}


def test_build_when_bid_zero_usable_to_buy_not_to_sell() -> None:
    raw = _one(0.0, 0.05, strike=450.0)

    snap = ChainSnapshot.build(raw, NOW, CFG)

    assert snap.usable[0] and not snap.sellable[0]


def test_build_when_quote_exactly_max_age_keeps_it() -> None:
    raw = _one(11.9, 12.1, quote_age=timedelta(minutes=CFG.data.max_quote_age_minutes))

    assert ChainSnapshot.build(raw, NOW, CFG).usable[0]


def test_build_when_underlying_stale_flags_snapshot() -> None:
    raw = raw_chain("SPY", NOW, EXPS[:1], 550.0, underlying_age=timedelta(minutes=6))

    assert ChainSnapshot.build(raw, NOW, CFG).stale_underlying
    assert not ChainSnapshot.build(raw, NOW - timedelta(minutes=2), CFG).stale_underlying


def test_build_when_empty_gives_empty_snapshot() -> None:
    snap = ChainSnapshot.build(empty_chain("SPY", NOW), NOW, CFG)

    assert len(snap) == 0 and snap.expiries == ()
    assert snap.expiry_nearest(0, 0, 10) is None


def test_build_when_all_nan_excludes_everything() -> None:
    raw = raw_chain("SPY", NOW, EXPS, 550.0, width=0.05)
    nan = np.full(len(raw), np.nan)

    snap = ChainSnapshot.build(with_columns(raw, bid=nan, ask=nan), NOW, CFG)

    assert snap.n_usable == 0
    assert snap.excluded == {"missing_quote": len(raw)}
    assert snap.by_delta(EXPS[1], Right.PUT, 0.16, 0.0, 1.0) is None


def test_build_when_underlying_missing_excludes_rows() -> None:
    raw = _one(11.9, 12.1, und=math.nan)

    assert ChainSnapshot.build(raw, NOW, CFG).excluded == {"no_underlying": 1}


def test_build_when_equity_root_greeks_are_bsm_with_zero_dividend(spy: ChainSnapshot) -> None:
    row = spy.by_strike(EXPS[2], Right.PUT, 540.0)
    assert row is not None
    t = years_to_expiry(spy.expiry[row:row + 1], NOW)

    g = bsm_greeks(550.0, 540.0, t, CFG.risk_free_rate, 0.0, spy.iv[row:row + 1], False)

    assert spy.delta[row] == pytest.approx(float(np.asarray(g.delta).ravel()[0]), abs=1e-9)
    assert spy.delta[row] < 0


def test_build_when_futures_root_greeks_are_black76() -> None:
    raw = raw_chain("ES", NOW, [DAY + timedelta(days=30)], 5000.0, width=0.05)
    snap = ChainSnapshot.build(raw, NOW, CFG)
    row = snap.by_strike(DAY + timedelta(days=30), Right.CALL, 5100.0)
    assert row is not None
    t = years_to_expiry(snap.expiry[row:row + 1], NOW)

    g = black76_greeks(5000.0, 5100.0, t, CFG.risk_free_rate, snap.iv[row:row + 1], True)

    assert snap.delta[row] == pytest.approx(float(np.asarray(g.delta).ravel()[0]), abs=1e-9)
    assert snap.iv[row] == pytest.approx(0.20, abs=0.01)


def test_build_when_zero_dte_after_close_uses_time_floor() -> None:
    late = at(DAY, 16, 30)
    raw = raw_chain("SPY", NOW, [DAY], 550.0, width=0.02)
    raw = with_columns(raw, quote_time=np.full(len(raw), np.datetime64(late, "s")))

    snap = ChainSnapshot.build(raw, late, CFG)

    assert years_to_expiry(np.array([DAY], dtype="datetime64[D]"), late)[0] == MIN_T_YEARS
    assert np.isfinite(snap.delta[snap.usable]).all()


def test_years_to_expiry_when_intraday_zero_dte_counts_hours() -> None:
    t = years_to_expiry(np.array([DAY], dtype="datetime64[D]"), NOW)[0]

    assert t == pytest.approx(5.5 / (365 * 24))


def test_expiry_nearest_when_several_in_window_takes_nearest_target(spy: ChainSnapshot) -> None:
    assert spy.expiry_nearest(12, 5, 40) == EXPS[2]
    assert spy.expiry_nearest(30, 0, 40) == EXPS[3]
    assert spy.expiry_nearest(10, 20, 30) is None
    assert spy.expiry_nearest(12, 5, 40, exclude=frozenset({EXPS[2]})) == EXPS[1]


def test_by_delta_when_target_inside_range_picks_nearest(spy: ChainSnapshot) -> None:
    row = spy.by_delta(EXPS[2], Right.PUT, 0.16, 0.15, 0.25)

    assert row is not None
    put_rows = np.flatnonzero(spy.usable & ~spy.is_call
                              & (spy.expiry == np.datetime64(EXPS[2], "D")))
    best = put_rows[np.argmin(np.abs(np.abs(spy.delta[put_rows]) - 0.16))]
    assert row == best
    assert spy.right_of(row) is Right.PUT and spy.expiry_of(row) == EXPS[2]


def test_by_delta_when_no_strike_in_range_returns_none() -> None:
    raw = raw_chain("SPY", NOW, [EXPS[2]], 550.0, width=0.2, strike_step=50.0)
    snap = ChainSnapshot.build(raw, NOW, CFG)

    assert snap.by_delta(EXPS[2], Right.PUT, 0.16, 0.15, 0.17) is None


def test_by_delta_when_sellable_skips_zero_bids() -> None:
    raw = raw_chain("SPY", NOW, EXPS, 550.0, vol=0.2, skew=0.2, width=0.15)
    cheap = ~raw.is_call & (raw.ask < 2 * CFG.data.spread_check_min_mid)
    snap = ChainSnapshot.build(with_columns(raw, bid=np.where(cheap, 0.0, raw.bid)), NOW, CFG)

    buy = snap.by_delta(EXPS[2], Right.PUT, 0.0, 0.0, 0.05)
    sell = snap.by_delta(EXPS[2], Right.PUT, 0.0, 0.0, 0.05, sellable=True)

    assert buy is not None and snap.bid[buy] == 0.0
    assert sell is not None and snap.bid[sell] > 0.0
    assert abs(snap.delta[sell]) > abs(snap.delta[buy])


def test_by_delta_when_expiry_unknown_returns_none(spy: ChainSnapshot) -> None:
    assert spy.by_delta(date(2030, 1, 1), Right.CALL, 0.5, 0.0, 1.0) is None


@settings(max_examples=60, deadline=None)
@given(target=st.floats(0.01, 0.99), lo=st.floats(0.0, 1.0), width=st.floats(0.0, 0.5),
       call=st.booleans(), e=st.integers(0, 3), sell=st.booleans())
def test_by_delta_when_any_range_result_is_inside_and_nearest(
        spy: ChainSnapshot, target: float, lo: float, width: float, call: bool, e: int,
        sell: bool) -> None:
    hi = lo + width
    right = Right.CALL if call else Right.PUT

    row = spy.by_delta(EXPS[e], right, target, lo, hi, sellable=sell)

    mask = ((spy.sellable if sell else spy.usable) & (spy.is_call == call)
            & (spy.expiry == np.datetime64(EXPS[e], "D")))
    ad = np.abs(spy.delta)
    inside = np.flatnonzero(mask & (ad >= lo) & (ad <= hi))
    if inside.shape[0] == 0:
        assert row is None
    else:
        assert row is not None and lo <= ad[row] <= hi
        assert abs(ad[row] - target) <= np.min(np.abs(ad[inside] - target)) + 1e-15


def test_by_strike_and_at_offset_when_listed_find_row(spy: ChainSnapshot) -> None:
    row = spy.by_strike(EXPS[1], Right.CALL, 560.0)
    assert row is not None

    up = spy.at_offset(row, 5.0)

    assert up is not None and spy.strike[up] == 565.0
    assert spy.right_of(up) is Right.CALL and spy.expiry_of(up) == EXPS[1]
    assert spy.at_offset(row, 5.3) == up  # rounded to the catalogue's 1-point grid
    assert spy.at_offset(row, 500.0) is None


def test_is_listed_when_unusable_row_still_listed() -> None:
    raw = _one(12.0, 11.0)
    snap = ChainSnapshot.build(raw, NOW, CFG)
    exp = DAY + timedelta(days=30)
    assert snap.by_strike(exp, Right.PUT, 550.0) is None
    assert snap.is_listed(exp, Right.PUT, 550.0)
    assert not snap.is_listed(exp, Right.PUT, 555.0)


def test_leg_and_contract_when_built_carry_row_facts(spy: ChainSnapshot) -> None:
    row = spy.by_strike(EXPS[1], Right.PUT, 545.0)
    assert row is not None

    leg = spy.leg(row, -2)

    assert leg.contract.root == "SPY" and leg.contract.strike == 545.0
    assert leg.contract.right is Right.PUT and leg.contract.expiry == EXPS[1]
    assert leg.ratio == -2 and leg.bid == spy.bid[row] and leg.delta == spy.delta[row]
    assert leg.underlying_price == 550.0


def test_underlying_at_when_expiry_has_rows_returns_price(spy: ChainSnapshot) -> None:
    assert spy.underlying_at(EXPS[0]) == 550.0
    assert spy.underlying_at(date(2030, 1, 1)) is None


def test_build_when_nat_expiry_excludes_row() -> None:
    raw = _one(11.9, 12.1)
    raw = with_columns(raw, expiry=np.array(["NaT"], dtype="datetime64[D]"))

    snap = ChainSnapshot.build(raw, datetime(2025, 6, 6, 10, 30), CFG)

    assert snap.n_usable == 0 and snap.excluded == {"bad_strike": 1}


def _permuted(raw: RawChain, order: npt.NDArray[np.intp]) -> RawChain:
    return RawChain(raw.root, raw.expiry[order], raw.strike[order], raw.is_call[order],
                    raw.bid[order], raw.ask[order], raw.quote_time[order],
                    raw.underlying[order], raw.underlying_time)


@pytest.mark.parametrize("layout", ["listed", "shuffled", "reversed", "wide_expiries"])
def test_by_group_when_rows_in_any_order_then_equals_lexsort(layout: str) -> None:
    rng = np.random.default_rng(5)
    n = 600
    exp = np.repeat(np.arange(19000, 19006), n // 6).astype(np.int64)
    if layout == "wide_expiries":
        exp[::7] += 40_000  # too far apart for the small sort key
    call = np.tile(np.repeat([False, True], n // 12), 6)
    val = np.tile(np.round(np.linspace(400.0, 700.0, n // 12)), 12)  # rising strikes
    val[rng.integers(0, n, 20)] = 500.0  # ties
    val[call] = -val[call] + 1000.0  # falling within the call groups
    order = {"listed": np.arange(n), "reversed": np.arange(n)[::-1],
             "shuffled": rng.permutation(n), "wide_expiries": rng.permutation(n)}[layout]
    exp, call, val = exp[order], call[order], val[order]
    for rows in (np.arange(n), np.flatnonzero(rng.random(n) < 0.7), np.arange(0)):
        rows = rows.astype(np.intp)
        expected = rows[np.lexsort((val[rows], call[rows], exp[rows]))]

        assert np.array_equal(_by_group(exp, call, rows, val), expected)
        # Rising groups everywhere: the already-ordered case.
        listed = _by_group(exp, call, rows, np.abs(val - 1000.0 * call))
        assert np.array_equal(listed, rows[np.lexsort((np.abs(val - 1000.0 * call)[rows],
                                                       call[rows], exp[rows]))])


@pytest.mark.parametrize("bad_row", [False, True])
def test_build_when_rows_shuffled_then_same_selection_and_greeks(bad_row: bool) -> None:
    raw = raw_chain("SPY", NOW, EXPS, 550.0, vol=0.2, skew=0.2, width=0.15)
    if bad_row:  # one unusable quote: greeks of the others solved as a subset
        bid = raw.bid.copy()
        bid[3] = math.nan
        raw = with_columns(raw, bid=bid)
    order = np.random.default_rng(9).permutation(len(raw))
    a = ChainSnapshot.build(raw, NOW, CFG)
    b = ChainSnapshot.build(_permuted(raw, order), NOW, CFG)

    for col in ("iv", "delta", "gamma", "theta", "vega", "usable", "sellable"):
        assert np.array_equal(getattr(a, col)[order], getattr(b, col), equal_nan=col != "usable"
                              and col != "sellable"), col
    assert a.excluded == b.excluded and a.expiries == b.expiries
    for exp in a.expiries:
        for right in (Right.PUT, Right.CALL):
            assert a.excluded_for(exp, right) == b.excluded_for(exp, right)
            assert np.array_equal(a.strikes(exp, right), b.strikes(exp, right))
            for target in np.linspace(0.05, 0.6, 12).tolist():
                for sell in (False, True):
                    ra = a.by_delta(exp, right, target, target - 0.05, target + 0.05, sell)
                    rb = b.by_delta(exp, right, target, target - 0.05, target + 0.05, sell)
                    assert (ra is None) == (rb is None)
                    if ra is not None and rb is not None:
                        assert a.contract(ra) == b.contract(rb)
            for k in a.strikes(exp, right).tolist():
                ra, rb = a.by_strike(exp, right, k), b.by_strike(exp, right, k)
                assert ra is not None and rb is not None and order[rb] == ra
                assert b.is_listed(exp, right, k)


def test_build_when_no_row_fails_quote_checks_then_greeks_equal_to_the_subset_solve() -> None:
    raw = raw_chain("SPY", NOW, EXPS, 550.0, vol=0.2, skew=0.2, width=0.15)
    bad = with_columns(raw, bid=np.append(raw.bid[:-1], math.nan))

    whole, subset = ChainSnapshot.build(raw, NOW, CFG), ChainSnapshot.build(bad, NOW, CFG)

    assert subset.excluded.get("missing_quote") == 1
    for col in ("iv", "delta", "gamma", "theta", "vega"):
        assert np.array_equal(getattr(whole, col)[:-1], getattr(subset, col)[:-1],
                              equal_nan=True), col


@pytest.mark.parametrize("model", [PricingModel.BSM, PricingModel.BLACK76])
def test_solve_greeks_when_every_vol_solvable_then_equal_to_a_batch_with_an_unsolvable_row(
        model: PricingModel) -> None:
    k = np.array([500.0, 540.0, 550.0, 560.0, 600.0])
    t = np.array([0.02, 0.1, 0.25, 0.5, 1.0])
    call = np.array([False, True, False, True, True])
    price = np.array([0.8, 14.0, 16.0, 20.0, 9.0])
    und = np.full(5, 550.0)
    bad = (np.append(price, 1e-9), np.append(und, 550.0), np.append(k, 700.0),
           np.append(t, 0.3), np.append(call, False))  # a put priced below intrinsic

    whole = solve_greeks(model, price, und, k, t, 0.04, call)
    subset = solve_greeks(model, *bad[:4], 0.04, bad[4])

    assert np.isfinite(whole.iv).all() and math.isnan(subset.iv[-1])
    for col in ("iv", "delta", "gamma", "theta", "vega"):
        assert np.array_equal(getattr(whole, col), getattr(subset, col)[:-1]), col
