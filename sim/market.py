"""``SimMarket``: the offline engine's :class:`system.ports.Market`.

The engine calls :meth:`SimMarket.advance` with each bar time; everything the market returns is
as of that bar (quotes are stamped with it). Quotes, chains and the market state are cached per
bar; :meth:`SimMarket.prefetch` values a set of contracts (holdings, working orders) in one
vectorised call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

import numpy as np

from config.instruments import Contract
from execution.types import Account, PricePoint, Quote
from sim.calendar import TradingCalendar
from sim.chains import ChainBuilder
from sim.margin import IntArray, MarginPlan
from sim.model import DayPath, MarketModel
from sim.pricing import (
    ContractBatch,
    MarketState,
    Pricer,
    QuarterlyCycle,
    Valuation,
    frac_left,
)
from sim.products import BASE_SERIES, FutureStyle, Product, product
from strategies.types import FloatArray, RawChain

LISTING_HORIZON_DAYS = 1200
"""Calendar days past the run's end that the calendar must cover (longest listing horizon)."""


class ContractSet:
    """A fixed tuple of simulated contracts with their static columns and row numbers.

    ``qty`` optionally carries signed holdings per row; ``plan`` is the margin plan of those
    holdings (set by the broker); the market caches the set's valuation per bar. A ``whole_day``
    set's valuation is row ``grid_row`` of ``grid``; ``totals`` holds what the broker derived from
    a whole grid (for the grid ``totals_of``).
    """

    __slots__ = ("batch", "contracts", "grid", "grid_day", "grid_from", "grid_row", "plan", "qty",
                 "quoted", "rows", "span_time", "span_value", "stamp", "totals", "totals_of",
                 "valuation", "whole_day")

    def __init__(self, contracts: tuple[Contract, ...], batch: ContractBatch,
                 qty: IntArray | None = None, whole_day: bool = False) -> None:
        self.contracts = contracts
        self.whole_day = whole_day
        self.grid: Valuation | None = None
        self.grid_day = -1
        self.grid_from = 0
        self.grid_row = -1
        self.totals: tuple[FloatArray, FloatArray] | None = None
        self.totals_of: Valuation | None = None
        self.batch = batch
        self.rows = {c: i for i, c in enumerate(contracts)}
        self.qty = qty
        self.plan: MarginPlan | None = None
        self.stamp = -1
        self.quoted = -1
        self.valuation: Valuation | None = None
        self.span_time: datetime | None = None
        self.span_value = 0.0


class SimMarket:
    """Market port over a :class:`sim.model.MarketModel`.

    Parameters
    ----------
    model
        The market model (its sessions are the run's trading days).
    cal
        Trading calendar covering the model's history, the run and the listing horizon.
    rate
        Risk-free rate (annual, continuously compounded) used for pricing and futures carry.
    """

    def __init__(self, model: MarketModel, cal: TradingCalendar, rate: float) -> None:
        self.model = model
        self.cal = cal
        self.rate = rate
        first, last = model.sessions[0], model.sessions[-1]
        self.quarterly = QuarterlyCycle(cal, first - timedelta(days=800),
                                        min(cal.last, last + timedelta(days=LISTING_HORIZON_DAYS)))
        self.pricer = Pricer(cal, self.quarterly)
        self.chains = ChainBuilder(cal, self.pricer, first, last)
        self._path: DayPath | None = None
        self._bar_index: dict[datetime, int] = {}
        self._bar = -1
        self._now: datetime | None = None
        self._session_index = 0
        self._fracs = np.zeros(1)
        self._state: MarketState | None = None
        self._quotes: dict[Contract, tuple[Quote | None, float | None]] = {}
        self._chains: dict[tuple[str, int, int], RawChain | None] = {}
        self._watch: ContractSet | None = None
        self._stamp = 0
        self._account: Callable[[], Account] | None = None

    # ------------------------------------------------------------------ engine side
    def bind_account(self, account: Callable[[], Account]) -> None:
        """Where :meth:`account` comes from (the simulated broker)."""
        self._account = account

    def advance(self, now: datetime) -> None:
        """Move to bar ``now`` (a bar time of the current or the next session)."""
        day = now.date()
        if self._path is None or self._path.day != day:
            self._path = self.model.day(day)
            self._bar_index = {t: i for i, t in enumerate(self._path.times)}
            self._session_index = self.cal.session_index(day)
            session = self.cal.session(day)
            self._fracs = np.array([frac_left(t, session.open, session.close)
                                    for t in self._path.times])
        idx = self._bar_index.get(now)
        if idx is None:
            raise ValueError(f"{now} is not a bar time of {day}")
        self._bar = idx
        self._now = now
        self._state = None
        self._quotes.clear()
        self._chains.clear()
        self._watch = None
        self._stamp += 1

    @property
    def after_close(self) -> bool:
        """True at the session's last bar (the close)."""
        return self._path is not None and self._bar == len(self._path.times) - 1

    def state(self) -> MarketState:
        """The model at the current bar."""
        if self._state is None:
            path = self._require()
            b = self._bar
            self._state = MarketState.build(
                self.now(), self._session_index, self._fracs[b:b + 1], path.series[b:b + 1],
                path.vix[b:b + 1], path.vol_level, self.rate)
        return self._state

    def rest_of_day(self) -> MarketState:
        """The model from the current bar to the day's close (one row per bar)."""
        path = self._require()
        b = self._bar
        return MarketState.build(self.now(), self._session_index, self._fracs[b:],
                                 path.series[b:], path.vix[b:], path.vol_level, self.rate)

    def _require(self) -> DayPath:
        if self._path is None or self._now is None:
            raise RuntimeError("SimMarket.advance() has not been called yet")
        return self._path

    def contract_set(self, contracts: tuple[Contract, ...], qty: IntArray | None = None,
                     whole_day: bool = False) -> ContractSet:
        """A :class:`ContractSet` of simulated ``contracts`` (``KeyError`` for others).

        A ``whole_day`` set is valued for every remaining bar of the day in one call the first
        time it is needed (for sets that live across bars: holdings, working orders).
        """
        return ContractSet(contracts, self.pricer.batch(contracts), qty, whole_day)

    def value_set(self, cs: ContractSet) -> Valuation:
        """Valuation of ``cs`` at the current bar (computed once per bar and set)."""
        if cs.stamp == self._stamp and cs.valuation is not None:
            return cs.valuation
        path = self._require()
        if cs.whole_day:
            day = path.day.toordinal()
            if cs.grid is None or cs.grid_day != day or cs.grid_from > self._bar:
                cs.grid = self.pricer.value_grid(cs.batch, self.rest_of_day())
                cs.grid_day, cs.grid_from = day, self._bar
            cs.grid_row = self._bar - cs.grid_from
            cs.valuation = cs.grid.row(cs.grid_row)
        else:
            cs.valuation = self.pricer.value(cs.batch, self.state())
        cs.stamp = self._stamp
        return cs.valuation

    def prefetch(self, contracts: ContractSet | Iterable[Contract]) -> None:
        """Value ``contracts`` in one vectorised call; :meth:`quote` reads from it this bar."""
        if not isinstance(contracts, ContractSet):
            known = tuple(c for c in dict.fromkeys(contracts) if self.pricer.supports(c))
            if not known:
                return
            contracts = self.contract_set(known)
        if len(contracts.contracts):
            self.value_set(contracts)
            self._watch = contracts

    def _from_set(self, contract: Contract,
                  cs: ContractSet) -> tuple[Quote | None, float | None] | None:
        i = cs.rows.get(contract)
        if i is None:
            return None
        val = self.value_set(cs)
        bid, ask = float(val.bid[i]), float(val.ask[i])
        if not (math.isfinite(bid) and math.isfinite(ask)):
            return None, None
        return Quote(bid, ask, self.now()), float(val.underlying[i])

    def _quote_watch(self, cs: ContractSet) -> None:
        """Quotes of every contract of the prefetched set at once (what :meth:`_from_set` gives
        for each); quotes already looked up this bar are kept."""
        val = self.value_set(cs)
        now = self.now()
        quotes: dict[Contract, tuple[Quote | None, float | None]] = {}
        for c, bid, ask, under in zip(cs.contracts, val.bid.tolist(), val.ask.tolist(),
                                      val.underlying.tolist(), strict=True):
            if math.isfinite(bid) and math.isfinite(ask):
                quotes[c] = (Quote(bid, ask, now), under)
            else:
                quotes[c] = (None, None)
        quotes.update(self._quotes)
        self._quotes = quotes

    def _lookup(self, contract: Contract) -> tuple[Quote | None, float | None]:
        hit = self._quotes.get(contract)
        if hit is not None:
            return hit
        watch = self._watch
        if watch is not None and watch.quoted != self._stamp:
            watch.quoted = self._stamp
            self._quote_watch(watch)
            hit = self._quotes.get(contract)
            if hit is not None:
                return hit
        got: tuple[Quote | None, float | None] = (None, None)
        if self.pricer.supports(contract):
            one = self._from_set(contract, self.contract_set((contract,)))
            assert one is not None
            got = one
        self._quotes[contract] = got
        return got

    # ------------------------------------------------------------------ Market port
    def now(self) -> datetime:
        self._require()
        assert self._now is not None
        return self._now

    def _root_level(self, p: Product, bar: int | None = None) -> float:
        path = self._require()
        level = float(path.series[self._bar if bar is None else bar,
                                  BASE_SERIES.index(p.series)]) * p.scale
        if p.style is FutureStyle.QUARTERLY:
            today = path.day
            days = (self.quarterly.front(today) - today).days
            level *= math.exp(self.rate * days / 365.0)
        return level

    def price(self, root: str) -> PricePoint | None:
        """Latest price of ``root``'s underlying (the front quarterly future for ES/MES/NQ/MNQ,
        the flat-curve future level for commodity and currency roots)."""
        try:
            p = product(root)
        except KeyError:
            return None
        return PricePoint(self._root_level(p), self.now())

    def session_open(self, root: str) -> float | None:
        try:
            p = product(root)
        except KeyError:
            return None
        return self._root_level(p, 0)

    def vix(self) -> PricePoint | None:
        path = self._require()
        return PricePoint(float(path.vix[self._bar]), self.now())

    def chain(self, root: str, min_dte: int, max_dte: int) -> RawChain | None:
        """Option quotes of ``root`` with ``min_dte <= DTE <= max_dte`` (None for a root without
        simulated options; an empty chain when no listed expiry falls in the window)."""
        key = (root, min_dte, max_dte)
        if key in self._chains:
            return self._chains[key]
        raw = self.chains.build(root, self.state(), min_dte, max_dte)
        self._chains[key] = raw
        return raw

    def quote(self, contract: Contract) -> Quote | None:
        """Bid/ask of ``contract`` now; None for unknown roots and expired contracts."""
        return self._lookup(contract)[0]

    def underlying_price(self, contract: Contract) -> float | None:
        """The option's underlying: the futures contract for futures options (quarterly ES
        contract at or after the expiry; flat curve for commodities), the spot otherwise.
        Also for a contract that expired today (its settlement price at the close)."""
        under = self._lookup(contract)[1]
        if under is None and self.pricer.supports(contract):
            val = self.value_set(self.contract_set((contract,)))
            return float(val.underlying[0])
        return under

    def account(self) -> Account:
        if self._account is None:
            raise RuntimeError("no account bound to the market (bind_account)")
        return self._account()

    def _history_scale(self, p: Product, days: list[date]) -> FloatArray:
        if p.style is not FutureStyle.QUARTERLY:
            return np.full(len(days), p.scale)
        carry = [math.exp(self.rate * (self.quarterly.front(d) - d).days / 365.0) for d in days]
        return np.asarray(np.array(carry) * p.scale, dtype=np.float64)

    def _completed(self) -> bool:
        """Whether today's close is part of the daily history (at and after the close)."""
        return self._path is None or self.after_close

    def daily_history(self, root: str, days: int) -> FloatArray:
        """Up to ``days`` daily closes of ``root`` (oldest first), ending with the last completed
        session (today's close only from the close bar on)."""
        try:
            p = product(root)
        except KeyError:
            return np.zeros(0)
        closes = self.model.closes(p.series, days, include_last=self._completed())
        end = self.model.hist_len if self._completed() else self.model.hist_len - 1
        hist_days = self.model.hist_days[max(0, end - closes.shape[0]):end]
        return np.asarray(closes * self._history_scale(p, hist_days), dtype=np.float64)

    def atm_iv_history(self, root: str, days: int) -> FloatArray:
        """Up to ``days`` daily 30-day ATM implied vols of ``root`` (oldest first), same days as
        :meth:`daily_history`."""
        try:
            p = product(root)
        except KeyError:
            return np.zeros(0)
        return self.model.atm_history(p.series, days, include_last=self._completed())

    def day_close(self, root: str) -> float | None:
        """Today's closing price of ``root`` (the last bar of the day)."""
        try:
            p = product(root)
        except KeyError:
            return None
        return self._root_level(p, len(self._require().times) - 1)
