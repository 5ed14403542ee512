"""``system.ports.Market`` on LEAN: prices, chains and quotes from slices, the account from the
portfolio, daily history recorded as the run goes (warm-up included).

LEAN behaviour relied on (LEAN_NOTES.md and the ``quantconnect-stubs`` types):

* ``slice.option_chains`` maps a *canonical* option symbol to an ``OptionChain``; futures options
  arrive as one chain per futures contract, keyed by a canonical option symbol whose
  ``underlying`` is that futures contract. ``chain.underlying.price`` is the chain's underlying
  (the futures contract for a futures option).
* ``securities[symbol]`` holds the latest ``bid_price``/``ask_price``/``price``; its
  ``get_last_data().end_time`` is in the exchange time zone and ``local_time`` is the exchange's
  current time, so their difference is the data's age whatever the exchange's time zone.
* LEAN reports a missing bid or ask as 0.

Cost per slice is O(tracked underlyings + chains in the slice): chains are stored by reference
and only walked when :meth:`LeanMarket.chain` is asked for them.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import numpy as np

from config.enums import Right
from config.instruments import CATALOGUE, Contract, instrument
from execution.types import Account, PricePoint, Quote
from lean_bridge.symbols import SymbolBook
from strategies.quotes import solve_greeks, years_to_expiry
from strategies.types import FloatArray, RawChain

if TYPE_CHECKING:
    from QuantConnect import Symbol
    from QuantConnect.Data import Slice
    from QuantConnect.Data.Market import OptionChain
    from QuantConnect.Securities import SecurityManager, SecurityPortfolioManager

VIX = "VIX"

_NAN = float("nan")


def _positive(x: float) -> float:
    """``x`` when finite and > 0, else NaN (LEAN reports a missing price as 0)."""
    return x if math.isfinite(x) and x > 0.0 else _NAN


def _bid(x: float) -> float:
    """A bid may legitimately be 0 (no bid); negative or non-finite is missing."""
    return x if math.isfinite(x) and x >= 0.0 else _NAN


class LeanMarket:
    """Market port fed by LEAN slices.

    Parameters
    ----------
    clock
        The algorithm's current time (``lambda: algorithm.time``), naive exchange time (US/Eastern).
    securities, portfolio
        ``algorithm.securities`` and ``algorithm.portfolio``.
    book
        Contract <-> Symbol book shared with the broker.
    session_start
        Regular-session open (exchange time); the first bar after it gives the session open.
    history_days
        Daily closes and ATM implied vols kept per root.
    iv_tenor
        ``(lo, target, hi)`` calendar days: ATM implied vol is read from the expiry nearest
        ``target`` inside ``[lo, hi]``.
    risk_free_rate
        Annual rate used when solving implied vols.
    """

    def __init__(self, clock: Callable[[], datetime], securities: SecurityManager,
                 portfolio: SecurityPortfolioManager, book: SymbolBook, *,
                 session_start: time, history_days: int, iv_tenor: tuple[int, int, int],
                 risk_free_rate: float) -> None:
        if history_days < 1:
            raise ValueError(f"history_days must be >= 1, got {history_days}")
        lo, target, hi = iv_tenor
        if not 0 <= lo <= target <= hi:
            raise ValueError(f"iv_tenor must satisfy 0 <= lo <= target <= hi, got {iv_tenor}")
        self._clock = clock
        self._securities = securities
        self._portfolio = portfolio
        self._book = book
        self._session_start = session_start
        self._history_days = history_days
        self._iv_tenor = iv_tenor
        self._rate = risk_free_rate
        # underlying series name (catalogue underlying root, or VIX) -> LEAN symbol
        self._series: dict[str, Symbol] = {}
        # option chain roots by canonical symbol (index/equity options) or by canonical future
        self._option_roots: dict[Symbol, str] = {}
        self._future_option_roots: dict[Symbol, str] = {}
        self._last: dict[str, PricePoint] = {}
        self._open: dict[str, float] = {}
        self._closes: dict[str, deque[float]] = {}
        self._ivs: dict[str, deque[float]] = {}
        # root -> canonical option symbol -> (chain, time it arrived)
        self._chains: dict[str, dict[Symbol, tuple[OptionChain, datetime]]] = {}
        self._day: date | None = None

    # -- registration (main.py, at initialise) ------------------------------------------------
    def track(self, name: str, symbol: Symbol) -> None:
        """Record prices of ``symbol`` as series ``name`` (a catalogue underlying root such as
        ``SPX``, ``ES``, ``SPY``, or ``VIX``)."""
        if name != VIX and name not in CATALOGUE:
            raise KeyError(f"unknown series {name!r}; expected VIX or a catalogue root")
        self._series[name] = symbol
        self._closes.setdefault(name, deque(maxlen=self._history_days))

    def track_options(self, root: str, canonical: Symbol) -> None:
        """Chains keyed by ``canonical`` (``add_option``/``add_index_option``) are ``root``'s."""
        instrument(root)
        self._option_roots[canonical] = root
        self._ivs.setdefault(root, deque(maxlen=self._history_days))

    def track_future_options(self, root: str, canonical_future: Symbol) -> None:
        """Chains whose canonical symbol's ``underlying.canonical`` is ``canonical_future`` (from
        ``add_future``) are ``root``'s futures-option chains."""
        instrument(root)
        self._future_option_roots[canonical_future] = root
        self._ivs.setdefault(root, deque(maxlen=self._history_days))

    # -- feed ---------------------------------------------------------------------------------
    def on_slice(self, data: Slice) -> None:
        """Take the latest prices and chains from one slice; closes the previous day first when
        the slice starts a new day."""
        now = data.time
        if self._day != now.date():
            self._close_day(now)
        after_open = now.time() > self._session_start
        for name, symbol in self._series.items():
            if not data.contains_key(symbol):
                continue
            security = self._securities[symbol]
            px = _positive(security.price)
            if math.isnan(px):
                continue
            self._last[name] = PricePoint(px, now)
            if after_open and name not in self._open:
                first = _positive(security.open)
                self._open[name] = px if math.isnan(first) else first
        for canonical, chain in data.option_chains.items():
            root = self._chain_root(canonical)
            if root is not None:
                self._chains.setdefault(root, {})[canonical] = (chain, now)

    def _chain_root(self, canonical: Symbol) -> str | None:
        root = self._option_roots.get(canonical)
        if root is None and self._book.is_future_option(canonical):
            root = self._future_option_roots.get(canonical.underlying.canonical)
            if root is not None:
                self._option_roots[canonical] = root
        return root

    def _close_day(self, now: datetime) -> None:
        """Append the ending day's close and ATM implied vol, drop chains not seen that day."""
        ending = self._day
        if ending is not None:
            for name, point in self._last.items():
                if point.time.date() == ending:
                    self._closes[name].append(point.value)
            for root in list(self._chains):
                iv = self._atm_iv(root, self._last_chain_time(root))
                if math.isfinite(iv):
                    self._ivs[root].append(iv)
                kept = {k: v for k, v in self._chains[root].items() if v[1].date() == ending}
                self._chains[root] = kept
        self._open.clear()
        self._day = now.date()

    def _last_chain_time(self, root: str) -> datetime:
        return max((t for _, t in self._chains[root].values()), default=self._clock())

    # -- Market port --------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._clock()

    def price(self, root: str) -> PricePoint | None:
        name = root if root == VIX or root not in CATALOGUE else instrument(root).underlying
        return self._last.get(name)

    def session_open(self, root: str) -> float | None:
        if root not in CATALOGUE:
            return None
        return self._open.get(instrument(root).underlying)

    def vix(self) -> PricePoint | None:
        return self._last.get(VIX)

    def chain(self, root: str, min_dte: int, max_dte: int) -> RawChain | None:
        """Every contract of ``root``'s stored chains with ``min_dte <= DTE <= max_dte``; None
        when no chain of ``root`` has arrived."""
        stored = self._chains.get(root)
        if not stored:
            return None
        today = self._clock().date()
        expiry: list[date] = []
        strike: list[float] = []
        is_call: list[bool] = []
        bid: list[float] = []
        ask: list[float] = []
        qtime: list[datetime] = []
        und: list[float] = []
        oldest: datetime | None = None
        for chain, seen in stored.values():
            base = chain.underlying
            underlying = _NAN if base is None else _positive(base.price)
            used = False
            for oc in chain:
                contract = self._book.contract_of(oc.symbol, root)
                if contract is None or contract.right is None:
                    continue
                dte = (contract.expiry - today).days
                if dte < min_dte or dte > max_dte:
                    continue
                used = True
                expiry.append(contract.expiry)
                strike.append(contract.strike)
                is_call.append(contract.right is Right.CALL)
                bid.append(_bid(oc.bid_price))
                ask.append(_positive(oc.ask_price))
                qtime.append(seen)
                und.append(underlying)
            if used and (oldest is None or seen < oldest):
                oldest = seen
        return RawChain(
            root,
            np.array(expiry, dtype="datetime64[D]"),
            np.array(strike, dtype=np.float64),
            np.array(is_call, dtype=np.bool_),
            np.array(bid, dtype=np.float64),
            np.array(ask, dtype=np.float64),
            np.array(qtime, dtype="datetime64[s]"),
            np.array(und, dtype=np.float64),
            oldest if oldest is not None else max(t for _, t in stored.values()),
        )

    def quote(self, contract: Contract) -> Quote | None:
        symbol = self._book.symbol_of(contract)
        if symbol is None or not self._securities.contains_key(symbol):
            return None
        security = self._securities[symbol]
        last = security.get_last_data()
        if last is None:
            return None
        age = security.local_time - last.end_time
        return Quote(_bid(security.bid_price), _positive(security.ask_price), self._clock() - age)

    def underlying_price(self, contract: Contract) -> float | None:
        symbol = self._book.symbol_of(contract)
        if symbol is None:
            point = self.price(contract.root)
            return None if point is None else point.value
        target = symbol.underlying if contract.is_option and symbol.has_underlying else symbol
        if not self._securities.contains_key(target):
            return None
        px = _positive(self._securities[target].price)
        return None if math.isnan(px) else px

    def account(self) -> Account:
        p = self._portfolio
        return Account(nlv=p.total_portfolio_value, bp_used=p.total_margin_used,
                       bp_available=p.margin_remaining, cash=p.cash)

    def daily_history(self, root: str, days: int) -> FloatArray:
        """Recorded daily closes of ``root``'s underlying, oldest first; today's session is not
        included (it has not closed)."""
        name = root if root == VIX or root not in CATALOGUE else instrument(root).underlying
        closes = self._closes.get(name)
        if not closes or days <= 0:
            return np.empty(0, dtype=np.float64)
        return np.array(list(closes)[-days:], dtype=np.float64)

    def atm_iv_history(self, root: str, days: int) -> FloatArray:
        """Recorded daily ATM implied vols of ``root``, oldest first, ending with today's value
        from the current chain when it can be solved."""
        recorded = self._ivs.get(root)
        if days <= 0 or recorded is None:
            return np.empty(0, dtype=np.float64)
        values = list(recorded)
        if root in self._chains:
            today = self._atm_iv(root, self._clock())
            if math.isfinite(today):
                values.append(today)
        return np.array(values[-days:], dtype=np.float64)

    # -- ATM implied vol ----------------------------------------------------------------------
    def _atm_iv(self, root: str, now: datetime) -> float:
        lo, target, hi = self._iv_tenor
        raw = self.chain(root, lo, hi)
        if raw is None or len(raw) == 0:
            return _NAN
        return atm_implied_vol(raw, now, target, self._rate)


def atm_implied_vol(raw: RawChain, now: datetime, target_dte: int, rate: float) -> float:
    """At-the-money implied vol of ``raw``: the expiry nearest ``target_dte`` calendar days, the
    strike nearest that expiry's underlying, mean of the call's and put's implied vols from their
    mids (either alone when the other cannot be solved). NaN when nothing can be solved.

    Quotes need ``0 < bid <= ask``; vols come from :func:`strategies.quotes.solve_greeks` (Black-76
    for futures options, Black–Scholes–Merton otherwise), as for the chain snapshot.
    """
    ok = (np.isfinite(raw.bid) & np.isfinite(raw.ask) & (raw.bid > 0.0) & (raw.ask >= raw.bid)
          & np.isfinite(raw.underlying) & (raw.underlying > 0.0))
    if not ok.any():
        return _NAN
    today = np.datetime64(now.date(), "D")
    dte = (raw.expiry - today).astype(np.int64)
    candidates = np.unique(dte[ok])
    best = int(candidates[np.argmin(np.abs(candidates - target_dte))])
    rows = np.flatnonzero(ok & (dte == best))
    und = float(np.median(raw.underlying[rows]))
    strikes = raw.strike[rows]
    atm = float(strikes[np.argmin(np.abs(strikes - und))])
    rows = rows[raw.strike[rows] == atm]
    mid = 0.5 * (raw.bid[rows] + raw.ask[rows])
    t = years_to_expiry(raw.expiry[rows], now)
    model = instrument(raw.root).pricing_model
    cols = solve_greeks(model, mid, raw.underlying[rows], raw.strike[rows], t, rate,
                        raw.is_call[rows])
    ivs = cols.iv[np.isfinite(cols.iv)]
    return float(ivs.mean()) if ivs.size else _NAN
