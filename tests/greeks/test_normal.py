"""The vectorised normal CDF against the C library's erfc, and its signed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greeks._normal import (
    SHARED_LEN,
    NormalWork,
    cdf_from_tail,
    full_const,
    norm_cdf,
    signed_cdf_from_tail,
    tail_into,
)


def _erfc_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def test_norm_cdf_when_dense_grid_then_relative_error_below_2e14() -> None:
    x = np.linspace(-8.0, 8.0, 40_001)
    expected = np.array([_erfc_cdf(float(v)) for v in x])
    rel = np.abs(norm_cdf(x) / expected - 1.0)
    # the reference itself carries ~|x|^2 eps from rounding x / sqrt(2)
    assert np.max(rel) < 2e-14


def test_norm_cdf_when_far_tail_then_relative_error_below_1e11() -> None:
    x = np.linspace(-12.0, -8.0, 4_001)
    expected = np.array([_erfc_cdf(float(v)) for v in x])
    assert np.max(np.abs(norm_cdf(x) / expected - 1.0)) < 1e-11


def test_norm_cdf_when_special_values_then_limits() -> None:
    out = norm_cdf(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 40.0]))
    assert out[0] == 0.5 and out[1] == 0.5
    assert out[2] == 1.0 and out[5] == 1.0
    assert 0.0 < out[3] < 1e-299
    assert np.isnan(out[4])


@settings(max_examples=100, deadline=None)
@given(st.floats(-30.0, 30.0))
def test_norm_cdf_when_reflected_then_sums_to_one(x: float) -> None:
    a, b = norm_cdf(np.array([x, -x]))
    assert abs(a + b - 1.0) <= 2e-16
    assert 0.0 <= a <= 1.0


def _signed_cdf(x: np.ndarray, is_call: np.ndarray, small: bool) -> np.ndarray:
    w = NormalWork(x.size, small)
    tail = tail_into(x, w).copy()
    c = (is_call.astype(np.int8) - np.signbit(x).astype(np.int8)).astype(np.int8)
    out = np.empty(x.size)
    with np.errstate(all="ignore"):
        signed_cdf_from_tail(x, tail, c, out)
    return out


@pytest.mark.parametrize("small", [False, True])
def test_signed_cdf_when_calls_and_puts_then_phi_times_cdf_at_phi_x_bit_for_bit(
    small: bool,
) -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate([
        rng.normal(0.0, 4.0, 2_000), rng.uniform(-60.0, 60.0, 500),
        np.array([0.0, -0.0, 1e-300, -1e-300, 36.999, 37.0, -37.0, 38.0, -38.0, np.inf,
                  -np.inf]),
    ])
    is_call = rng.random(x.size) < 0.5
    phi = np.where(is_call, 1.0, -1.0)
    x_phi = phi * x
    w = NormalWork(x.size, small)
    plain = np.empty(x.size)
    with np.errstate(all="ignore"):
        cdf_from_tail(x_phi, tail_into(x_phi, w), w, plain)
    expected = phi * plain
    got = _signed_cdf(x, is_call, small)
    np.testing.assert_array_equal(got.view(np.uint64), expected.view(np.uint64))


def test_signed_cdf_when_nan_then_nan() -> None:
    got = _signed_cdf(np.array([np.nan, np.nan]), np.array([True, False]), small=False)
    assert np.isnan(got).all()


@pytest.mark.parametrize("n", [1, 1024, 1025, SHARED_LEN, SHARED_LEN + 1])
def test_full_const_when_any_length_then_read_only_array_of_the_value(n: int) -> None:
    a = full_const(37.0, n)
    assert a.shape == (n,) and a.dtype == np.float64
    assert not a.flags.writeable
    assert (a == 37.0).all()
    with pytest.raises(ValueError):
        a[0] = 1.0


def test_full_const_when_chunk_lengths_then_views_of_one_shared_array() -> None:
    a = full_const(0.25, SHARED_LEN // 2)
    b = full_const(0.25, SHARED_LEN - 3)
    assert np.shares_memory(a, b)
    assert not np.shares_memory(a, full_const(0.5, SHARED_LEN // 2))
