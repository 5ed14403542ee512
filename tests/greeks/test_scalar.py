"""The one-option Black-76 price agrees with the array form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from greeks import black76_price, black76_price_one


def test_black76_price_one_when_inputs_vary_then_equal_to_the_array_form() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    f = rng.uniform(10.0, 6000.0, n)
    k = f * np.exp(rng.uniform(-0.7, 0.7, n))
    t = np.exp(rng.uniform(math.log(1e-4), math.log(3.0), n))
    sigma = rng.uniform(0.02, 1.5, n)
    call = rng.random(n) < 0.5
    r = 0.04

    want = black76_price(f, k, t, r, sigma, call)
    got = np.array([black76_price_one(*a, r, s, c) for a, s, c in
                    zip(zip(f.tolist(), k.tolist(), t.tolist(), strict=True), sigma.tolist(),
                        call.tolist(), strict=True)])

    # relative to the forward: deep in-the-money values cancel in both forms alike
    assert np.max(np.abs(got - want) / f) < 1e-14
    big = want > 1e-6 * f
    assert np.max(np.abs(got[big] - want[big]) / want[big]) < 1e-12


@pytest.mark.parametrize(("t", "sigma"), [(0.0, 0.2), (-1.0, 0.2), (0.5, 0.0), (0.5, -0.1)])
def test_black76_price_one_when_degenerate_then_the_array_form_limits(t: float,
                                                                      sigma: float) -> None:
    for f, k, call in ((110.0, 100.0, True), (90.0, 100.0, True), (90.0, 100.0, False),
                       (110.0, 100.0, False)):
        assert black76_price_one(f, k, t, 0.04, sigma, call) == pytest.approx(
            float(black76_price(f, k, t, 0.04, sigma, call)), abs=1e-12)


def test_black76_price_one_when_an_input_is_nan_then_nan() -> None:
    assert math.isnan(black76_price_one(100.0, 100.0, math.nan, 0.04, 0.2, True))
    assert math.isnan(black76_price_one(100.0, 100.0, 0.5, 0.04, math.nan, False))
    assert math.isnan(black76_price_one(math.nan, 100.0, 0.5, 0.04, 0.2, True))
