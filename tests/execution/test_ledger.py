"""Ledger: booking entries/exits/rolls, remainders, P&L, settlement, attribution, statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import empyrical
import numpy as np
import pytest

from config.enums import Right, StrategyKey
from config.instruments import Contract
from execution.executor import LegFill, OrderOutcome, OutcomeStatus
from execution.ledger import (
    REMAINDER_STRUCTURE,
    EntryFacts,
    Ledger,
    decompose,
    intrinsic,
    portfolio_stats,
)
from execution.types import ExitReason, OrderPurpose
from strategies.meta import leg_price_key
from tests.execution.builders import CFG, LONG_PUT, SHORT_PUT, T0, facts, put

Fill = tuple[Contract, int, int, float]  # contract, ratio per unit, signed contracts, price


def outcome(pid: str, purpose: OrderPurpose, units: int, fills: Sequence[Fill], *,
            status: OutcomeStatus = OutcomeStatus.FILLED, fees: float = 0.0,
            mid: float | None = None, minutes: float = 1.0, steps: int = 0,
            replaces: str | None = None, exit_reason: ExitReason | None = None,
            order_id: str = "B1") -> OrderOutcome:
    """An executor outcome with leg mids equal to the fill prices unless ``mid`` is given."""
    legs = tuple(LegFill(c, r, q, p, p) for c, r, q, p in fills)
    net = sum(r * p for c, r, q, p in fills)
    d = 1 if units > 0 else -1
    done = min(abs(q) // abs(r) for c, r, q, p in fills) * d
    return OrderOutcome(pid, order_id, purpose, status, units, done, legs, net, fees,
                        net if mid is None else mid, net, steps, T0,
                        T0 + timedelta(minutes=minutes), status.value, replaces=replaces,
                        exit_reason=exit_reason)


def spread_entry(ledger: Ledger, units: int = 2, pid: str = "1", fees: float = 0.0,
                 key: StrategyKey = StrategyKey.FRIDAY_0DTE) -> None:
    ledger.open_position(outcome(pid, OrderPurpose.ENTRY, units,
                                 [(LONG_PUT, 1, units, 1.00), (SHORT_PUT, -1, -units, 2.15)],
                                 fees=fees),
                         facts(key=key))


def spread_exit(ledger: Ledger, long_price: float, short_price: float, units: int = 2,
                pid: str = "1", fees: float = 0.0,
                reason: ExitReason = ExitReason.PROFIT_TARGET, minutes: float = 60.0
                ) -> list[str]:
    change = ledger.apply_exit(
        outcome(pid, OrderPurpose.EXIT, -units,
                [(LONG_PUT, 1, -units, long_price), (SHORT_PUT, -1, units, short_price)],
                fees=fees, minutes=minutes), reason)
    return [t.position_id for t in change.closed]


def test_open_position_when_entry_filled_books_whole_position() -> None:
    ledger = Ledger(CFG)

    change = ledger.open_position(
        outcome("1", OrderPurpose.ENTRY, 2,
                [(LONG_PUT, 1, 2, 1.00), (SHORT_PUT, -1, -2, 2.15)]),
        facts(multiplier=50.0))

    (p,) = change.opened
    assert p.units == 2
    assert [(leg.contract, leg.ratio) for leg in p.legs] == [(LONG_PUT, 1), (SHORT_PUT, -1)]
    assert p.entry_price == pytest.approx(-1.15)
    assert p.is_credit
    assert p.multiplier == 100.0
    assert p.meta_value(leg_price_key(SHORT_PUT)) == repr(2.15)
    assert ledger.holdings() == {LONG_PUT: 2, SHORT_PUT: -2}


def test_open_position_when_entry_legged_splits_remainder_to_flatten() -> None:
    ledger = Ledger(CFG)

    change = ledger.open_position(
        outcome("1", OrderPurpose.ENTRY, 2, [(LONG_PUT, 1, 2, 1.00), (SHORT_PUT, -1, -1, 2.15)],
                status=OutcomeStatus.LEGGED), facts())

    assert [(p.position_id, p.units) for p in change.opened] == [("1", 1)]
    (rem,) = change.remainders
    assert rem.structure == REMAINDER_STRUCTURE
    assert [(leg.contract, leg.ratio) for leg in rem.legs] == [(LONG_PUT, 1)]
    assert ledger.remainders() == (rem,)
    assert ledger.holdings() == {LONG_PUT: 2, SHORT_PUT: -1}


def test_open_position_when_late_fill_completes_legged_entry_becomes_whole() -> None:
    ledger = Ledger(CFG)
    ledger.open_position(outcome("1", OrderPurpose.ENTRY, 1, [(LONG_PUT, 1, 1, 1.00),
                                                              (SHORT_PUT, -1, 0, 0.0)],
                                 status=OutcomeStatus.LEGGED), facts())

    change = ledger.apply(outcome("1", OrderPurpose.ENTRY, 1, [(LONG_PUT, 1, 0, 0.0),
                                                               (SHORT_PUT, -1, -1, 2.15)]))

    (p,) = change.opened
    assert p.structure == "put_credit_spread"
    assert p.entry_price == pytest.approx(-1.15)
    assert ledger.remainders() == ()
    assert ledger.attribution()[StrategyKey.FRIDAY_0DTE].entries == 1


def test_apply_exit_when_whole_position_closed_records_closed_trade() -> None:
    ledger = Ledger(CFG)
    spread_entry(ledger, fees=2.0)

    closed = spread_exit(ledger, 0.20, 0.70, fees=2.0)

    assert closed == ["1"]
    (t,) = ledger.closed_trades
    assert t.pnl == pytest.approx((-0.50 + 1.15) * 2 * 100 - 4.0)
    assert t.fees == pytest.approx(4.0)
    assert t.entry_price == pytest.approx(-1.15)
    assert t.exit_price == pytest.approx(-0.50)
    assert t.exit_reason == "profit_target"
    assert t.contracts == 2
    assert t.legs == ("+1:P:4900:2026-03-20", "-1:P:4950:2026-03-20")
    assert ledger.positions() == ()
    assert ledger.holdings() == {}


def test_apply_exit_when_part_of_units_closed_keeps_rest() -> None:
    ledger = Ledger(CFG)
    spread_entry(ledger, units=3)

    spread_exit(ledger, 0.20, 0.70, units=1)

    (p,) = ledger.positions()
    assert p.units == 2
    assert ledger.realised_pnl("1") == pytest.approx(0.65 * 100)


def test_apply_exit_when_lt112_naked_pair_closed_keeps_spread_open() -> None:
    ledger = Ledger(CFG)
    long, short, naked = (put(k, "ES") for k in (5000, 4950, 4500))
    ledger.open_position(outcome("1", OrderPurpose.ENTRY, 1,
                                 [(long, 1, 1, 40.0), (short, -1, -1, 30.0),
                                  (naked, -2, -2, 3.0)]),
                         facts(StrategyKey.LT112, "ES", "lt112"))

    change = ledger.apply_exit(outcome("1", OrderPurpose.EXIT, -2, [(naked, -1, 2, 0.25)]),
                               ExitReason.PROFIT_TARGET)

    (p,) = change.changed
    assert [(leg.contract, leg.ratio) for leg in p.legs] == [(long, 1), (short, -1)]
    assert p.units == 1 and p.structure == "lt112" and p.multiplier == 50.0
    assert p.entry_price == pytest.approx(10.0)
    assert ledger.realised_pnl("1") == pytest.approx(2 * (3.0 - 0.25) * 50)
    assert ledger.closed_trades == []
    assert ledger.holdings() == {long: 1, short: -1}


def test_apply_exit_when_legged_turns_rest_into_remainder() -> None:
    ledger = Ledger(CFG)
    spread_entry(ledger)

    change = ledger.apply_exit(outcome("1", OrderPurpose.EXIT, -2,
                                       [(LONG_PUT, 1, -2, 0.20), (SHORT_PUT, -1, 1, 0.70)],
                                       status=OutcomeStatus.LEGGED))

    (rem,) = change.remainders
    assert rem.position_id == "1"
    assert rem.structure == REMAINDER_STRUCTURE
    assert [(leg.contract, leg.ratio, rem.units) for leg in rem.legs] == [(SHORT_PUT, -1, 1)]
    assert ledger.holdings() == {SHORT_PUT: -1}


def test_apply_exit_when_position_unknown_books_fills_unmanaged() -> None:
    ledger = Ledger(CFG)

    change = ledger.apply_exit(outcome("9", OrderPurpose.EXIT, -1, [(LONG_PUT, 1, -1, 0.5)]))

    assert change.unmanaged == ((LONG_PUT, -1),)
    assert ledger.unmanaged() == {LONG_PUT: -1}


def test_apply_when_unmatched_outcome_books_unmanaged() -> None:
    ledger = Ledger(CFG)
    stray = OrderOutcome("", "X", None, OutcomeStatus.UNMATCHED, 0, 0,
                         (LegFill(SHORT_PUT, -1, -3, 2.0, 2.0),), 0.0, 0.0, 0.0, 0.0, 0, T0,
                         T0, "unknown_order")

    ledger.apply(stray)

    assert ledger.holdings() == {SHORT_PUT: -3}


def test_open_position_when_roll_closes_replaced_legs_and_opens_new() -> None:
    ledger = Ledger(CFG)
    old_call = Contract("QQQ", date(2026, 3, 13), 500, Right.CALL)
    new_call = Contract("QQQ", date(2026, 3, 20), 505, Right.CALL)
    ipmcc = EntryFacts(StrategyKey.IPMCC, "QQQ", "short_call", date(2026, 3, 13), 100.0,
                       parent_id="L1")
    ledger.open_position(outcome("1", OrderPurpose.ENTRY, -1, [(old_call, 1, -1, 3.00)]), ipmcc)

    change = ledger.open_position(
        outcome("2", OrderPurpose.ROLL, 1, [(old_call, 1, 1, 1.00), (new_call, -1, -1, 2.50)],
                replaces="1"),
        EntryFacts(StrategyKey.IPMCC, "QQQ", "short_call", date(2026, 3, 20), 100.0,
                   parent_id="L1"))

    (trade,) = change.closed
    assert trade.position_id == "1" and trade.exit_reason == "roll"
    assert trade.pnl == pytest.approx(200.0)
    (new,) = change.opened
    assert [(leg.contract, leg.ratio) for leg in new.legs] == [(new_call, -1)]
    assert new.parent_id == "L1" and new.entry_price == pytest.approx(-2.50)
    assert ledger.holdings() == {new_call: -1}


def test_unrealised_pnl_when_mark_given_uses_units_and_multiplier() -> None:
    ledger = Ledger(CFG)
    spread_entry(ledger)

    assert ledger.unrealised_pnl("1", -0.80) == pytest.approx((-0.80 + 1.15) * 2 * 100)
    assert ledger.unrealised_pnl("1", math.nan) is None
    assert ledger.unrealised_pnl("nope", -0.80) is None


def test_settle_expired_when_put_spread_expires_in_the_money_closes_at_intrinsic() -> None:
    ledger = Ledger(CFG)
    spread_entry(ledger, units=1)

    change = ledger.settle_expired(date(2026, 3, 20), lambda c: 4920.0)

    (t,) = change.closed
    assert t.exit_reason == "expired"
    assert t.pnl == pytest.approx((-30.0 + 1.15) * 100)
    assert ledger.positions() == ()
    assert ledger.trade_log[-1].kind == "settlement"


def test_settle_expired_when_price_missing_keeps_position_and_reports_problem() -> None:
    ledger = Ledger(CFG)
    spread_entry(ledger)

    change = ledger.settle_expired(date(2026, 3, 20), lambda c: None)

    assert change.closed == ()
    assert len(change.problems) == 1
    assert len(ledger.positions()) == 1


def test_settle_expired_when_one_leg_expires_keeps_later_leg() -> None:
    ledger = Ledger(CFG)
    near = put(4950, expiry=date(2026, 3, 13))
    ledger.open_position(outcome("1", OrderPurpose.ENTRY, 1,
                                 [(LONG_PUT, 1, 1, 5.0), (near, -1, -1, 2.0)]),
                         facts(structure="diagonal"))

    ledger.settle_expired(date(2026, 3, 13), lambda c: 5000.0)

    (p,) = ledger.positions()
    assert [(leg.contract, leg.ratio) for leg in p.legs] == [(LONG_PUT, 1)]
    assert ledger.realised_pnl("1") == pytest.approx(200.0)


@pytest.mark.parametrize(("right", "strike", "spot", "value"), [
    (Right.PUT, 100.0, 90.0, 10.0), (Right.PUT, 100.0, 110.0, 0.0),
    (Right.CALL, 100.0, 110.0, 10.0), (Right.CALL, 100.0, 90.0, 0.0), (None, 0.0, 95.0, 95.0),
])
def test_intrinsic_when_expiring_returns_exercise_value(
        right: Right | None, strike: float, spot: float, value: float) -> None:
    assert intrinsic(Contract("SPY", date(2026, 1, 16), strike, right), spot) == value


def test_trade_log_when_fill_booked_records_mid_slippage_fees_steps_and_time() -> None:
    ledger = Ledger(CFG)

    ledger.open_position(
        outcome("1", OrderPurpose.ENTRY, 2, [(LONG_PUT, 1, 2, 1.00), (SHORT_PUT, -1, -2, 2.10)],
                fees=4.0, mid=-1.15, steps=1, minutes=2.5), facts())

    (r,) = ledger.trade_log
    assert (r.kind, r.units, r.steps, r.fees) == ("entry", 2, 1, 4.0)
    assert r.fill_price == pytest.approx(-1.10)
    assert r.mid == pytest.approx(-1.15)
    assert r.seconds_to_fill == 150.0


def test_trade_log_when_fill_worse_than_mid_slippage_is_positive_cost() -> None:
    ledger = Ledger(CFG)
    fills = (LegFill(LONG_PUT, 1, 2, 1.00, 0.95), LegFill(SHORT_PUT, -1, -2, 2.10, 2.10))
    o = OrderOutcome("1", "B1", OrderPurpose.ENTRY, OutcomeStatus.FILLED, 2, 2, fills, -1.10,
                     0.0, -1.15, -1.0, 1, T0, T0, "filled")

    ledger.open_position(o, facts())

    assert ledger.trade_log[0].slippage == pytest.approx(0.05 * 2 * 100)


def test_attribution_when_trades_closed_counts_wins_losses_and_averages() -> None:
    ledger = Ledger(CFG)
    for pid, (lp, sp) in zip("123", [(0.20, 0.70), (0.10, 0.50), (3.0, 5.0)], strict=True):
        spread_entry(ledger, units=1, pid=pid, fees=1.0)
        spread_exit(ledger, lp, sp, units=1, pid=pid, fees=1.0, minutes=60 * 24)
    spread_entry(ledger, units=1, pid="4", key=StrategyKey.BEAR_TRAP)

    a = ledger.attribution()[StrategyKey.FRIDAY_0DTE]

    pnls = [(0.65) * 100 - 2, (0.75) * 100 - 2, (-2.0 + 1.15) * 100 - 2]
    assert (a.entries, a.exits, a.wins, a.losses) == (3, 3, 2, 1)
    assert a.win_rate == pytest.approx(2 / 3)
    assert a.total_pnl == pytest.approx(sum(pnls))
    assert a.avg_pnl == pytest.approx(sum(pnls) / 3)
    assert a.avg_days_held == pytest.approx(1.0 - 1 / (60 * 24))  # entry booked at +1 min
    assert a.fees == pytest.approx(6.0)
    assert ledger.attribution()[StrategyKey.BEAR_TRAP].entries == 1


def test_portfolio_stats_when_equity_given_matches_hand_values() -> None:
    stats = portfolio_stats([100.0, 110.0, 99.0, 120.0])

    assert stats.total_return == pytest.approx(0.2)
    assert stats.max_drawdown == pytest.approx(0.1)
    assert stats.cagr == pytest.approx(1.2 ** (252 / 3) - 1)


def test_portfolio_stats_when_random_equity_agrees_with_empyrical() -> None:
    rng = np.random.default_rng(7)
    returns = rng.normal(0.0005, 0.01, 500)
    equity = 100_000 * np.cumprod(np.concatenate([[1.0], 1 + returns]))

    stats = portfolio_stats(equity)

    assert stats.sharpe == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-9)
    assert stats.sortino == pytest.approx(empyrical.sortino_ratio(returns), rel=1e-9)
    assert stats.max_drawdown == pytest.approx(-empyrical.max_drawdown(returns), rel=1e-9)
    assert stats.cagr == pytest.approx(empyrical.annual_return(returns), rel=1e-9)


def test_portfolio_stats_when_too_short_returns_zero_ratios() -> None:
    stats = portfolio_stats([100.0])

    assert (stats.sharpe, stats.sortino, stats.total_return) == (0.0, 0.0, 0.0)


def test_ledger_portfolio_when_equity_recorded_uses_daily_series() -> None:
    ledger = Ledger(CFG)
    for i, v in enumerate([100.0, 105.0, 102.0]):
        ledger.record_equity(date(2026, 1, 5) + timedelta(days=i), v)

    assert ledger.portfolio().total_return == pytest.approx(0.02)
    assert list(ledger.equity_series()) == [100.0, 105.0, 102.0]


def test_decompose_when_holdings_uneven_returns_whole_units_and_rest() -> None:
    a, b, c = put(1), put(2), put(3)

    units, rest = decompose({a: 3, b: -2, c: -5}, [(a, 1), (b, -1), (c, -2)])

    assert units == 2
    assert rest == {a: 1, c: -1}


def test_closed_trade_when_entry_time_known_reports_dte_at_entry() -> None:
    ledger = Ledger(CFG)
    spread_entry(ledger)
    spread_exit(ledger, 0.2, 0.7)

    assert ledger.closed_trades[0].dte_at_entry == (date(2026, 3, 20) - T0.date()).days
    assert isinstance(ledger.closed_trades[0].exit_time, datetime)
