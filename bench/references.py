"""This project's greeks side by side with reference implementations, on the same inputs.

Inputs: the 1,000,000 mixed calls and puts of :mod:`bench.greeks` (its :class:`Data`, seed
20240601; r = 4 %, q = 1.5 %); implied-vol inputs are the project's own BSM prices.

* ours: :mod:`greeks` (``bsm_price``, ``bsm_price_delta``, ``bsm_greeks``, ``implied_vol_bsm``).
* numpy + scipy.stats.norm: the textbook formulation of :mod:`bench.greeks` (two CDF calls,
  ``np.where`` for calls/puts; implied vol by vectorised bisection to 1e-10).
* py_vollib_vectorized 0.1.1 (numba, single-threaded): prices and implied vol only (its greeks
  are finite differences of the price, so they are not compared). Compiled on 1,000 options
  before timing.
* QuantLib 1.44: ``BlackCalculator`` per option (payoff and calculator built per option, as a
  caller pricing one contract at a time would), implied vol with ``blackFormulaImpliedStdDev``
  (accuracy 1e-10 on the standard deviation, 100 iterations); run on the first ``SUBSAMPLE``
  options and reported as options per second. Forwards, standard deviations and discount factors
  are precomputed (not timed).

Each figure is the best of up to three runs (fewer once ``BUDGET_S`` seconds are spent), after
one untimed warm-up run; the bisection and py_vollib_vectorized (already compiled) get none.
Ratios are ours divided by the reference (above 1 means ours is faster).
Agreement rows compare on the subsample: prices and greeks against QuantLib and py_vollib, and
each implied-vol solver's error against the true volatility where vega > 1e-4 x spot.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np
import numpy.typing as npt

import greeks
from bench.greeks import (
    N_OPTIONS,
    RATE,
    SEED,
    YIELD,
    Data,
    baseline_greeks,
    baseline_implied_vol,
    baseline_price_delta,
)

FloatArray = npt.NDArray[np.float64]
Row = tuple[str, float, str]
QlRow = tuple[float, float, float, float, float, float, bool]

SUBSAMPLE = 20_000
REPEATS = 3
BUDGET_S = 3.0
IV_ACCURACY = 1e-10
IV_MAX_ITERATIONS = 100
PVV_WARMUP = 1_000


def _load(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"{name} is not installed: run `make bench-deps` (bench-only references)",
            name=name) from exc


def _seconds(fn: Callable[[], object], warmup: bool = True) -> float:
    """Best wall time of up to REPEATS runs (fewer once BUDGET_S seconds are spent)."""
    if warmup:
        fn()
    best, spent = math.inf, 0.0
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if spent > BUDGET_S:
            break
    return best


def _ql_inputs(d: Data, n: int) -> list[QlRow]:
    """(spot, strike, forward, std dev, discount, t, is_call) per option, as Python floats."""
    s, k, t, sg = d.spot[:n], d.strike[:n], d.t[:n], d.sigma[:n]
    fwd = s * np.exp((RATE - YIELD) * t)
    sd = sg * np.sqrt(t)
    disc = np.exp(-RATE * t)
    return list(zip(s.tolist(), k.tolist(), fwd.tolist(), sd.tolist(), disc.tolist(),
                    t.tolist(), d.is_call[:n].tolist(), strict=True))


def _ql_price_delta(ql: ModuleType, rows: Sequence[QlRow]) -> list[tuple[float, float]]:
    call, put = ql.Option.Call, ql.Option.Put
    payoff, calculator = ql.PlainVanillaPayoff, ql.BlackCalculator
    out = []
    for s, k, f, sd, df, _t, c in rows:
        bc = calculator(payoff(call if c else put, k), f, sd, df)
        out.append((bc.value(), bc.delta(s)))
    return out


def _ql_greeks(ql: ModuleType, rows: Sequence[QlRow]
               ) -> list[tuple[float, float, float, float, float]]:
    """Price, delta, gamma, theta (per year), vega (per unit of volatility)."""
    call, put = ql.Option.Call, ql.Option.Put
    payoff, calculator = ql.PlainVanillaPayoff, ql.BlackCalculator
    out = []
    for s, k, f, sd, df, t, c in rows:
        bc = calculator(payoff(call if c else put, k), f, sd, df)
        out.append((bc.value(), bc.delta(s), bc.gamma(s), bc.theta(s, t), bc.vega(t)))
    return out


def _ql_implied(ql: ModuleType, rows: Sequence[QlRow], prices: Sequence[float]) -> list[float]:
    call, put = ql.Option.Call, ql.Option.Put
    solve, null = ql.blackFormulaImpliedStdDev, ql.nullDouble()
    out = []
    for (_s, k, f, _sd, df, t, c), price in zip(rows, prices, strict=True):
        try:
            out.append(solve(call if c else put, k, f, price, df, 0.0, null, IV_ACCURACY,
                             IV_MAX_ITERATIONS) / math.sqrt(t))
        except RuntimeError:
            out.append(math.nan)
    return out


def _max_abs(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    return float(np.nanmax(diff))


def _iv_error(iv: npt.ArrayLike, sigma: FloatArray, scope: npt.NDArray[np.bool_]) -> float:
    """Max |iv − sigma| inside ``scope``; an unsolved (NaN) option there counts as infinite."""
    err = np.abs(np.asarray(iv, dtype=np.float64)[scope] - sigma[scope])
    return float(np.max(np.where(np.isnan(err), np.inf, err)))


def run() -> list[Row]:
    ql = _load("QuantLib")
    pvv = _load("py_vollib_vectorized")
    d = Data(N_OPTIONS, SEED)
    s, k, t, sg, c = d.spot, d.strike, d.t, d.sigma, d.is_call
    r, q = RATE, YIELD
    n = N_OPTIONS
    ours = greeks.bsm_greeks(s, k, t, r, q, sg, c)
    flags = np.where(c, "c", "p")

    def rate(fn: Callable[[], object], count: int = n, warmup: bool = True) -> float:
        return count / _seconds(fn, warmup)

    def pvv_price(m: int = n) -> FloatArray:
        out: FloatArray = pvv.vectorized_black_scholes_merton(
            flags[:m], s[:m], k[:m], t[:m], r, sg[:m], q, return_as="numpy")
        return out

    def pvv_iv(m: int = n) -> FloatArray:
        out: FloatArray = pvv.vectorized_implied_volatility(
            ours.price[:m], s[:m], k[:m], t[:m], r, flags[:m], q=q,
            model="black_scholes_merton", on_error="ignore", return_as="numpy")
        return out

    pvv_price(PVV_WARMUP)
    pvv_iv(PVV_WARMUP)

    m = SUBSAMPLE
    ql_rows = _ql_inputs(d, m)
    ql_prices = ours.price[:m].tolist()

    ours_p = rate(lambda: greeks.bsm_price(s, k, t, r, q, sg, c))
    ours_pd = rate(lambda: greeks.bsm_price_delta(s, k, t, r, q, sg, c))
    ours_g = rate(lambda: greeks.bsm_greeks(s, k, t, r, q, sg, c))
    ours_iv = rate(lambda: greeks.implied_vol_bsm(ours.price, s, k, t, r, q, c))
    np_pd = rate(lambda: baseline_price_delta(s, k, t, r, q, sg, c))
    np_g = rate(lambda: baseline_greeks(s, k, t, r, q, sg, c))
    np_iv = rate(lambda: baseline_implied_vol(ours.price, s, k, t, r, q, c), warmup=False)
    pvv_p = rate(pvv_price, warmup=False)
    pvv_v = rate(pvv_iv, warmup=False)
    ql_pd = rate(lambda: _ql_price_delta(ql, ql_rows), m)
    ql_g = rate(lambda: _ql_greeks(ql, ql_rows), m)
    ql_v = rate(lambda: _ql_implied(ql, ql_rows, ql_prices), m)

    sub = slice(0, m)
    ql_out = np.array(_ql_greeks(ql, ql_rows))
    ql_iv = np.array(_ql_implied(ql, ql_rows, ql_prices))
    pvv_sub_price = pvv_price(m)
    pvv_sub_iv = pvv_iv(m)
    our_sub_iv = greeks.implied_vol_bsm(ours.price[sub], s[sub], k[sub], t[sub], r, q, c[sub])
    scope = ours.vega[sub] > 1e-4 * s[sub]

    ql_label = f"QuantLib BlackCalculator, per option ({m:,})"
    rows: list[Row] = [
        ("price only: ours", ours_p, "options/s"),
        ("price only: py_vollib_vectorized", pvv_p, "options/s"),
        ("price + delta: ours", ours_pd, "options/s"),
        ("price + delta: numpy + scipy.stats.norm", np_pd, "options/s"),
        (f"price + delta: {ql_label}", ql_pd, "options/s"),
        ("price + 4 greeks: ours", ours_g, "options/s"),
        ("price + 4 greeks: numpy + scipy.stats.norm", np_g, "options/s"),
        (f"price + 4 greeks: {ql_label}", ql_g, "options/s"),
        ("implied vol: ours", ours_iv, "options/s"),
        ("implied vol: numpy bisection (1e-10)", np_iv, "options/s"),
        ("implied vol: py_vollib_vectorized", pvv_v, "options/s"),
        (f"implied vol: QuantLib blackFormulaImpliedStdDev ({m:,})", ql_v, "options/s"),
        ("ratio ours / numpy+scipy: price + delta", ours_pd / np_pd, "x"),
        ("ratio ours / numpy+scipy: price + 4 greeks", ours_g / np_g, "x"),
        ("ratio ours / numpy bisection: implied vol", ours_iv / np_iv, "x"),
        ("ratio ours / py_vollib_vectorized: price only", ours_p / pvv_p, "x"),
        ("ratio ours / py_vollib_vectorized: implied vol", ours_iv / pvv_v, "x"),
        ("ratio ours / QuantLib: price + delta", ours_pd / ql_pd, "x"),
        ("ratio ours / QuantLib: price + 4 greeks", ours_g / ql_g, "x"),
        ("ratio ours / QuantLib: implied vol", ours_iv / ql_v, "x"),
        ("agreement: max |price ours - QuantLib|", _max_abs(ours.price[sub], ql_out[:, 0]),
         "price"),
        ("agreement: max |price ours - py_vollib_vectorized|",
         _max_abs(ours.price[sub], pvv_sub_price), "price"),
        ("agreement: max |delta ours - QuantLib|", _max_abs(ours.delta[sub], ql_out[:, 1]),
         "delta"),
        ("agreement: max |gamma ours - QuantLib|", _max_abs(ours.gamma[sub], ql_out[:, 2]),
         "gamma"),
        ("agreement: max |theta/day ours - QuantLib|",
         _max_abs(ours.theta[sub], ql_out[:, 3] / 365.0), "price/day"),
        ("agreement: max |vega/point ours - QuantLib|",
         _max_abs(ours.vega[sub], ql_out[:, 4] / 100.0), "price/pt"),
        ("IV max |error|, vega > 1e-4 spot: ours", _iv_error(our_sub_iv, sg[sub], scope),
         "vol"),
        ("IV max |error|, vega > 1e-4 spot: py_vollib_vectorized",
         _iv_error(pvv_sub_iv, sg[sub], scope), "vol"),
        ("IV max |error|, vega > 1e-4 spot: QuantLib", _iv_error(ql_iv, sg[sub], scope), "vol"),
    ]
    return rows


if __name__ == "__main__":
    for label, value, unit in run():
        print(f"{label:<62} {value:>16.6g}  {unit}")
