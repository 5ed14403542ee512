"""Throughput of the greeks library on 1,000,000 mixed calls and puts, with a baseline.

Data (seed 20240601): spot uniform 50-5000, strike/spot log-uniform 0.5-2, t log-uniform one day
to three years, sigma uniform 5 %-100 %, calls and puts 50/50, r = 4 %, q = 1.5 % (scalars);
Black-76 uses the spot column as the forward. Implied-vol inputs are the model's own prices.
Every figure is the best of three runs (options per second = 1e6 / best wall time); the fast
paths get one untimed warm-up run first. The baseline is the straightforward formulation with
``scipy.stats.norm`` (one CDF call per d1/d2) and ``np.where`` for calls/puts; its implied vol
is a vectorised bisection to 1e-10 on the same pricing function.

Small calls (the strategies' case: a few options per call, many calls per bar): the first 1, 8
and 64 options of the same data (scalar r and q, array flags), microseconds per call, the best
average over ``SMALL_BATCHES`` batches of ``SMALL_CALLS`` consecutive calls after a warm-up.
Implied-vol inputs are the model's own prices. The same for 500 options (a medium input, padded
to a small-path length class) and, as options per second, for the first 5,000 (one chunk on the
calling thread) and 50,000 (chunks on two threads).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import numpy.typing as npt
from scipy.stats import norm  # type: ignore[import-untyped]

import greeks
from bench.load import busy_seconds
from greeks._engine import MAX_WORKERS

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

N_OPTIONS = 1_000_000
CHAIN = 5_000
SEED = 20240601
RATE = 0.04
YIELD = 0.015
REPEATS = 3
SMALL_SIZES = (1, 8, 64, 500)
MID = 50_000
SMALL_CALLS = 40
SMALL_BATCHES = 40


class Data:
    """The seeded option set."""

    def __init__(self, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.spot: FloatArray = rng.uniform(50.0, 5000.0, n)
        self.strike: FloatArray = self.spot * np.exp(rng.uniform(math.log(0.5), math.log(2.0), n))
        self.t: FloatArray = np.exp(rng.uniform(math.log(1.0 / 365.0), math.log(3.0), n))
        self.sigma: FloatArray = rng.uniform(0.05, 1.0, n)
        self.is_call: BoolArray = rng.random(n) < 0.5


def _best(fn: Callable[[], object], warmup: bool = True) -> float:
    if warmup:
        fn()
    best = math.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _per_call(fn: Callable[[], object]) -> float:
    """Seconds per call: best average over SMALL_BATCHES batches of SMALL_CALLS calls."""
    for _ in range(SMALL_CALLS):
        fn()
    best = math.inf
    for _ in range(SMALL_BATCHES):
        start = time.perf_counter()
        for _ in range(SMALL_CALLS):
            fn()
        best = min(best, (time.perf_counter() - start) / SMALL_CALLS)
    return best


def _small_calls(d: Data, n: int, r: float, q: float) -> list[tuple[str, Callable[[], object]]]:
    s, k, t, sg, c = d.spot[:n], d.strike[:n], d.t[:n], d.sigma[:n], d.is_call[:n]
    p = greeks.bsm_price(s, k, t, r, q, sg, c)
    p76 = greeks.black76_price(s, k, t, r, sg, c)
    return [
        ("BSM price + delta", lambda: greeks.bsm_price_delta(s, k, t, r, q, sg, c)),
        ("BSM price + 4 greeks", lambda: greeks.bsm_greeks(s, k, t, r, q, sg, c)),
        ("BSM implied vol", lambda: greeks.implied_vol_bsm(p, s, k, t, r, q, c)),
        ("Black-76 price + delta", lambda: greeks.black76_price_delta(s, k, t, r, sg, c)),
        ("Black-76 price + 4 greeks", lambda: greeks.black76_greeks(s, k, t, r, sg, c)),
        ("Black-76 implied vol", lambda: greeks.implied_vol_black76(p76, s, k, t, r, c)),
    ]


def small_call_rows(d: Data, r: float, q: float) -> list[tuple[str, float, str]]:
    """Microseconds per call on the first n options, for n in SMALL_SIZES."""
    rows: list[tuple[str, float, str]] = []
    for n in SMALL_SIZES:
        label = "1-option" if n == 1 else f"{n}-option"
        for name, fn in _small_calls(d, n, r, q):
            rows.append((f"{label} call: {name}", _per_call(fn) * 1e6, "us/call"))
    return rows


def baseline_price_delta(
    s: FloatArray, k: FloatArray, t: FloatArray, r: float, q: float, sigma: FloatArray,
    is_call: BoolArray,
) -> tuple[FloatArray, FloatArray]:
    """Textbook BSM price and delta with scipy.stats.norm and np.where (two CDF calls)."""
    sq = np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * sigma**2) * t) / (sigma * sq)
    d2 = d1 - sigma * sq
    sq_disc, k_disc = s * np.exp(-q * t), k * np.exp(-r * t)
    n1, n2 = norm.cdf(d1), norm.cdf(d2)
    call = sq_disc * n1 - k_disc * n2
    put = k_disc * (1.0 - n2) - sq_disc * (1.0 - n1)
    eq = np.exp(-q * t)
    price = np.where(is_call, call, put)
    delta = np.where(is_call, eq * n1, eq * (n1 - 1.0))
    return price, delta


def baseline_greeks(
    s: FloatArray, k: FloatArray, t: FloatArray, r: float, q: float, sigma: FloatArray,
    is_call: BoolArray,
) -> tuple[FloatArray, ...]:
    """Textbook BSM price, delta, gamma, theta (per day) and vega (per point)."""
    sq = np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * sigma**2) * t) / (sigma * sq)
    d2 = d1 - sigma * sq
    eq, er = np.exp(-q * t), np.exp(-r * t)
    n1, n2, pdf = norm.cdf(d1), norm.cdf(d2), norm.pdf(d1)
    call = s * eq * n1 - k * er * n2
    put = k * er * (1.0 - n2) - s * eq * (1.0 - n1)
    price = np.where(is_call, call, put)
    delta = np.where(is_call, eq * n1, eq * (n1 - 1.0))
    gamma = eq * pdf / (s * sigma * sq)
    vega = s * eq * pdf * sq * 0.01
    decay = -s * eq * pdf * sigma / (2.0 * sq)
    theta_call = decay - r * k * er * n2 + q * s * eq * n1
    theta_put = decay + r * k * er * (1.0 - n2) - q * s * eq * (1.0 - n1)
    theta = np.where(is_call, theta_call, theta_put) / 365.0
    return price, delta, gamma, theta, vega


def baseline_implied_vol(
    price: FloatArray, s: FloatArray, k: FloatArray, t: FloatArray, r: float, q: float,
    is_call: BoolArray,
) -> FloatArray:
    """Vectorised bisection on [1e-6, 5] until the bracket is narrower than 1e-10."""
    lo = np.full(price.shape, 1e-6)
    hi = np.full(price.shape, 5.0)
    while float(np.max(hi - lo)) > 1e-10:
        mid = 0.5 * (lo + hi)
        model, _ = baseline_price_delta(s, k, t, r, q, mid, is_call)
        above = model > price
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    mid_final: FloatArray = 0.5 * (lo + hi)
    return mid_final


def run() -> list[tuple[str, float, str]]:
    busy0, cpu0, wall0 = busy_seconds(), time.process_time(), time.perf_counter()
    d = Data(N_OPTIONS, SEED)
    s, k, t, sg, c = d.spot, d.strike, d.t, d.sigma, d.is_call
    r, q = RATE, YIELD
    rows: list[tuple[str, float, str]] = []

    def rate(label: str, fn: Callable[[], object], n: int = N_OPTIONS,
             warmup: bool = True) -> None:
        rows.append((label, n / _best(fn, warmup), "options/s"))

    bsm = greeks.bsm_greeks(s, k, t, r, q, sg, c)
    b76 = greeks.black76_greeks(s, k, t, r, sg, c)
    rate("BSM price + delta", lambda: greeks.bsm_price_delta(s, k, t, r, q, sg, c))
    rate("BSM price + 4 greeks", lambda: greeks.bsm_greeks(s, k, t, r, q, sg, c))
    rate("BSM implied vol", lambda: greeks.implied_vol_bsm(bsm.price, s, k, t, r, q, c))
    rate("Black-76 price + delta", lambda: greeks.black76_price_delta(s, k, t, r, sg, c))
    rate("Black-76 price + 4 greeks", lambda: greeks.black76_greeks(s, k, t, r, sg, c))
    rate("Black-76 implied vol",
         lambda: greeks.implied_vol_black76(b76.price, s, k, t, r, c))

    iv = greeks.implied_vol_bsm(bsm.price, s, k, t, r, q, c)
    in_scope = bsm.vega > 1e-4 * s
    rows.append(("BSM IV max |error| where vega > 1e-4 spot",
                 float(np.max(np.abs(iv[in_scope] - sg[in_scope]))), "vol"))
    iv76 = greeks.implied_vol_black76(b76.price, s, k, t, r, c)
    in76 = b76.vega > 1e-4 * s
    rows.append(("Black-76 IV max |error| where vega > 1e-4 forward",
                 float(np.max(np.abs(iv76[in76] - sg[in76]))), "vol"))

    for n, label in ((CHAIN, f"{CHAIN:,}-option chain"), (MID, f"{MID:,} options")):
        cs, ck, ct, csg, cc = s[:n], k[:n], t[:n], sg[:n], c[:n]
        cp = bsm.price[:n]
        rate(f"{label}: BSM price + 4 greeks",
             partial(greeks.bsm_greeks, cs, ck, ct, r, q, csg, cc), n)
        rate(f"{label}: BSM implied vol", partial(greeks.implied_vol_bsm, cp, cs, ck, ct, r, q, cc),
             n)
    rows.extend(small_call_rows(d, r, q))

    rate("baseline numpy+scipy.stats.norm: BSM price + delta",
         lambda: baseline_price_delta(s, k, t, r, q, sg, c))
    rate("baseline numpy+scipy.stats.norm: BSM price + 4 greeks",
         lambda: baseline_greeks(s, k, t, r, q, sg, c))
    rate("baseline numpy+scipy.stats.norm: BSM implied vol (bisection)",
         lambda: baseline_implied_vol(bsm.price, s, k, t, r, q, c), warmup=False)
    rows.append(("worker threads used for large inputs", float(MAX_WORKERS), "threads"))
    busy1 = busy_seconds()
    if busy0 is not None and busy1 is not None:
        others = (busy1 - busy0) - (time.process_time() - cpu0)
        rows.append(("CPU used by other processes during this run",
                     max(others, 0.0) / (time.perf_counter() - wall0), "cores"))
    return rows


if __name__ == "__main__":
    for label, value, unit in run():
        shown = (f"{value:.2e}" if unit == "vol" else
                 f"{value:.2f}" if unit in ("cores", "us/call") else f"{value:,.0f}")
        print(f"{label:<62} {shown:>16}  {unit}")
