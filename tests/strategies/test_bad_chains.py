"""Bad chains give a Skip with a reason, never an exception and never a broken structure."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.enums import Phase
from execution.types import ComboLeg, ComboOrder, OrderPurpose
from strategies.base import SkipReason, StrategyBase
from strategies.bear_trap import BearTrap
from strategies.butterfly_0dte import Butterfly0Dte
from strategies.friday_0dte import Friday0Dte
from strategies.futures_strangle import FuturesStrangle
from strategies.ipmcc import Ipmcc
from strategies.leap_put_ladder import LeapPutLadder
from strategies.lt112 import Lt112
from strategies.types import RawChain, Skip, TradeIdea
from tests.strategies import (
    test_bear_trap,
    test_butterfly_0dte,
    test_friday_0dte,
    test_futures_strangle,
    test_ipmcc,
    test_leap_put_ladder,
    test_lt112,
)
from tests.strategies.builders import CFG, FakeContext, at, empty_chain, keep_rows

Case = tuple[Callable[[], StrategyBase], Callable[[], FakeContext], str]

CASES: dict[str, Case] = {
    "friday_0dte": (lambda: Friday0Dte(CFG), test_friday_0dte.ctx, "friday_0dte.entry"),
    "lt112": (lambda: Lt112(CFG), test_lt112.ctx, "lt112.entry"),
    "futures_strangle": (lambda: FuturesStrangle(CFG), test_futures_strangle.ctx,
                         "futures_strangle.entry"),
    "ipmcc": (lambda: Ipmcc(test_ipmcc.CFG0), test_ipmcc.leap_ctx, "ipmcc.entry"),
    "ipmcc_call": (lambda: Ipmcc(test_ipmcc.CFG0),
                   lambda: test_ipmcc.call_ctx(np.full(60, 445.0)), "ipmcc.call"),
    "leap_put_ladder": (lambda: LeapPutLadder(CFG), test_leap_put_ladder.ctx,
                        "leap_put_ladder.entry"),
    "bear_trap": (lambda: BearTrap(CFG), test_bear_trap.ctx, "bear_trap.entry"),
    "butterfly_0dte": (lambda: Butterfly0Dte(CFG), lambda: test_butterfly_0dte.ctx(0.006),
                       "butterfly_0dte.entry"),
}
KNOWN = {r.value for r in SkipReason}


def _run(name: str, mutate: Callable[[RawChain], RawChain]) -> tuple[Any, ...]:
    make, make_ctx, rule = CASES[name]
    strat = make()
    c = make_ctx()
    if rule == "butterfly_0dte.entry":
        assert strat.on_rule("butterfly_0dte.baseline", c) is None
        c.now = at(c.now.date(), 10, 35)
    c.chains = {root: mutate(raw) for root, raw in c.chains.items()}
    out = strat.on_rule_all(rule, c)
    assert out is not None
    return out


def _check(outcomes: tuple[Any, ...]) -> None:
    for o in outcomes:
        if isinstance(o, Skip):
            assert o.reason in KNOWN and o.reason != SkipReason.STRATEGY_ERROR, o
            continue
        assert isinstance(o, TradeIdea)
        ComboOrder(tuple(ComboLeg(leg.contract, leg.ratio) for leg in o.legs), 1, 1.0, "t",
                   OrderPurpose.ENTRY, "p")  # validates gcd, zero ratios and duplicates
        for leg in o.legs:
            assert math.isfinite(leg.bid) and math.isfinite(leg.ask) and leg.ask >= leg.bid
            assert math.isfinite(leg.delta)
            if o.replaces is None:
                assert leg.contract.expiry == o.expiry
            if leg.ratio < 0:
                assert leg.bid > 0
        if o.structure in ("iron_condor", "call_credit_spread", "put_credit_spread",
                           "put_112", "strangle", "short_put"):
            assert o.net_mid < 0
        if o.structure in ("leap_call", "put_butterfly", "call_butterfly"):
            assert o.net_mid > 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_on_rule_when_chain_good_produces_idea(name: str) -> None:
    out = _run(name, lambda raw: raw)

    assert any(isinstance(o, TradeIdea) for o in out), out
    _check(out)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("bad", ["empty", "all_nan", "crossed", "zero_bids", "one_expiry",
                                 "stale", "no_calls", "no_puts"])
def test_on_rule_when_chain_bad_skips_with_reason(name: str, bad: str) -> None:
    def mutate(raw: RawChain) -> RawChain:
        n = len(raw)
        if bad == "empty":
            return empty_chain(raw.root, raw.underlying_time)
        if bad == "all_nan":
            return RawChain(raw.root, raw.expiry, raw.strike, raw.is_call, np.full(n, np.nan),
                            np.full(n, np.nan), raw.quote_time, raw.underlying,
                            raw.underlying_time)
        if bad == "crossed":
            return RawChain(raw.root, raw.expiry, raw.strike, raw.is_call, raw.ask + 0.5,
                            raw.bid, raw.quote_time, raw.underlying, raw.underlying_time)
        if bad == "zero_bids":
            return RawChain(raw.root, raw.expiry, raw.strike, raw.is_call, np.zeros(n),
                            raw.ask, raw.quote_time, raw.underlying, raw.underlying_time)
        if bad == "one_expiry":
            return keep_rows(raw, raw.expiry == raw.expiry.max())
        if bad == "stale":
            old = raw.quote_time - np.timedelta64(3600, "s")
            return RawChain(raw.root, raw.expiry, raw.strike, raw.is_call, raw.bid, raw.ask,
                            old, raw.underlying, raw.underlying_time)
        keep_calls = bad == "no_puts"
        return keep_rows(raw, raw.is_call == keep_calls)

    out = _run(name, mutate)

    _check(out)
    if bad in ("empty", "all_nan", "crossed", "stale", "zero_bids"):
        assert all(isinstance(o, Skip) for o in out), out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(CASES)), seed=st.integers(0, 2**32 - 1),
       frac=st.floats(0.0, 1.0), kind=st.sampled_from(["nan", "cross", "zero", "stale",
                                                       "drop", "und"]))
def test_on_rule_when_random_rows_corrupted_never_breaks(name: str, seed: int, frac: float,
                                                         kind: str) -> None:
    def mutate(raw: RawChain) -> RawChain:
        rng = np.random.default_rng(seed)
        hit = rng.random(len(raw)) < frac
        bid, ask, qt, und = raw.bid.copy(), raw.ask.copy(), raw.quote_time.copy(), \
            raw.underlying.copy()
        if kind == "nan":
            bid[hit] = np.nan
        elif kind == "cross":
            bid[hit] = ask[hit] + 0.05
        elif kind == "zero":
            bid[hit] = 0.0
        elif kind == "stale":
            qt[hit] = qt[hit] - np.timedelta64(int(timedelta(hours=2).total_seconds()), "s")
        elif kind == "und":
            und[hit] = np.nan
        else:
            return keep_rows(raw, ~hit)
        return RawChain(raw.root, raw.expiry, raw.strike, raw.is_call, bid, ask, qt, und,
                        raw.underlying_time)

    _check(_run(name, mutate))


def test_on_rule_when_context_raises_returns_strategy_error_skip() -> None:
    class Broken(FakeContext):
        def chain(self, root: str, min_dte: int, max_dte: int) -> Any:
            raise RuntimeError("feed down")

    c = Broken(test_bear_trap.NOW, phase=Phase.P3, vix=22.0)

    got = BearTrap(CFG).on_rule("bear_trap.entry", c)

    assert isinstance(got, Skip) and got.reason == "strategy_error" and "feed down" in got.detail
