"""Prices and greeks: textbook values, closed forms, parity, finite differences, edge cases."""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings

from greeks import (
    Greeks,
    black76_greeks,
    black76_price,
    black76_price_delta,
    bsm_greeks,
    bsm_price,
    bsm_price_delta,
)
from greeks._engine import CHUNK, PARALLEL_MIN
from tests.greeks import reference as ref
from tests.greeks.builders import Batch, FloatArray, batches, random_batch

EPS = float(np.finfo(np.float64).eps)
GREEK_NAMES = ("price", "delta", "gamma", "theta", "vega")


def _bsm_ref(b: Batch) -> dict[str, FloatArray]:
    rows = [
        ref.bsm(float(s), float(k), float(t), float(r), float(q), float(sg), bool(c))
        for s, k, t, r, q, sg, c in zip(
            b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call, strict=True
        )
    ]
    return ref.columns(rows)


def _black_ref(b: Batch) -> dict[str, FloatArray]:
    rows = [
        ref.black76(float(f), float(k), float(t), float(r), float(sg), bool(c))
        for f, k, t, r, sg, c in zip(b.und, b.strike, b.t, b.r, b.sigma, b.is_call, strict=True)
    ]
    return ref.columns(rows)


def test_bsm_price_when_hull_example_15_6_then_call_4_7594_put_0_8086() -> None:
    # Hull: S0 = 42, K = 40, r = 10 %, sigma = 20 %, T = 0.5 -> c = 4.76, p = 0.81
    call = bsm_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, True)
    put = bsm_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, False)
    assert round(float(call), 4) == 4.7594
    assert round(float(put), 4) == 0.8086


def test_bsm_greeks_when_hull_delta_hedging_example_then_textbook_greeks() -> None:
    # Hull (greek letters chapter): S0 = 49, K = 50, r = 5 %, sigma = 20 %, T = 20 weeks:
    # c = 2.40, delta = 0.522, gamma = 0.066, theta = -4.31 per year, vega = 12.1 per unit vol.
    g = bsm_greeks(49.0, 50.0, 20.0 / 52.0, 0.05, 0.0, 0.20, True)
    assert round(float(g.price), 2) == 2.40
    assert round(float(g.delta), 3) == 0.522
    assert round(float(g.gamma), 3) == 0.066
    assert round(float(g.theta) * 365.0, 2) == -4.31
    assert round(float(g.vega) * 100.0, 1) == 12.1


def test_black76_price_when_hull_futures_option_example_then_1_12() -> None:
    # Hull: European put futures option, F0 = K = 20, r = 9 %, sigma = 25 %, T = 4 months -> 1.12
    put = black76_price(20.0, 20.0, 4.0 / 12.0, 0.09, 0.25, False)
    call = black76_price(20.0, 20.0, 4.0 / 12.0, 0.09, 0.25, True)
    assert round(float(put), 2) == 1.12
    assert float(call) == pytest.approx(float(put), abs=1e-14)


@settings(max_examples=60, deadline=None)
@given(batches())
def test_bsm_greeks_when_grid_then_match_closed_forms_within_1e10(b: Batch) -> None:
    g = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    expected = _bsm_ref(b)
    for name in GREEK_NAMES:
        ref.assert_close_1e10(getattr(g, name), expected[name])


@settings(max_examples=60, deadline=None)
@given(batches())
def test_black76_greeks_when_grid_then_match_closed_forms_within_1e10(b: Batch) -> None:
    g = black76_greeks(b.und, b.strike, b.t, b.r, b.sigma, b.is_call)
    expected = _black_ref(b)
    for name in GREEK_NAMES:
        ref.assert_close_1e10(getattr(g, name), expected[name])


@settings(max_examples=60, deadline=None)
@given(batches())
def test_bsm_price_when_call_minus_put_then_forward_parity(b: Batch) -> None:
    call = bsm_price(b.und, b.strike, b.t, b.r, b.q, b.sigma, True)
    put = bsm_price(b.und, b.strike, b.t, b.r, b.q, b.sigma, False)
    forward_value = b.und * np.exp(-b.q * b.t) - b.strike * np.exp(-b.r * b.t)
    scale = np.maximum(1.0, b.und + b.strike)
    assert np.all(np.abs((call - put) - forward_value) <= 1e-13 * scale)


@settings(max_examples=60, deadline=None)
@given(batches())
def test_black76_price_when_call_minus_put_then_discounted_forward_parity(b: Batch) -> None:
    call = black76_price(b.und, b.strike, b.t, b.r, b.sigma, True)
    put = black76_price(b.und, b.strike, b.t, b.r, b.sigma, False)
    expected = np.exp(-b.r * b.t) * (b.und - b.strike)
    scale = np.maximum(1.0, b.und + b.strike)
    assert np.all(np.abs((call - put) - expected) <= 1e-13 * scale)


def _central(
    f: Callable[[FloatArray], FloatArray], x: FloatArray, h: FloatArray, order: int
) -> tuple[FloatArray, FloatArray]:
    """Fourth-order central difference of ``f`` at ``x`` and its rounding-error scale."""
    fp2, fp1, f0, fm1, fm2 = f(x + 2 * h), f(x + h), f(x), f(x - h), f(x - 2 * h)
    if order == 1:
        return (8.0 * (fp1 - fm1) - (fp2 - fm2)) / (12.0 * h), 1.0 / h
    return (-fp2 + 16.0 * fp1 - 30.0 * f0 + 16.0 * fm1 - fm2) / (12.0 * h * h), 1.0 / (h * h)


def _assert_fd(analytic: FloatArray, fd: FloatArray, inv_h: FloatArray, b: Batch) -> None:
    # truncation: relative 1e-5; rounding: the price carries ~ eps * (S + K) absolute error
    tol = 1e-5 * np.abs(analytic) + 200.0 * EPS * (b.und + b.strike) * inv_h + 1e-10
    assert np.all(np.abs(fd - analytic) <= tol), np.max(np.abs(fd - analytic) / tol)


def _check_finite_differences(
    g: Greeks, b: Batch, price: Callable[[FloatArray, FloatArray, FloatArray], FloatArray]
) -> None:
    v = b.sigma * np.sqrt(b.t)
    h_s = 1e-3 * b.und * v
    delta, inv_h = _central(lambda s: price(s, b.t, b.sigma), b.und, h_s, 1)
    _assert_fd(g.delta, delta, inv_h, b)
    gamma, inv_h2 = _central(lambda s: price(s, b.t, b.sigma), b.und, h_s, 2)
    _assert_fd(g.gamma, gamma, inv_h2, b)
    dv_dt, inv_ht = _central(lambda t: price(b.und, t, b.sigma), b.t, 1e-3 * b.t, 1)
    _assert_fd(g.theta, -dv_dt / 365.0, inv_ht / 365.0, b)
    dv_ds, inv_hs = _central(lambda s: price(b.und, b.t, s), b.sigma, 1e-3 * b.sigma, 1)
    _assert_fd(g.vega, dv_ds * 0.01, inv_hs * 0.01, b)


@settings(max_examples=60, deadline=None)
@given(batches())
def test_bsm_greeks_when_finite_differences_of_price_then_delta_gamma_theta_vega_agree(
    b: Batch,
) -> None:
    g = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)

    def price(s: FloatArray, t: FloatArray, sigma: FloatArray) -> FloatArray:
        return bsm_price(s, b.strike, t, b.r, b.q, sigma, b.is_call)

    _check_finite_differences(g, b, price)


@settings(max_examples=60, deadline=None)
@given(batches())
def test_black76_greeks_when_finite_differences_of_price_then_delta_gamma_theta_vega_agree(
    b: Batch,
) -> None:
    g = black76_greeks(b.und, b.strike, b.t, b.r, b.sigma, b.is_call)

    def price(f: FloatArray, t: FloatArray, sigma: FloatArray) -> FloatArray:
        return black76_price(f, b.strike, t, b.r, sigma, b.is_call)

    _check_finite_differences(g, b, price)


@settings(max_examples=40, deadline=None)
@given(batches())
def test_black76_price_when_forward_of_spot_then_equals_bsm(b: Batch) -> None:
    forward = b.und * np.exp((b.r - b.q) * b.t)
    black = black76_price(forward, b.strike, b.t, b.r, b.sigma, b.is_call)
    spot = bsm_price(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    ref.assert_close_1e10(black, spot)


def test_price_delta_when_compared_with_full_greeks_then_identical() -> None:
    b = random_batch(5_000, seed=11)
    g = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    price, delta = bsm_price_delta(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    np.testing.assert_array_equal(price, g.price)
    np.testing.assert_array_equal(delta, g.delta)
    np.testing.assert_array_equal(
        bsm_price(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call), g.price
    )
    gb = black76_greeks(b.und, b.strike, b.t, b.r, b.sigma, b.is_call)
    price_b, delta_b = black76_price_delta(b.und, b.strike, b.t, b.r, b.sigma, b.is_call)
    np.testing.assert_array_equal(price_b, gb.price)
    np.testing.assert_array_equal(delta_b, gb.delta)


def test_bsm_greeks_when_many_chunks_on_threads_then_equal_to_small_batches() -> None:
    n = 2 * PARALLEL_MIN + 3 * CHUNK // 2 + 17
    b = random_batch(n, seed=5)
    big = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    for lo in range(0, n, 7_919):
        sl = slice(lo, lo + 7_919)
        small = bsm_greeks(b.und[sl], b.strike[sl], b.t[sl], b.r[sl], b.q[sl], b.sigma[sl],
                           b.is_call[sl])
        for name in GREEK_NAMES:
            np.testing.assert_array_equal(getattr(big, name)[sl], getattr(small, name))


def test_bsm_price_when_all_scalars_then_zero_dimensional_array() -> None:
    p = bsm_price(100.0, 100.0, 0.25, 0.03, 0.01, 0.2, True)
    g = bsm_greeks(100.0, 100.0, 0.25, 0.03, 0.01, 0.2, False)
    assert isinstance(p, np.ndarray) and p.shape == ()
    assert g.shape == () and all(getattr(g, n).shape == () for n in GREEK_NAMES)


def test_bsm_greeks_when_inputs_broadcast_then_grid_matches_scalar_calls() -> None:
    strikes = np.array([80.0, 100.0, 125.0])[:, None]
    expiries = np.array([1.0 / 365.0, 0.1, 1.0, 2.5])
    calls = np.array([True, False, True, False])
    g = bsm_greeks(100.0, strikes, expiries, 0.04, 0.02, 0.3, calls)
    assert g.shape == (3, 4)
    for i, k in enumerate(strikes[:, 0]):
        for j, t in enumerate(expiries):
            e = ref.bsm(100.0, float(k), float(t), 0.04, 0.02, 0.3, bool(calls[j]))
            for name in GREEK_NAMES:
                ref.assert_close_1e10(getattr(g, name)[i, j], getattr(e, name))


def test_bsm_price_when_rates_are_arrays_then_same_as_scalar_rates() -> None:
    b = random_batch(1_000, seed=3)
    n = b.und.shape[0]
    scalar = bsm_greeks(b.und, b.strike, b.t, 0.03, 0.01, b.sigma, b.is_call)
    arrays = bsm_greeks(b.und, b.strike, b.t, np.full(n, 0.03), np.full(n, 0.01), b.sigma,
                        b.is_call)
    for name in GREEK_NAMES:
        np.testing.assert_allclose(getattr(arrays, name), getattr(scalar, name), rtol=1e-14,
                                   atol=1e-300)


def test_bsm_greeks_when_t_not_positive_then_intrinsic_and_no_nan() -> None:
    spot = np.array([110.0, 90.0, 100.0, 110.0, 90.0])
    calls = np.array([True, True, True, False, False])
    t = np.array([0.0, 0.0, -0.5, 0.0, 0.0])
    g = bsm_greeks(spot, 100.0, t, 0.05, 0.02, 0.25, calls)
    np.testing.assert_array_equal(g.price, [10.0, 0.0, 0.0, 0.0, 10.0])
    np.testing.assert_array_equal(g.delta, [1.0, 0.0, 0.5, 0.0, -1.0])
    for name in ("gamma", "theta", "vega"):
        np.testing.assert_array_equal(getattr(g, name), 0.0)


def test_bsm_greeks_when_sigma_not_positive_then_forward_intrinsic_and_no_nan() -> None:
    t, r, q = 0.5, 0.05, 0.02
    spot = np.array([110.0, 90.0, 110.0, 90.0])
    calls = np.array([True, True, False, False])
    g = bsm_greeks(spot, 100.0, t, r, q, np.array([0.0, -0.1, 0.0, 0.0]), calls)
    fwd_value = spot * math.exp(-q * t) - 100.0 * math.exp(-r * t)
    expected = np.where(calls, np.maximum(fwd_value, 0.0), np.maximum(-fwd_value, 0.0))
    np.testing.assert_allclose(g.price, expected, rtol=1e-14)
    np.testing.assert_allclose(g.delta, [math.exp(-q * t), 0.0, 0.0, -math.exp(-q * t)])
    itm_call_theta = (q * 110.0 * math.exp(-q * t) - r * 100.0 * math.exp(-r * t)) / 365.0
    assert float(g.theta[0]) == pytest.approx(itm_call_theta, rel=1e-14)
    assert float(g.theta[1]) == 0.0
    np.testing.assert_array_equal(g.gamma, 0.0)
    np.testing.assert_array_equal(g.vega, 0.0)


def test_black76_greeks_when_degenerate_then_intrinsic_values() -> None:
    g = black76_greeks(np.array([110.0, 110.0]), 100.0, np.array([0.0, 0.5]), 0.05,
                       np.array([0.3, 0.0]), True)
    assert float(g.price[0]) == 10.0
    assert float(g.price[1]) == pytest.approx(10.0 * math.exp(-0.025), rel=1e-15)
    assert float(g.delta[1]) == pytest.approx(math.exp(-0.025), rel=1e-15)
    assert float(g.theta[1]) == pytest.approx(0.05 * float(g.price[1]) / 365.0, rel=1e-14)
    assert not np.any(np.isnan(g.price))


def test_bsm_greeks_when_one_input_nan_then_only_that_element_nan() -> None:
    sigma = np.array([0.2, np.nan, 0.3])
    g = bsm_greeks(100.0, 100.0, 0.5, 0.03, 0.0, sigma, True)
    for name in GREEK_NAMES:
        arr = getattr(g, name)
        assert np.isnan(arr[1]) and np.all(np.isfinite(arr[[0, 2]]))


def test_bsm_price_when_total_volatility_tiny_then_finite_and_nonnegative() -> None:
    # d1 and d2 far beyond the range where N(d) differs from 0 or 1
    k = np.array([50.0, 99.999999, 100.0, 100.000001, 200.0])
    for call in (True, False):
        g = bsm_greeks(100.0, k, 1e-12, 0.0, 0.0, 1e-6, call)
        intrinsic = np.maximum(100.0 - k, 0.0) if call else np.maximum(k - 100.0, 0.0)
        assert np.all(np.isfinite(g.price)) and np.all(g.price >= 0.0)
        np.testing.assert_allclose(g.price, intrinsic, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(batches(sigma=(0.01, 0.2), t=(1.0 / 365.0 / 24.0, 1.0 / 365.0), moneyness=(0.2, 5.0)))
def test_bsm_price_when_deep_out_of_the_money_then_never_negative(b: Batch) -> None:
    price = bsm_price(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    assert np.all(price >= 0.0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_bsm_price_when_large_input_in_forked_child_then_completes_with_same_values() -> None:
    b = random_batch(PARALLEL_MIN + 1, seed=23)
    parent = bsm_price(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)  # pool started
    pid = os.fork()
    if pid == 0:  # child: the pool's thread does not exist here
        child = bsm_price(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
        os._exit(0 if np.array_equal(child, parent) else 1)
    deadline = time.monotonic() + 30.0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("child process hung")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
