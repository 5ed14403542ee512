"""Tom King Trading System on QuantConnect LEAN: ``TomKingAlgorithm``.

The algorithm is a shell around :class:`system.trading_system.TradingSystem`: it reads the project
parameters, subscribes to what the strategies trade, registers their schedules, and forwards
slices, schedule events, order events and the session end to the system through the LEAN
adapters in :mod:`lean_bridge`. All trading decisions are made by the system.

Parameters (``config.json``): ``start``, ``end`` (YYYY-MM-DD), ``cash`` (USD), ``brokerage``
(``tastytrade`` or ``interactive_brokers``) and any name of ``config.defaults.DEFAULTS``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import cast

from AlgorithmImports import *

from config import Brokerage as CoreBrokerage
from config import Engine as CoreEngine
from config import InstrumentKind as CoreInstrumentKind
from config import Right as CoreRight
from config import load_config
from config.loader import SHELL_PARAMETERS
from config.model import Schedule as CoreSchedule
from lean_bridge.broker import LeanBroker
from lean_bridge.market import VIX, LeanMarket
from lean_bridge.pump import EventPump
from lean_bridge.reporting import daily_points, runtime_statistics
from lean_bridge.scheduling import RuleDispatcher, exchange_trading_day
from lean_bridge.shell import core_parameters, shell_settings
from lean_bridge.store import LeanStore
from lean_bridge.subscriptions import (
    OptionSubscription,
    SubscriptionPlan,
    history_days,
    plan_subscriptions,
    select_contracts,
    warmup_calendar_days,
)
from lean_bridge.symbols import LeanEnums, SymbolBook
from system.trading_system import TradingSystem

# The session-end call runs this many minutes after the reference exchange's close (after the
# last bar of the day, half days included).
SESSION_END_DELAY_MINUTES = 1


def _update_fields(limit: float, tag: str) -> UpdateOrderFields:
    """``UpdateOrderFields`` carrying a new combo limit (net price, as at submission)."""
    fields = UpdateOrderFields()
    fields.limit_price = limit
    fields.tag = tag
    return fields


class TomKingAlgorithm(QCAlgorithm):
    """LEAN entry point of the Tom King Trading System."""

    # Parameters read by the shell and not passed to config.load_config.
    shell_parameter_names: frozenset[str] = SHELL_PARAMETERS

    def initialize(self) -> None:
        params = {str(k): str(v) for k, v in self.get_parameters().items()}
        shell = shell_settings(params)
        self.core_config = load_config(core_parameters(params, self.shell_parameter_names))
        cfg = self.core_config

        self.set_time_zone(TimeZones.NEW_YORK)  # before the dates and the subscriptions
        self.set_start_date(shell.start)
        self.set_end_date(shell.end)
        self.set_cash(shell.cash)
        brokerages = {
            CoreBrokerage.TASTYTRADE: BrokerageName.TASTYTRADE,
            CoreBrokerage.INTERACTIVE_BROKERS: BrokerageName.INTERACTIVE_BROKERS_BROKERAGE,
        }
        self.set_brokerage_model(brokerages[cfg.brokerage], AccountType.MARGIN)
        # The system's own circuit breakers manage risk; LEAN's margin calls would liquidate
        # legs one by one.
        self.portfolio.margin_call_model = MarginCallModel.NULL

        self.lean_enums = LeanEnums(
            call=OptionRight.CALL,
            future=SecurityType.FUTURE,
            future_option=SecurityType.FUTURE_OPTION,
            option_types=(SecurityType.OPTION, SecurityType.INDEX_OPTION,
                          SecurityType.FUTURE_OPTION),
            filled=OrderStatus.FILLED,
            partially_filled=OrderStatus.PARTIALLY_FILLED,
            canceled=OrderStatus.CANCELED,
            invalid=OrderStatus.INVALID,
        )
        self.add_security_initializer(self._initialize_security)

        strangle = cfg.strategies.futures_strangle
        days = history_days(cfg)
        self.symbol_book = SymbolBook(self.lean_enums)
        self.lean_market = LeanMarket(
            self._now, self.securities, self.portfolio, self.symbol_book,
            session_start=cfg.strategies.friday_0dte.classify_start, history_days=days,
            iv_tenor=(strangle.dte.lo, strangle.dte.target, strangle.dte.hi),
            risk_free_rate=cfg.risk_free_rate)
        plan = plan_subscriptions(cfg)
        reference = self._subscribe(plan)
        vix = self.add_index(VIX, Resolution.MINUTE)
        self.lean_market.track(VIX, vix.symbol)

        self.lean_broker = LeanBroker(self, self.portfolio, self.symbol_book, self.lean_enums,
                                      cfg.brokerage, Leg.create, _update_fields, self._now,
                                      self._log_line)
        self.lean_store = LeanStore(self.object_store, self._log_line)
        self.system = TradingSystem(cfg, self.lean_market, self.lean_broker, self.lean_store,
                                    CoreEngine.LEAN, log=self._log_line)
        self.pump = EventPump(self.lean_broker.drain, self.system.on_fill)
        self._started = False
        self._plotted_days = 0

        hours = self.securities[reference].exchange.hours
        self.dispatcher = RuleDispatcher(self._today, exchange_trading_day(hours), self._ready,
                                         self._fire_rule)
        self._register_schedules(reference, self.system.schedules())
        self.schedule.on(self.date_rules.every_day(reference),
                         self.time_rules.after_market_close(reference, SESSION_END_DELAY_MINUTES),
                         self._on_session_end)

        self.set_warm_up(timedelta(days=warmup_calendar_days(days)), Resolution.DAILY)
        for key, root in plan.unavailable:
            self._log_line(f"SUBSCRIBE {key.value} {root}: LEAN has no option data for this "
                           f"root; the strategy skips it")
        self._announce(f"INIT brokerage={cfg.brokerage.value} start={shell.start} "
                       f"end={shell.end} cash={shell.cash:g} option roots="
                       f"{','.join(s.root for s in plan.options)} warm-up days="
                       f"{warmup_calendar_days(days)}")

    # -- subscriptions ----------------------------------------------------------------------------
    def _subscribe(self, plan: SubscriptionPlan) -> Symbol:
        """Add every underlying and option universe of ``plan``; returns the reference symbol
        whose exchange hours and time zone the schedules use (SPY, else SPX)."""
        underlyings: dict[str, Symbol] = {}
        for root in plan.indices:
            underlyings[root] = self.add_index(root, Resolution.MINUTE).symbol
        for root in plan.equities:
            underlyings[root] = self.add_equity(
                root, Resolution.MINUTE,
                data_normalization_mode=DataNormalizationMode.RAW).symbol
        for root, reach_days in plan.futures.items():
            future = self.add_future(root, Resolution.MINUTE,
                                     data_normalization_mode=DataNormalizationMode.RAW,
                                     data_mapping_mode=DataMappingMode.OPEN_INTEREST,
                                     contract_depth_offset=0)
            future.set_filter(0, reach_days)
            underlyings[root] = future.symbol
        for name, symbol in underlyings.items():
            self.lean_market.track(name, symbol)
        for sub in plan.options:
            self._subscribe_options(sub, underlyings[sub.underlying])
        for name in ("SPY", "SPX"):
            if name in underlyings:
                return underlyings[name]
        return self.add_equity("SPY", Resolution.MINUTE).symbol

    def _subscribe_options(self, sub: OptionSubscription, underlying: Symbol) -> None:
        select = self._option_filter(sub)
        if sub.kind is CoreInstrumentKind.FUTURE:
            # add_future_option returns None; the chains arrive one per futures contract.
            self.add_future_option(underlying, select)
            self.lean_market.track_future_options(sub.root, underlying)
            return
        if sub.kind is CoreInstrumentKind.INDEX:
            if sub.root != sub.underlying:
                option = self.add_index_option(underlying, sub.root, Resolution.MINUTE)
            else:
                option = self.add_index_option(underlying, Resolution.MINUTE)
        else:
            option = self.add_option(underlying, Resolution.MINUTE)
        option.set_filter(select)
        self.lean_market.track_options(sub.root, option.symbol)

    def _option_filter(
        self, sub: OptionSubscription,
    ) -> Callable[[OptionFilterUniverse], OptionFilterUniverse]:
        call = self.lean_enums.call
        bands = sub.bands

        def describe(contract: OptionUniverse) -> tuple[date, float, CoreRight]:
            sid = contract.symbol.id
            right = CoreRight.CALL if sid.option_right == call else CoreRight.PUT
            return sid.date.date(), float(sid.strike_price), right

        def apply(universe: OptionFilterUniverse) -> OptionFilterUniverse:
            price = (float(universe.underlying.price) if universe.underlying is not None
                     else float("nan"))
            today = universe.local_time.date()
            # The stubs type the fluent filter methods' results as Any; the result is the
            # universe itself.
            selected: OptionFilterUniverse = universe.include_weeklys().contracts(
                lambda contracts: select_contracts(contracts, describe, price, today, bands))
            return selected

        return apply

    def _initialize_security(self, security: Security) -> None:
        """Options: no LEAN greeks (``greeks/`` computes them from mids) and no simulated early
        assignment (short 0DTE legs would be assigned intraday). The brokerage's fee, fill and
        margin models come from the brokerage model's initializer this one is added to."""
        if security.type in self.lean_enums.option_types:
            option = cast(Option, security)
            option.set_price_model(OptionPriceModels.null())
            option.set_option_assignment_model(NullOptionAssignmentModel())

    # -- schedules --------------------------------------------------------------------------------
    def _register_schedules(self, reference: Symbol,
                            schedules: tuple[CoreSchedule, ...]) -> None:
        """Every schedule runs every trading day at its time (exchange time, US/Eastern); the
        dispatcher fires the rule only on its days (first Wednesday, holiday rolls, ...)."""
        for schedule in schedules:
            self.schedule.on(
                self.date_rules.every_day(reference),
                self.time_rules.at(schedule.at.hour, schedule.at.minute, TimeZones.NEW_YORK),
                self.dispatcher.handler(schedule))

    def _fire_rule(self, rule: str) -> None:
        self.pump.run(lambda: self.system.on_schedule(rule))

    def _on_session_end(self) -> None:
        if not self._ready():
            return
        self.pump.run(lambda: self.system.on_session_end(self.time))
        self._plot_new_days()

    # -- LEAN events ------------------------------------------------------------------------------
    def on_warmup_finished(self) -> None:
        """Load persisted state and reconcile it with the broker's holdings, then trade."""
        self.pump.run(self.system.start)
        self._started = True
        self._announce(f"START holdings={len(self.lean_broker.holdings())} "
                       f"nlv={self.portfolio.total_portfolio_value:,.0f}")

    def on_data(self, slice: Slice) -> None:
        self.lean_market.on_slice(slice)
        if self._ready():
            self.pump.run(lambda: self.system.on_bar(self.time))

    def on_order_event(self, order_event: OrderEvent) -> None:
        self.lean_broker.on_order_event(order_event)
        self.pump.flush()

    def on_end_of_algorithm(self) -> None:
        if self._started:
            self.pump.run(self.system.on_end)
            self._plot_new_days()
        for name, value in runtime_statistics(self.system.results).items():
            self.set_runtime_statistic(name, value)
        self._announce(f"END {runtime_statistics(self.system.results)}")

    # -- helpers ----------------------------------------------------------------------------------
    def _plot_new_days(self) -> None:
        daily = self.system.results.daily
        for record in daily[self._plotted_days:]:
            for point in daily_points(record):
                self.plot(point.chart, point.series, point.value)
        self._plotted_days = len(daily)
        for name, value in runtime_statistics(self.system.results).items():
            self.set_runtime_statistic(name, value)

    def _ready(self) -> bool:
        return self._started and not self.is_warming_up

    def _now(self) -> datetime:
        return self.time

    def _today(self) -> date:
        return self.time.date()

    def _log_line(self, text: str) -> None:
        self.log(text)

    def _announce(self, text: str) -> None:
        """Milestones go to the console as well as the log."""
        self.debug(text)
        self.log(text)
