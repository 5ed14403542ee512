"""Simulated broker: fill rule, per-leg events, fees, refusals, settlement, account, margin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from config.enums import Right
from config.instruments import Contract
from execution.types import ComboLeg, ComboOrder, EventKind, OrderPurpose
from sim.broker import leg_prices, natural_price
from sim.engine import Environment
from sim.fees import TASTYTRADE
from sim.margin import plan
from tests.sim.conftest import advance_to

T0 = datetime(2022, 1, 7, 10, 30)
T1 = T0 + timedelta(minutes=5)
EXP = date(2022, 2, 18)


def _spy_spread(env: Environment) -> tuple[ComboLeg, ComboLeg]:
    spot = env.market.price("SPY")
    assert spot is not None
    hi = float(round(spot.value * 0.97))
    return (ComboLeg(Contract("SPY", EXP, hi, Right.PUT), 1),
            ComboLeg(Contract("SPY", EXP, hi - 5.0, Right.PUT), -1))


def _natural(env: Environment, legs: tuple[ComboLeg, ...], direction: int) -> float:
    quotes = [env.market.quote(leg.contract) for leg in legs]
    assert all(q is not None for q in quotes)
    return natural_price([leg.ratio for leg in legs], [q.bid for q in quotes if q],
                         [q.ask for q in quotes if q], direction)


def _order(legs: tuple[ComboLeg, ...], qty: int, limit: float, pid: str = "1") -> ComboOrder:
    return ComboOrder(legs, qty, limit, f"test #{pid}", OrderPurpose.ENTRY, pid)


def _env_at(make_env: Callable[..., Environment], when: datetime = T0,
            cash: float = 100_000.0) -> Environment:
    env = make_env(cash=cash)
    advance_to(env, when)
    return env


def _cl_strangle_and_wing(env: Environment) -> tuple[Contract, Contract, Contract]:
    """CL options of 2022-04-19: a put at 80% and a call at 120% of the future, a put wing at
    70% (strikes on the 0.5 grid)."""
    f = env.market.price("CL")
    assert f is not None
    exp = date(2022, 4, 19)
    return (Contract("CL", exp, round(f.value * 0.8 * 2) / 2, Right.PUT),
            Contract("CL", exp, round(f.value * 1.2 * 2) / 2, Right.CALL),
            Contract("CL", exp, round(f.value * 0.7 * 2) / 2, Right.PUT))


def test_process_when_sell_limit_above_natural_then_no_fill(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    legs = _spy_spread(env)
    oid = env.broker.submit(_order(legs, -1, 50.0))
    advance_to(env, T1)
    assert env.broker.process(T1) == []
    assert oid in env.broker.working_orders()


def test_process_when_limit_reaches_natural_then_fills_at_limit_one_event_per_leg(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    legs = _spy_spread(env)
    oid = env.broker.submit(_order(legs, -2, 50.0))
    advance_to(env, T1)
    credit = _natural(env, legs, -1)
    env.broker.replace_limit(oid, credit + 0.01)
    assert env.broker.process(T1) == []
    env.broker.replace_limit(oid, credit)
    events = env.broker.process(T1)
    assert [e.contract for e in events] == [leg.contract for leg in legs]
    assert [e.quantity for e in events] == [-2, 2]
    assert all(e.kind is EventKind.FILL and e.order_id == oid for e in events)
    assert len({e.event_id for e in events}) == 2
    net = sum(leg.ratio * e.price for leg, e in zip(legs, events, strict=True))
    assert net == pytest.approx(credit)
    assert env.broker.holdings() == {legs[0].contract: -2, legs[1].contract: 2}


def test_process_when_buy_limit_below_natural_then_waits(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    legs = _spy_spread(env)
    oid = env.broker.submit(_order(legs, 1, 0.01))
    advance_to(env, T1)
    assert env.broker.process(T1) == []
    debit = _natural(env, legs, 1)
    env.broker.replace_limit(oid, debit)
    assert len(env.broker.process(T1)) == 2


def test_fill_when_opening_spy_options_then_one_dollar_per_contract_and_cash_moves(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    legs = _spy_spread(env)
    oid = env.broker.submit(_order(legs, -3, 50.0))
    advance_to(env, T1)
    credit = _natural(env, legs, -1)
    env.broker.replace_limit(oid, credit)
    events = env.broker.process(T1)
    assert [e.fee for e in events] == [3.0, 3.0]
    assert env.broker.cash == pytest.approx(100_000.0 + 3 * credit * 100 - 6.0)


def test_fill_when_closing_then_no_commission(make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    legs = _spy_spread(env)
    oid = env.broker.submit(_order(legs, -1, 50.0))
    advance_to(env, T1)
    env.broker.replace_limit(oid, _natural(env, legs, -1))
    env.broker.process(T1)
    close = env.broker.submit(_order(legs, 1, 100.0, pid="1"))
    t2 = T1 + timedelta(minutes=5)
    advance_to(env, t2)
    events = env.broker.process(t2)
    assert [e.order_id for e in events] == [close, close]
    assert [e.fee for e in events] == [0.0, 0.0]
    assert env.broker.holdings() == {}


def test_fees_when_futures_options_and_capped_equity_legs_then_schedule() -> None:
    es = Contract("ES", EXP, 4500.0, Right.PUT)
    spy = Contract("SPY", EXP, 450.0, Right.PUT)
    assert TASTYTRADE.fee(es, 2, 0) == pytest.approx(5.0)
    assert TASTYTRADE.fee(es, 0, 2) == 0.0
    assert TASTYTRADE.fee(spy, 25, 0) == pytest.approx(10.0)


def test_submit_when_margin_exceeds_nlv_then_rejected_event_with_message(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env, cash=10_000.0)
    spot = env.market.price("SPY")
    assert spot is not None
    leg = ComboLeg(Contract("SPY", EXP, float(round(spot.value * 0.95)), Right.PUT), 1)
    oid = env.broker.submit(_order((leg,), -20, 0.05))
    advance_to(env, T1)
    events = env.broker.process(T1)
    assert len(events) == 1
    assert events[0].kind is EventKind.REJECTED and events[0].order_id == oid
    assert "insufficient buying power" in events[0].message
    assert env.broker.working_orders() == ()


def test_submit_when_leg_has_no_market_then_rejected(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    leg = ComboLeg(Contract("XYZ", EXP, 10.0, Right.PUT), 1)
    env.broker.submit(_order((leg,), 1, 1.0))
    events = env.broker.process(T0)
    assert events[0].kind is EventKind.REJECTED and "no market" in events[0].message


def test_cancel_when_working_then_one_cancelled_event(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    oid = env.broker.submit(_order(_spy_spread(env), -1, 50.0))
    env.broker.cancel(oid)
    env.broker.cancel(oid)
    events = env.broker.process(T0)
    assert [(e.kind, e.order_id) for e in events] == [(EventKind.CANCELLED, oid)]


def test_settle_when_option_expires_in_the_money_then_cash_at_intrinsic(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env, when=datetime(2022, 1, 7, 10, 30))
    spx = env.market.price("SPX")
    assert spx is not None
    k = float(round(spx.value / 5) * 5)
    itm = Contract("SPXW", date(2022, 1, 7), k + 100.0, Right.PUT)
    otm = Contract("SPXW", date(2022, 1, 7), k - 300.0, Right.PUT)
    legs = (ComboLeg(itm, 1), ComboLeg(otm, -1))
    oid = env.broker.submit(_order(legs, 1, 500.0))
    advance_to(env, T1)
    env.broker.replace_limit(oid, _natural(env, legs, 1))
    env.broker.process(T1)
    cash = env.broker.cash
    close = datetime(2022, 1, 7, 16, 0)
    advance_to(env, close)
    settled = env.broker.settle(close.date())
    spx_close = env.market.price("SPX")
    assert spx_close is not None
    intrinsic = max(k + 100.0 - spx_close.value, 0.0)
    assert {s.contract: s.price for s in settled} == {itm: pytest.approx(intrinsic),
                                                      otm: 0.0}
    assert env.broker.cash == pytest.approx(cash + intrinsic * 100)
    assert env.broker.holdings() == {}


def test_account_when_holding_then_nlv_is_cash_plus_marked_value(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    legs = _spy_spread(env)
    oid = env.broker.submit(_order(legs, -1, 50.0))
    advance_to(env, T1)
    env.broker.replace_limit(oid, _natural(env, legs, -1))
    env.broker.process(T1)
    acct = env.broker.account()
    mids = [env.market.quote(leg.contract) for leg in legs]
    value = sum(-leg.ratio * q.mid * 100 for leg, q in zip(legs, mids, strict=True) if q)
    assert acct.nlv == pytest.approx(env.broker.cash + value)
    assert acct.bp_available == pytest.approx(acct.nlv - acct.bp_used)
    assert env.market.account() == acct


def test_margin_when_credit_spread_then_width_minus_credit(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    short, long_ = (Contract("SPY", EXP, 450.0, Right.PUT), Contract("SPY", EXP, 445.0, Right.PUT))
    contracts = (short, long_)
    qty = np.array([-1, 1], dtype=np.int64)
    cs = env.market.contract_set(contracts, qty)
    p = plan(contracts, qty, cs.batch)
    val = env.market.value_set(cs)
    mid = 0.5 * (val.bid + val.ask)
    req = env.broker.margin.requirement(p, qty, cs.batch, val, env.market.state())
    assert req == pytest.approx((5.0 - (mid[0] - mid[1])) * 100)


def test_margin_when_naked_put_then_reg_t_formula(make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    c = Contract("SPY", EXP, 400.0, Right.PUT)
    qty = np.array([-2], dtype=np.int64)
    cs = env.market.contract_set((c,), qty)
    val = env.market.value_set(cs)
    u, mid = val.underlying[0], 0.5 * (val.bid[0] + val.ask[0])
    expected = (max(0.2 * u - (u - 400.0), 0.1 * 400.0) + mid) * 100 * 2
    req = env.broker.margin.requirement(plan((c,), qty, cs.batch), qty, cs.batch, val,
                                        env.market.state())
    assert req == pytest.approx(expected)


def test_margin_when_futures_options_then_span_scan_positive_and_long_wing_reduces_it(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    put, call, wing = _cl_strangle_and_wing(env)

    def req(contracts: tuple[Contract, ...], q: list[int]) -> float:
        qty = np.array(q, dtype=np.int64)
        cs = env.market.contract_set(contracts, qty)
        return env.broker.margin.requirement(plan(contracts, qty, cs.batch), qty, cs.batch,
                                             env.market.value_set(cs), env.market.state())

    strangle = req((put, call), [-1, -1])
    naked_put = req((put,), [-1])
    put_spread = req((put, wing), [-1, 1])
    assert strangle >= naked_put > put_spread > 0


def test_leg_prices_when_allocated_then_sum_to_limit_and_not_negative() -> None:
    prices = leg_prices([1, -2, 1], [1.0, 0.40, 0.05], [1.1, 0.45, 0.10], 1, 0.35)
    assert sum(r * p for r, p in zip([1, -2, 1], prices, strict=True)) == pytest.approx(0.35)
    assert min(prices) >= 0.0


def test_margin_when_short_call_covered_by_longer_dated_lower_call_then_diagonal_value(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    spot = env.market.price("QQQ")
    assert spot is not None
    leap = Contract("QQQ", date(2023, 1, 20), float(round(spot.value * 0.8)), Right.CALL)
    short = Contract("QQQ", date(2022, 1, 14), float(round(spot.value)), Right.CALL)
    contracts = (leap, short)
    qty = np.array([1, -1], dtype=np.int64)
    cs = env.market.contract_set(contracts, qty)
    val = env.market.value_set(cs)
    mid = 0.5 * (val.bid + val.ask)
    p = plan(contracts, qty, cs.batch)
    assert p.naked.size == 0 and p.pair_short.tolist() == [1]
    req = env.broker.margin.requirement(p, qty, cs.batch, val, env.market.state())
    assert req == pytest.approx((mid[0] - mid[1]) * 100)


def test_account_when_book_held_over_bars_then_same_as_valuing_each_bar_alone(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    spot = env.market.price("SPY")
    assert spot is not None
    s = float(round(spot.value))
    orders = [(_spy_spread(env), -1),
              ((ComboLeg(Contract("SPY", EXP, s - 30.0, Right.PUT), 1),), -2),
              ((ComboLeg(Contract("SPY", EXP, s + 10.0, Right.CALL), 1),), 1)]
    for n, (legs, qty) in enumerate(orders):
        oid = env.broker.submit(_order(legs, qty, 50.0 if qty < 0 else 100.0, pid=str(n)))
        advance_to(env, T1)
        env.broker.replace_limit(oid, _natural(env, legs, 1 if qty > 0 else -1))
        env.broker.process(T1)
    assert len(env.broker.holdings()) == 4
    when = T1
    for _ in range(12):
        when += timedelta(minutes=5)
        advance_to(env, when)
        acct = env.broker.account()
        ws = env.broker.watch_set()
        assert ws.qty is not None and ws.plan is not None
        val = env.market.value_set(ws)
        mids = np.where(np.isfinite(val.bid) & np.isfinite(val.ask),
                        0.5 * (val.bid + val.ask), val.mid)
        value = float(np.sum(ws.qty * mids * ws.batch.multiplier))
        used = env.broker.margin.reg_t_part(ws.plan, ws.batch, val)
        assert acct.nlv == env.broker.cash + value
        assert acct.bp_used == used > 0


def test_reg_t_rows_when_grid_of_bars_then_each_row_as_reg_t_part_of_that_bar(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    spot = env.market.price("SPY")
    assert spot is not None
    s = float(round(spot.value))
    contracts = tuple(Contract("SPY", EXP, s + d, r) for d, r in (
        (-5.0, Right.PUT), (-10.0, Right.PUT), (-40.0, Right.PUT), (5.0, Right.CALL),
        (0.0, Right.CALL)))
    qty = np.array([-2, 1, -1, 3, -1], dtype=np.int64)
    cs = env.market.contract_set(contracts, qty, whole_day=True)
    env.market.value_set(cs)
    assert cs.grid is not None and cs.grid.mid.shape[0] > 1
    p = plan(contracts, qty, cs.batch)
    assert p.pair_short.size and p.naked.size and p.longs.size
    rows = env.broker.margin.reg_t_rows(p, cs.batch, cs.grid)
    assert isinstance(rows, np.ndarray)
    assert rows.tolist() == [env.broker.margin.reg_t_part(p, cs.batch, cs.grid.row(i))
                             for i in range(cs.grid.mid.shape[0])]


def test_span_part_when_plans_alternate_then_same_as_a_fresh_model(
        make_env: Callable[..., Environment]) -> None:
    env = _env_at(make_env)
    put, call, wing = _cl_strangle_and_wing(env)
    books = [((put, call), [-1, -1]), ((put, wing), [-1, 1]), ((put,), [-2])]
    sets = []
    for contracts, q in books:
        qty = np.array(q, dtype=np.int64)
        cs = env.market.contract_set(contracts, qty)
        sets.append((plan(contracts, qty, cs.batch), qty, cs.batch, env.market.value_set(cs)))
    model = env.broker.margin
    st = env.market.state()
    for i in (0, 1, 0, 2, 1, 1, 0):
        p, qty, batch, val = sets[i]
        fresh = type(model)(model.pricer).span_part(p, qty, batch, val, st)
        assert model.span_part(p, qty, batch, val, st) == fresh > 0
