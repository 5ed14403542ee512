"""Simulated market: quotes of the prefetched contract set."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime

from config.enums import Right
from config.instruments import Contract
from execution.types import Quote
from sim.engine import Environment
from tests.sim.conftest import advance_to

T0 = datetime(2022, 1, 7, 10, 30)


def test_quote_when_contract_set_prefetched_then_each_quote_is_its_row_of_the_set(
        make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, T0)
    spot = env.market.price("SPY")
    assert spot is not None
    s = float(round(spot.value))
    contracts = (Contract("SPY", date(2022, 2, 18), s - 10.0, Right.PUT),
                 Contract("SPY", date(2022, 2, 18), s + 10.0, Right.CALL),
                 Contract("SPY", date(2022, 1, 6), s, Right.PUT),  # expired: no quote
                 Contract("ES", date(2022, 3, 18), 4500.0, Right.PUT))
    cs = env.market.contract_set(contracts, whole_day=True)
    env.market.prefetch(cs)
    val = env.market.value_set(cs)

    for i, c in enumerate(contracts):
        bid, ask = float(val.bid[i]), float(val.ask[i])
        want = Quote(bid, ask, T0) if math.isfinite(bid) and math.isfinite(ask) else None
        assert env.market.quote(c) == want
        if want is not None:
            assert env.market.underlying_price(c) == float(val.underlying[i])
    assert env.market.quote(contracts[2]) is None
    assert env.market.quote(Contract("SPY", date(2022, 2, 18), s - 20.0, Right.PUT)) is not None
    assert env.market.quote(Contract("XYZ", date(2022, 2, 18), 10.0, Right.PUT)) is None


def test_quote_when_looked_up_before_prefetch_then_kept_for_the_bar(
        make_env: Callable[..., Environment]) -> None:
    env = make_env()
    advance_to(env, T0)
    c = Contract("SPY", date(2022, 2, 18), 450.0, Right.PUT)
    first = env.market.quote(c)
    env.market.prefetch(env.market.contract_set((c,), whole_day=True))
    assert env.market.quote(c) is first
