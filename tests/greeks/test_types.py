"""The Greeks value type: validation, addition and scaling for portfolio aggregation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greeks import Greeks, bsm_greeks
from tests.greeks.builders import Batch, batches

NAMES = ("price", "delta", "gamma", "theta", "vega")


def _greeks(values: list[float]) -> Greeks:
    return Greeks(*(np.array(v) for v in values))


def test_greeks_when_fields_have_different_shapes_then_value_error() -> None:
    with pytest.raises(ValueError, match="one shape"):
        Greeks(np.zeros(3), np.zeros(3), np.zeros(2), np.zeros(3), np.zeros(3))


def test_greeks_when_built_from_lists_then_float64_arrays() -> None:
    g = Greeks([1, 2], [0.5, 0.25], [0, 0], [-1, -2], [3, 4])  # type: ignore[arg-type]
    assert all(getattr(g, n).dtype == np.float64 for n in NAMES)
    assert g.shape == (2,)


def test_greeks_when_added_then_each_field_summed() -> None:
    a = _greeks([1.0, 0.5, 0.01, -0.2, 0.3])
    b = _greeks([2.0, -0.25, 0.02, -0.1, 0.1])
    s = a + b
    np.testing.assert_allclose([float(getattr(s, n)) for n in NAMES],
                               [3.0, 0.25, 0.03, -0.3, 0.4])


def test_greeks_when_scaled_by_multiplier_and_quantity_then_each_field_scaled() -> None:
    g = _greeks([1.0, 0.5, 0.01, -0.2, 0.3])
    short_two_es = g * (50.0 * -2.0)
    np.testing.assert_allclose([float(getattr(short_two_es, n)) for n in NAMES],
                               [-100.0, -50.0, -1.0, 20.0, -30.0])
    np.testing.assert_array_equal((3.0 * g).price, (g * 3.0).price)


def test_greeks_when_numpy_array_times_greeks_then_scaled_greeks() -> None:
    g = Greeks(*(np.array([1.0, 2.0]) for _ in NAMES))
    scaled = np.array([10.0, -1.0]) * g
    assert isinstance(scaled, Greeks)
    np.testing.assert_array_equal(scaled.vega, [10.0, -2.0])
    assert isinstance(np.float64(2.0) * g, Greeks)


def test_greeks_when_subtracted_or_negated_then_inverse_of_addition() -> None:
    a = _greeks([1.0, 0.5, 0.01, -0.2, 0.3])
    d = (a - a) + (-a) + a
    assert all(float(getattr(d, n)) == 0.0 for n in NAMES)


def test_greeks_when_added_to_non_greeks_then_type_error() -> None:
    with pytest.raises(TypeError):
        _ = _greeks([1.0, 0.5, 0.01, -0.2, 0.3]) + 1.0  # type: ignore[operator]


def test_greeks_when_zero_added_then_unchanged() -> None:
    g = _greeks([1.0, 0.5, 0.01, -0.2, 0.3])
    z = Greeks.zero() + g
    assert all(float(getattr(z, n)) == float(getattr(g, n)) for n in NAMES)


@settings(max_examples=40, deadline=None)
@given(batches(), st.lists(st.integers(-20, 20), min_size=12, max_size=12),
       st.sampled_from([1.0, 5.0, 50.0, 100.0]))
def test_greeks_when_legs_scaled_and_summed_then_equal_position_weighted_totals(
    b: Batch, quantities: list[int], multiplier: float
) -> None:
    legs = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    qty = np.array(quantities[: b.und.shape[0]], dtype=np.float64)
    book = (legs * (multiplier * qty)).total()
    by_leg = Greeks.zero()
    for i in range(qty.shape[0]):
        one = Greeks(*(getattr(legs, n)[i] for n in NAMES))
        by_leg = by_leg + one * (multiplier * qty[i])
    for n in NAMES:
        expected = float(np.sum(getattr(legs, n) * qty) * multiplier)
        assert float(getattr(book, n)) == pytest.approx(expected, rel=1e-12, abs=1e-9)
        assert float(getattr(by_leg, n)) == pytest.approx(expected, rel=1e-12, abs=1e-9)
