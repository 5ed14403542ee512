"""Builders for the sim tests: a small trading system stub, synthetic results and CSV files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path

import numpy as np

from config.enums import Regime, Right, ScheduleKind
from config.instruments import Contract
from config.model import Config, Schedule
from execution.ledger import ClosedTrade
from execution.types import ComboLeg, ComboOrder, EventKind, FillEvent, OrderPurpose
from sim.broker import SimBroker
from sim.market import SimMarket
from sim.store import FileStore
from system.results import (
    DailyRecord,
    Invariants,
    StrategyStats,
    SystemResults,
)

STUB_RULE = "stub.entry"


class StubSystem:
    """Sells one SPY put credit spread (about 5% and 10% below spot, 25-45 DTE) each Friday at
    10:00 at the natural price; counts what the engine delivers."""

    def __init__(self, config: Config, market: SimMarket, broker: SimBroker, store: FileStore,
                 log: Callable[[str], None]) -> None:
        self.config = config
        self.market = market
        self.broker = broker
        self.store = store
        self.log = log
        self.results = SystemResults()
        self.started = 0
        self.bars: list[datetime] = []
        self.rules: list[tuple[datetime, str]] = []
        self.events: list[FillEvent] = []
        self.session_ends: list[datetime] = []
        self.ended = 0
        self.orders: list[str] = []

    def start(self) -> None:
        self.started += 1

    def schedules(self) -> tuple[Schedule, ...]:
        return (Schedule(STUB_RULE, ScheduleKind.WEEKLY, time(10, 0), 4),)

    def on_bar(self, now: datetime) -> None:
        self.bars.append(now)
        self.market.account()

    def on_schedule(self, rule: str) -> None:
        now = self.market.now()
        self.rules.append((now, rule))
        chain = self.market.chain("SPY", 25, 45)
        spot = self.market.price("SPY")
        if chain is None or len(chain) == 0 or spot is None:
            return
        expiry = chain.expiry.max()
        puts = (chain.expiry == expiry) & ~chain.is_call
        strikes = chain.strike[puts]
        hi = float(strikes[np.argmin(np.abs(strikes - spot.value * 0.95))])
        lo = float(strikes[np.argmin(np.abs(strikes - spot.value * 0.90))])
        exp = expiry.astype(object)
        legs = (ComboLeg(Contract("SPY", exp, hi, Right.PUT), 1),
                ComboLeg(Contract("SPY", exp, lo, Right.PUT), -1))
        quotes = [self.market.quote(leg.contract) for leg in legs]
        if any(q is None for q in quotes):
            return
        natural = quotes[0].bid - quotes[1].ask  # type: ignore[union-attr]
        if natural <= 0:
            return
        order = ComboOrder(legs, -1, round(natural, 2), f"stub {now:%Y-%m-%d}",
                           OrderPurpose.ENTRY, str(len(self.orders) + 1))
        self.orders.append(self.broker.submit(order))
        self.log(f"ORDER {order.tag}")

    def on_fill(self, event: FillEvent) -> None:
        self.events.append(event)
        if event.kind is EventKind.FILL:
            self.results.risk_events["fills"] = self.results.risk_events.get("fills", 0) + 1

    def on_session_end(self, now: datetime) -> None:
        self.session_ends.append(now)
        acct = self.market.account()
        self.results.daily.append(DailyRecord(now.date(), acct.nlv, acct.bp_used / acct.nlv,
                                              0.0, "", 0.0, Regime.NORMAL, 0))

    def on_end(self) -> None:
        self.ended += 1


def stub_factory(config: Config, market: SimMarket, broker: SimBroker, store: FileStore,
                 log: Callable[[str], None]) -> StubSystem:
    return StubSystem(config, market, broker, store, log)


def sample_results() -> SystemResults:
    """Hand-built results with two closed trades, skips, rejections and events."""
    t0 = datetime(2022, 1, 7, 10, 30)
    trades = [
        ClosedTrade("1", "friday_0dte", "ES", "iron_condor", t0, datetime(2022, 1, 7, 15, 45),
                    date(2022, 1, 7), 0, 2,
                    ("1:P:4500:2022-01-07", "-1:P:4530:2022-01-07", "-1:C:4700:2022-01-07",
                     "1:C:4730:2022-01-07"),
                    (-0.05, 0.16, -0.16, 0.05), -4.5, -1.25, 325.0, 10.0, 25.0,
                    "PROFIT_TARGET"),
        ClosedTrade("2", "lt112", "MES", "lt112", datetime(2022, 2, 2, 10, 0),
                    datetime(2022, 3, 1, 11, 0), date(2022, 6, 17), 135, 1,
                    ("1:P:4200:2022-06-17", "-1:P:4150:2022-06-17", "-2:P:3500:2022-06-17"),
                    (-0.25, 0.22, 0.1), -12.0, 30.0, -210.0, 7.5, 5.0, "STOP_LOSS"),
    ]
    return SystemResults(
        trades=trades,
        strategies={"friday_0dte": StrategyStats(1, 1, 1, 0, 325.0, 0.22, 10.0, 25.0),
                    "lt112": StrategyStats(1, 1, 0, 1, -210.0, 27.0, 7.5, 5.0)},
        skips={"friday_0dte": {"no_strike_in_range": 3}},
        rejections={"stress": {"worst_loss_above_limit": 2}},
        risk_events={"regime_change": 4, "breaker_reduced": 1},
        daily=[DailyRecord(date(2022, 1, 3), 100_000.0, 0.1, 1500.0, "-10%/x2", 0.0,
                           Regime.NORMAL, 0),
               DailyRecord(date(2022, 1, 4), 100_500.0, 0.12, 1600.0, "-10%/x2", 500.0,
                           Regime.CALM, 1)],
        invariants=Invariants(max_bp_utilization=0.3, max_positions_per_group={"A1": 1}),
    )


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path
