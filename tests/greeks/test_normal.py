"""The vectorised normal CDF against the C library's erfc."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from greeks._normal import norm_cdf


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
