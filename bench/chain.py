"""Chain snapshot benchmarks: build a 5,000-contract snapshot (IV and greeks from quotes) and
select strikes by delta."""

from __future__ import annotations

import time as clock
from datetime import date, datetime, timedelta

import numpy as np

from config import load_config
from config.enums import Right
from greeks import bsm_price
from strategies.chain import ChainSnapshot
from strategies.quotes import years_to_expiry
from strategies.types import RawChain

_CONTRACTS = 5_000


def synthetic_chain(now: datetime, n: int = _CONTRACTS, spot: float = 550.0) -> RawChain:
    """About ``n`` SPY contracts over 10 weekly expiries, priced with a skewed BSM surface."""
    expiries = [now.date() + timedelta(days=7 * i) for i in range(10)]
    per_side = n // (2 * len(expiries))
    strikes = np.round(np.linspace(spot * 0.8, spot * 1.2, per_side))
    exp = np.repeat(np.array(expiries, dtype="datetime64[D]"), 2 * per_side)
    k = np.tile(strikes, 2 * len(expiries)).astype(np.float64)
    c = np.tile(np.repeat([False, True], per_side), len(expiries))
    t = years_to_expiry(exp, now)
    vol = np.maximum(0.18 - 0.2 * np.log(k / spot), 0.05)
    price = np.asarray(bsm_price(spot, k, t, 0.04, 0.0, vol, c), dtype=np.float64)
    half = np.maximum(0.02 * price, 0.01)
    bid = np.maximum(price - half, 0.0)
    ask = price + half
    qt = np.full(k.shape[0], np.datetime64(now, "s"))
    return RawChain("SPY", exp, k, c, bid, ask, qt, np.full(k.shape[0], spot), now)


def run() -> list[tuple[str, float, str]]:
    cfg = load_config()
    now = datetime(2025, 6, 6, 10, 30)
    raw = synthetic_chain(now)
    ChainSnapshot.build(raw, now, cfg)  # warm-up
    reps = 10
    start = clock.perf_counter()
    for _ in range(reps):
        snap = ChainSnapshot.build(raw, now, cfg)
    build_ms = (clock.perf_counter() - start) / reps * 1e3

    expiry = date(2025, 6, 6) + timedelta(days=28)
    calls = 20_000
    targets = np.linspace(0.06, 0.45, 64).tolist()
    start = clock.perf_counter()
    for i in range(calls):
        x = targets[i % 64]
        snap.by_delta(expiry, Right.PUT, x, x - 0.05, x + 0.05, sellable=True)
    select_us = (clock.perf_counter() - start) / calls * 1e6
    return [
        (f"build snapshot, {len(raw):,} contracts (IV + greeks)", build_ms, "ms"),
        ("by_delta select", select_us, "us/call"),
        ("usable contracts after validation", float(snap.n_usable), "count"),
    ]
