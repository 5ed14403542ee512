"""LeanMarket: prices, chains, quotes, account and daily history from LEAN slices."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from scipy.stats import norm

from config.enums import Right
from config.instruments import Contract
from execution.types import Account, PricePoint
from lean_bridge.market import LeanMarket, atm_implied_vol
from lean_bridge.symbols import SymbolBook
from strategies.quotes import year_fraction
from tests.lean_bridge.fakes import (
    ENUMS,
    FakeBaseData,
    FakeOptionChain,
    FakeOptionContract,
    FakePortfolio,
    FakeSecurities,
    FakeSecurity,
    FakeSlice,
    FakeSymbol,
    OptionRight,
    SecurityType,
    canonical_future,
    canonical_option,
    future,
    index,
    option,
)

DAY = datetime(2026, 1, 5)
SPX = index("SPX")
VIX = index("VIX")
ES = canonical_future("ES")
ES_H = future("ES", datetime(2026, 3, 20))
ES_M = future("ES", datetime(2026, 6, 19))
SPXW = canonical_option(SPX, "SPXW", SecurityType.INDEX_OPTION)
RATE = 0.04


@dataclass
class Rig:
    market: LeanMarket
    securities: FakeSecurities
    portfolio: FakePortfolio
    book: SymbolBook
    clock: list[datetime]

    def at(self, t: datetime, prices: dict[FakeSymbol, float] | None = None,
           chains: dict[FakeSymbol, FakeOptionChain] | None = None,
           opens: dict[FakeSymbol, float] | None = None) -> None:
        """Deliver one slice at ``t`` with these underlying prices and chains."""
        self.clock[0] = t
        for symbol, px in (prices or {}).items():
            sec = self.securities.setdefault(symbol, FakeSecurity())
            sec.price = px
            sec.open = (opens or {}).get(symbol, px)
        self.market.on_slice(FakeSlice(t, set(prices or {}), dict(chains or {})))


def rig(history_days: int = 5) -> Rig:
    book = SymbolBook(ENUMS)
    securities = FakeSecurities()
    portfolio = FakePortfolio(125_000.0, 30_000.0, 95_000.0, 80_000.0)
    clock = [DAY]
    market = LeanMarket(lambda: clock[0], securities, portfolio, book,
                        session_start=time(9, 30), history_days=history_days,
                        iv_tenor=(80, 90, 100), risk_free_rate=RATE)
    market.track("SPX", SPX)
    market.track("VIX", VIX)
    market.track("ES", ES)
    market.track_options("SPXW", SPXW)
    market.track_future_options("ES", ES)
    return Rig(market, securities, portfolio, book, clock)


def spxw(strike: float, right: OptionRight, expiry: datetime = DAY) -> FakeSymbol:
    return option(SPX, "SPXW", SecurityType.INDEX_OPTION, expiry, strike, right)


def test_price_when_slice_has_underlying_then_point_with_slice_time() -> None:
    r = rig()

    r.at(DAY.replace(hour=10), {SPX: 5000.0, VIX: 16.5})

    assert r.market.price("SPXW") == PricePoint(5000.0, DAY.replace(hour=10))
    assert r.market.price("SPX") == PricePoint(5000.0, DAY.replace(hour=10))
    assert r.market.vix() == PricePoint(16.5, DAY.replace(hour=10))


def test_price_when_no_data_or_zero_price_then_none() -> None:
    r = rig()

    r.at(DAY.replace(hour=10), {SPX: 0.0})

    assert r.market.price("SPXW") is None
    assert r.market.price("QQQ") is None
    assert r.market.vix() is None


def test_price_when_no_new_bar_then_last_point_kept_with_its_time() -> None:
    r = rig()
    r.at(DAY.replace(hour=10), {SPX: 5000.0})

    r.at(DAY.replace(hour=10, minute=20), {VIX: 15.0})

    assert r.market.price("SPXW") == PricePoint(5000.0, DAY.replace(hour=10))


def test_session_open_when_first_bar_after_open_then_its_open_price() -> None:
    r = rig()
    r.at(DAY.replace(hour=9, minute=29), {SPX: 4990.0})

    r.at(DAY.replace(hour=9, minute=31), {SPX: 5003.0}, opens={SPX: 5001.0})
    r.at(DAY.replace(hour=9, minute=32), {SPX: 5010.0}, opens={SPX: 5003.0})

    assert r.market.session_open("SPXW") == 5001.0


def test_session_open_when_new_day_then_reset() -> None:
    r = rig()
    r.at(DAY.replace(hour=9, minute=31), {SPX: 5003.0})

    r.at(DAY.replace(hour=9, minute=25) + timedelta(days=1), {SPX: 5020.0})

    assert r.market.session_open("SPXW") is None


def test_chain_when_index_options_then_columns_and_missing_quotes_nan() -> None:
    r = rig()
    t = DAY.replace(hour=10, minute=30)
    chain = FakeOptionChain(FakeBaseData(5000.0, t), [
        FakeOptionContract(spxw(4950.0, OptionRight.PUT), 1.10, 1.30),
        FakeOptionContract(spxw(5050.0, OptionRight.CALL), 0.0, 0.0),
        FakeOptionContract(spxw(4950.0, OptionRight.PUT, DAY + timedelta(days=2)), 5.0, 5.4),
    ])

    r.at(t, {SPX: 5000.0}, {SPXW: chain})
    raw = r.market.chain("SPXW", 0, 0)

    assert raw is not None and len(raw) == 2
    assert raw.strike.tolist() == [4950.0, 5050.0]
    assert raw.is_call.tolist() == [False, True]
    assert raw.bid.tolist() == [1.10, 0.0]  # a zero bid is "no bid", kept
    assert raw.ask[0] == 1.30 and math.isnan(raw.ask[1])  # a zero ask is missing
    assert raw.expiry.tolist() == [date(2026, 1, 5)] * 2
    assert raw.quote_time.tolist() == [t, t]
    assert raw.underlying.tolist() == [5000.0, 5000.0]
    assert raw.underlying_time == t


def test_chain_when_no_chain_arrived_then_none() -> None:
    assert rig().market.chain("SPXW", 0, 10) is None


def test_chain_when_futures_options_then_one_chain_per_contract_merged() -> None:
    r = rig()
    t = DAY.replace(hour=10)
    march = canonical_option(ES_H, "ES", SecurityType.FUTURE_OPTION)
    june = canonical_option(ES_M, "ES", SecurityType.FUTURE_OPTION)
    put_h = option(ES_H, "ES", SecurityType.FUTURE_OPTION, datetime(2026, 3, 20), 5000.0,
                   OptionRight.PUT)
    put_m = option(ES_M, "ES", SecurityType.FUTURE_OPTION, datetime(2026, 6, 19), 4800.0,
                   OptionRight.PUT)
    chains = {
        march: FakeOptionChain(FakeBaseData(5010.0, t), [FakeOptionContract(put_h, 40.0, 41.0)]),
        june: FakeOptionChain(FakeBaseData(5060.0, t), [FakeOptionContract(put_m, 60.0, 62.0)]),
    }

    r.at(t, {}, chains)
    raw = r.market.chain("ES", 60, 200)

    assert raw is not None
    assert sorted(zip(raw.strike.tolist(), raw.underlying.tolist(), strict=True)) == [
        (4800.0, 5060.0), (5000.0, 5010.0)]
    assert r.book.symbol_of(Contract("ES", date(2026, 6, 19), 4800.0, Right.PUT)) is put_m


def test_quote_when_contract_seen_then_bid_ask_and_age_from_exchange_clock() -> None:
    r = rig()
    t = DAY.replace(hour=10, minute=30)
    put = option(ES_H, "ES", SecurityType.FUTURE_OPTION, datetime(2026, 3, 20), 5000.0,
                 OptionRight.PUT)
    chain = FakeOptionChain(FakeBaseData(5010.0, t), [FakeOptionContract(put, 40.0, 41.0)])
    r.at(t, {}, {canonical_option(ES_H, "ES", SecurityType.FUTURE_OPTION): chain})
    r.market.chain("ES", 0, 100)  # a strategy reads the chain; the book learns the symbol
    # CME data is stamped in Chicago time: the exchange clock and the bar are both an hour
    # behind New York; the quote is two minutes old.
    r.securities[put] = FakeSecurity(bid_price=40.0, ask_price=41.5,
                                     local_time=t - timedelta(hours=1),
                                     last=FakeBaseData(40.7, t - timedelta(hours=1, minutes=2)))
    contract = Contract("ES", date(2026, 3, 20), 5000.0, Right.PUT)

    quote = r.market.quote(contract)

    assert quote is not None
    assert (quote.bid, quote.ask, quote.time) == (40.0, 41.5, t - timedelta(minutes=2))


def test_quote_when_contract_unknown_or_without_data_then_none() -> None:
    r = rig()
    contract = Contract("SPXW", date(2026, 1, 5), 4950.0, Right.PUT)

    assert r.market.quote(contract) is None
    r.book.contract_of(spxw(4950.0, OptionRight.PUT))
    assert r.market.quote(contract) is None


def test_underlying_price_when_futures_option_then_its_futures_contract() -> None:
    r = rig()
    put = option(ES_M, "ES", SecurityType.FUTURE_OPTION, datetime(2026, 6, 19), 4800.0,
                 OptionRight.PUT)
    contract = r.book.contract_of(put)
    r.securities[ES_M] = FakeSecurity(price=5060.0)
    assert contract is not None

    assert r.market.underlying_price(contract) == 5060.0


def test_account_when_portfolio_then_nlv_margin_used_and_remaining() -> None:
    assert rig().market.account() == Account(125_000.0, 30_000.0, 95_000.0, 80_000.0)


def test_daily_history_when_days_pass_then_closes_oldest_first_without_today() -> None:
    r = rig(history_days=3)
    for n, close in enumerate([100.0, 101.0, 102.0, 103.0, 104.0]):
        day = DAY + timedelta(days=n)
        r.at(day.replace(hour=10), {SPX: close - 5.0})
        r.at(day.replace(hour=15, minute=59), {SPX: close})

    history = r.market.daily_history("SPXW", 10)

    assert history.tolist() == [101.0, 102.0, 103.0]
    assert r.market.daily_history("SPXW", 2).tolist() == [102.0, 103.0]
    assert r.market.daily_history("QQQ", 2).size == 0


def black76(f: float, k: float, t: float, vol: float, call: bool) -> float:
    sq = vol * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sq * sq) / sq
    d2 = d1 - sq
    df = math.exp(-RATE * t)
    if call:
        return df * (f * norm.cdf(d1) - k * norm.cdf(d2))
    return df * (k * norm.cdf(-d2) - f * norm.cdf(-d1))


def es_chain(now: datetime, expiry: datetime, fut: FakeSymbol, f: float,
             vol: float) -> FakeOptionChain:
    t = year_fraction(expiry.date(), now)
    contracts = []
    for k in (f - 50.0, f, f + 50.0):
        for right in OptionRight:
            px = black76(f, k, t, vol, right is OptionRight.CALL)
            sym = option(fut, "ES", SecurityType.FUTURE_OPTION, expiry, k, right)
            contracts.append(FakeOptionContract(sym, px - 0.25, px + 0.25))
    return FakeOptionChain(FakeBaseData(f, now), contracts)


def test_atm_iv_history_when_chain_each_day_then_recorded_and_today_last() -> None:
    r = rig()
    day1, day2 = DAY.replace(hour=15), DAY.replace(hour=10) + timedelta(days=1)
    expiry = datetime(2026, 4, 2)  # 87 days out
    canon = canonical_option(ES_M, "ES", SecurityType.FUTURE_OPTION)
    r.at(day1, {}, {canon: es_chain(day1, expiry, ES_M, 5000.0, 0.20)})

    r.at(day2, {}, {canon: es_chain(day2, expiry, ES_M, 5000.0, 0.25)})
    history = r.market.atm_iv_history("ES", 10)

    assert history == pytest.approx([0.20, 0.25], abs=1e-4)
    assert r.market.atm_iv_history("ES", 1) == pytest.approx([0.25], abs=1e-4)


def test_atm_implied_vol_when_no_usable_quote_then_nan() -> None:
    r = rig()
    t = DAY.replace(hour=10)
    put = option(ES_M, "ES", SecurityType.FUTURE_OPTION, datetime(2026, 4, 2), 5000.0,
                 OptionRight.PUT)
    canon = canonical_option(ES_M, "ES", SecurityType.FUTURE_OPTION)
    r.at(t, {}, {canon: FakeOptionChain(FakeBaseData(5000.0, t),
                                        [FakeOptionContract(put, 0.0, 0.0)])})
    raw = r.market.chain("ES", 80, 100)

    assert raw is not None
    assert math.isnan(atm_implied_vol(raw, t, 90, RATE))
    assert r.market.atm_iv_history("ES", 5).size == 0
