"""Builders for strategy tests: raw chains priced from a BSM/Black-76 surface, a fake
:class:`strategies.types.StrategyContext`, positions from ideas, and a small trading calendar."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from config import load_config
from config.enums import Engine, Phase, PricingModel, Regime, Right, StrategyKey
from config.instruments import Contract, instrument
from config.model import Config
from execution.types import Position, PositionLeg, Quote
from greeks import black76_price, bsm_price
from strategies.chain import ChainSnapshot
from strategies.marks import DeltaLevel, MarkPlan
from strategies.meta import entry_meta
from strategies.quotes import years_to_expiry
from strategies.types import BoolArray, FloatArray, LegMark, PositionMark, RawChain, Skip, TradeIdea


@cache
def config(**overrides: str) -> Config:
    """The default configuration with parameter overrides (cached)."""
    return load_config(dict(overrides))


CFG = config()

# US exchange holidays used by the schedule tests.
HOLIDAYS = frozenset({
    date(2024, 3, 29), date(2024, 5, 27), date(2024, 9, 2),
    date(2025, 1, 1), date(2025, 1, 20), date(2025, 2, 17), date(2025, 4, 18),
    date(2025, 5, 26), date(2025, 6, 19), date(2025, 7, 4), date(2025, 9, 1),
    date(2025, 11, 27), date(2025, 12, 25),
    date(2026, 1, 1), date(2026, 1, 19), date(2026, 2, 16), date(2026, 4, 3),
    date(2026, 5, 25), date(2026, 6, 19), date(2026, 7, 3), date(2026, 9, 7),
})


def is_trading_day(d: date) -> bool:
    return d.weekday() < 5 and d not in HOLIDAYS


def at(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm))


def raw_chain(root: str, now: datetime, expiries: Sequence[date], spot: float, *,
              vol: float = 0.20, skew: float = 0.0, width: float = 0.25,
              strike_step: float | None = None, spread: float = 0.04,
              quote_age: timedelta = timedelta(0), underlying_age: timedelta = timedelta(0),
              r: float | None = None) -> RawChain:
    """A chain of ``root`` with calls and puts at every strike within ``spot × (1 ± width)``,
    priced with the catalogue's model at vol = ``vol − skew × ln(K/F)`` (floor 1%); bid/ask =
    price ∓ half a spread of ``spread`` × price (at least one tick wide, bid floored at 0)."""
    inst = instrument(root)
    step = strike_step or inst.strike_step
    ks = np.arange(np.ceil(spot * (1 - width) / step) * step, spot * (1 + width) + 1e-9, step)
    rate = CFG.risk_free_rate if r is None else r
    cols: dict[str, list[npt.NDArray[Any]]] = {k: [] for k in ("exp", "k", "c")}
    for e in expiries:
        for is_call in (False, True):
            cols["exp"].append(np.full(ks.shape[0], np.datetime64(e, "D")))
            cols["k"].append(ks)
            cols["c"].append(np.full(ks.shape[0], is_call))
    exp = np.concatenate(cols["exp"]).astype("datetime64[D]")
    k = np.concatenate(cols["k"]).astype(np.float64)
    c = np.concatenate(cols["c"]).astype(np.bool_)
    t = years_to_expiry(exp, now)
    und = np.full(k.shape[0], spot)
    black = inst.pricing_model is PricingModel.BLACK76
    fwd = und if black else und * np.exp(rate * t)
    sig = np.maximum(vol - skew * np.log(k / fwd), 0.01)
    if black:
        price = np.asarray(black76_price(und, k, t, rate, sig, c), dtype=np.float64)
    else:
        price = np.asarray(bsm_price(und, k, t, rate, 0.0, sig, c), dtype=np.float64)
    half = np.maximum(spread * price, inst.tick) / 2.0
    bid = np.maximum(price - half, 0.0)
    ask = price + half
    bid = np.round(bid / inst.tick) * inst.tick
    ask = np.maximum(np.round(ask / inst.tick) * inst.tick, bid + inst.tick)
    qt = np.full(k.shape[0], np.datetime64(now - quote_age, "s"))
    return RawChain(root, exp, k, c, bid, ask, qt, und, now - underlying_age)


def with_columns(raw: RawChain, **cols: object) -> RawChain:
    """``raw`` with some columns replaced (arrays or callables of the raw chain)."""
    vals = {name: (v(raw) if callable(v) else v) for name, v in cols.items()}
    return replace(raw, **vals)  # type: ignore[arg-type]


def keep_rows(raw: RawChain, keep: BoolArray) -> RawChain:
    """``raw`` restricted to rows where ``keep`` is True."""
    return RawChain(raw.root, raw.expiry[keep], raw.strike[keep], raw.is_call[keep],
                    raw.bid[keep], raw.ask[keep], raw.quote_time[keep], raw.underlying[keep],
                    raw.underlying_time)


def empty_chain(root: str, now: datetime) -> RawChain:
    e: FloatArray = np.empty(0)
    return RawChain(root, np.empty(0, "datetime64[D]"), e, np.empty(0, np.bool_), e, e,
                    np.empty(0, "datetime64[s]"), e, now)


def snapshot(raw: RawChain, now: datetime, cfg: Config = CFG) -> ChainSnapshot:
    return ChainSnapshot.build(raw, now, cfg)


@dataclass
class FakeContext:
    """A :class:`strategies.types.StrategyContext` over fixed data. ``chain`` filters the root's
    raw chain to the DTE window (unless ``filter_dte`` is False: then it returns every unexpired
    expiry) and builds a snapshot; a missing root gives Skip ``no_chain``."""

    now: datetime
    phase: Phase = Phase.P4
    regime: Regime = Regime.NORMAL
    vix: float | None = 16.0
    vix_open: float | None = 16.0
    nlv: float = 150_000.0
    engine: Engine = Engine.OFFLINE
    config: Config = CFG
    chains: dict[str, RawChain] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=dict)
    opens: dict[str, float] = field(default_factory=dict)
    closes: dict[str, FloatArray] = field(default_factory=dict)
    iv_history: dict[str, FloatArray] = field(default_factory=dict)
    open_positions: list[Position] = field(default_factory=list)
    chain_calls: list[tuple[str, int, int]] = field(default_factory=list)
    filter_dte: bool = True

    def chain(self, root: str, min_dte: int, max_dte: int) -> ChainSnapshot | Skip:
        self.chain_calls.append((root, min_dte, max_dte))
        raw = self.chains.get(root)
        if raw is None:
            return Skip(StrategyKey.FRIDAY_0DTE, "no_chain", f"{root}: no chain")
        dte = (raw.expiry.astype("datetime64[D]") - np.datetime64(self.now.date(), "D")).astype(
            np.int64)
        keep = (dte >= min_dte) & (dte <= max_dte) if self.filter_dte else dte >= 0
        return ChainSnapshot.build(keep_rows(raw, keep), self.now, self.config)

    def price(self, root: str) -> float | None:
        return self.prices.get(root)

    def session_open(self, root: str) -> float | None:
        return self.opens.get(root)

    def daily_closes(self, root: str, days: int) -> FloatArray:
        return self.closes.get(root, np.empty(0))[-days:]

    def atm_iv_history(self, root: str, days: int) -> FloatArray:
        return self.iv_history.get(root, np.empty(0))[-days:]

    def positions(self, key: StrategyKey | None = None) -> tuple[Position, ...]:
        return tuple(p for p in self.open_positions if key is None or p.key is key)


_ids = iter(range(1, 10**9))


def position_from(idea: TradeIdea, entry_time: datetime, *, units: int = 1,
                  position_id: str | None = None, entry_price: float | None = None,
                  parent_id: str | None = None) -> Position:
    """The position an idea would open (filled at the mids unless ``entry_price`` is given)."""
    legs = tuple(PositionLeg(leg.contract, leg.ratio) for leg in idea.legs
                 if idea.replaces is None or leg.ratio < 0)
    return Position(position_id or f"p{next(_ids)}", idea.key, idea.root, idea.structure, legs,
                    units, entry_time, idea.net_mid if entry_price is None else entry_price,
                    idea.multiplier, idea.expiry, parent_id or idea.parent_id, entry_meta(idea))


def simple_position(key: StrategyKey, *, root: str = "SPY", expiry: date = date(2025, 9, 19),
                    legs: Iterable[tuple[float, str, int]] = ((500.0, "P", -1),),
                    entry_price: float = -2.0, units: int = 1,
                    entry_time: datetime = datetime(2025, 6, 2, 10, 0),
                    structure: str = "test", position_id: str | None = None,
                    parent_id: str | None = None,
                    meta: tuple[tuple[str, str], ...] = ()) -> Position:
    pl = tuple(PositionLeg(Contract(root, expiry, k, Right(r)), n) for k, r, n in legs)
    return Position(position_id or f"p{next(_ids)}", key, root, structure, pl, units,
                    entry_time, entry_price, instrument(root).multiplier, expiry, parent_id, meta)


def quotes_for(position: Position, mids: Sequence[float], now: datetime,
               half_spread: float = 0.01) -> dict[Contract, Quote | None]:
    return {leg.contract: Quote(m - half_spread, m + half_spread, now)
            for leg, m in zip(position.legs, mids, strict=True)}


def mark(position: Position, net_mid: float, now: datetime, *, valid: bool = True,
         deltas: Sequence[float] | None = None, leg_mids: Sequence[float] | None = None,
         underlying: float = 500.0) -> PositionMark:
    """A hand-made mark (legs at ``leg_mids``, default 0; ``deltas`` default 0)."""
    n = len(position.legs)
    mids = list(leg_mids) if leg_mids is not None else [0.0] * n
    ds = list(deltas) if deltas is not None else [0.0] * n
    legs = tuple(LegMark(leg.contract, leg.ratio, m, m, d)
                 for leg, m, d in zip(position.legs, mids, ds, strict=True))
    return PositionMark(position.position_id, legs, net_mid, underlying, valid, now)


def rising(n: int, start: float, step: float) -> FloatArray:
    return start + step * np.arange(n, dtype=np.float64)


def mark_book(positions: Sequence[Position], quotes: dict[Contract, Quote | None],
              underlying: dict[Contract, float | None], now: datetime, cfg: Config = CFG,
              delta_level: DeltaLevel | None = None) -> dict[str, PositionMark]:
    """Marks of ``positions`` from quotes keyed by contract, through a fresh ``MarkPlan``."""
    plan = MarkPlan(positions, delta_level)
    return plan.mark([quotes.get(c) for c in plan.contracts],
                     [underlying.get(c) for c in plan.contracts], now, cfg)
