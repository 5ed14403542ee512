"""Implied volatility: round trips on the specified domain, NaN where no volatility fits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from greeks import (
    black76_greeks,
    black76_price,
    bsm_greeks,
    bsm_price,
    implied_vol_black76,
    implied_vol_bsm,
)
from greeks._engine import PARALLEL_MIN
from tests.greeks.builders import Batch, FloatArray, batches, random_batch

VEGA_FLOOR = 1e-4
"""IV must be recovered wherever vega (per vol point) exceeds this fraction of the underlying."""


def _assert_recovered(iv: FloatArray, sigma: FloatArray, vega: FloatArray,
                      und: FloatArray) -> None:
    in_scope = vega > VEGA_FLOOR * und
    err = np.abs(iv - sigma)
    assert np.all(err[in_scope] <= 1e-10), np.max(err[in_scope])


@settings(max_examples=80, deadline=None)
@given(batches())
def test_implied_vol_bsm_when_price_from_model_then_sigma_recovered_within_1e10(b: Batch) -> None:
    g = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    iv = implied_vol_bsm(g.price, b.und, b.strike, b.t, b.r, b.q, b.is_call)
    _assert_recovered(iv, b.sigma, g.vega, b.und)


@settings(max_examples=80, deadline=None)
@given(batches())
def test_implied_vol_black76_when_price_from_model_then_sigma_recovered_within_1e10(
    b: Batch,
) -> None:
    g = black76_greeks(b.und, b.strike, b.t, b.r, b.sigma, b.is_call)
    iv = implied_vol_black76(g.price, b.und, b.strike, b.t, b.r, b.is_call)
    _assert_recovered(iv, b.sigma, g.vega, b.und)


def test_implied_vol_bsm_when_large_batch_on_threads_then_sigma_recovered() -> None:
    b = random_batch(PARALLEL_MIN * 3 + 101, seed=17)
    g = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    iv = implied_vol_bsm(g.price, b.und, b.strike, b.t, b.r, b.q, b.is_call)
    _assert_recovered(iv, b.sigma, g.vega, b.und)
    head = implied_vol_bsm(g.price[:1000], b.und[:1000], b.strike[:1000], b.t[:1000],
                           b.r[:1000], b.q[:1000], b.is_call[:1000])
    np.testing.assert_array_equal(iv[:1000], head)


@settings(max_examples=40, deadline=None)
@given(batches())
def test_implied_vol_bsm_when_solved_then_repricing_matches_price(b: Batch) -> None:
    price = bsm_price(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    iv = implied_vol_bsm(price, b.und, b.strike, b.t, b.r, b.q, b.is_call)
    ok = ~np.isnan(iv)
    repriced = bsm_price(b.und, b.strike, b.t, b.r, b.q, np.where(ok, iv, 0.1), b.is_call)
    tol = 1e-12 * (b.und + b.strike) + 1e-300
    assert np.all(np.abs(repriced - price)[ok] <= tol[ok])


def test_implied_vol_bsm_when_hull_example_then_twenty_percent() -> None:
    iv = implied_vol_bsm(4.759422392871535, 42.0, 40.0, 0.5, 0.10, 0.0, True)
    assert float(iv) == pytest.approx(0.20, abs=1e-12)
    assert iv.shape == ()


def test_implied_vol_bsm_when_scalar_price_and_strike_array_then_broadcast() -> None:
    strikes = np.array([90.0, 100.0, 110.0])
    prices = bsm_price(100.0, strikes, 0.25, 0.02, 0.01, 0.3, False)
    iv = implied_vol_bsm(prices, 100.0, strikes, 0.25, 0.02, 0.01, False)
    np.testing.assert_allclose(iv, 0.3, atol=1e-12)


S, K, T, R, Q = 100.0, 95.0, 0.5, 0.05, 0.02
FWD_VALUE = S * math.exp(-Q * T) - K * math.exp(-R * T)  # discounted intrinsic of the call


@pytest.mark.parametrize(
    ("price", "is_call", "t", "case"),
    [
        (FWD_VALUE - 0.01, True, T, "call below discounted intrinsic"),
        (FWD_VALUE, True, T, "call at discounted intrinsic"),
        (0.0, False, T, "put at zero"),
        (-1.0, False, T, "negative price"),
        (S * math.exp(-Q * T), True, T, "call at its upper bound S e^{-qt}"),
        (S * math.exp(-Q * T) + 1.0, True, T, "call above its upper bound"),
        (K * math.exp(-R * T), False, T, "put at its upper bound K e^{-rt}"),
        (5.0, True, 0.0, "expired"),
        (5.0, True, -0.1, "negative time"),
        (float("nan"), True, T, "nan price"),
        (float("inf"), True, T, "infinite price"),
    ],
)
def test_implied_vol_bsm_when_no_volatility_fits_then_nan(
    price: float, is_call: bool, t: float, case: str
) -> None:
    assert np.isnan(implied_vol_bsm(price, S, K, t, R, Q, is_call)), case


@pytest.mark.parametrize(
    ("spot", "strike"), [(float("nan"), 95.0), (-100.0, 95.0), (100.0, 0.0), (100.0, -5.0)]
)
def test_implied_vol_bsm_when_spot_or_strike_invalid_then_nan(spot: float, strike: float) -> None:
    assert np.isnan(implied_vol_bsm(10.0, spot, strike, T, R, Q, True))


def test_implied_vol_black76_when_outside_bounds_then_nan_and_inside_solved() -> None:
    f, k, t, r = 4000.0, 4100.0, 0.25, 0.04
    disc = math.exp(-r * t)
    prices = np.array([disc * (k - f) - 1e-6, disc * k, 0.5 * disc * (k - f) + 100.0])
    iv = implied_vol_black76(prices, f, k, t, r, False)
    assert np.isnan(iv[0]) and np.isnan(iv[1])
    assert float(black76_price(f, k, t, r, iv[2], False)) == pytest.approx(prices[2], rel=1e-13)


def test_implied_vol_bsm_when_one_element_invalid_then_others_unaffected() -> None:
    sigma = np.array([0.15, 0.25, 0.35])
    prices = bsm_price(S, K, T, R, Q, sigma, True)
    prices[1] = -1.0
    iv = implied_vol_bsm(prices, S, K, T, R, Q, True)
    assert np.isnan(iv[1])
    np.testing.assert_allclose(iv[[0, 2]], sigma[[0, 2]], atol=1e-12)
