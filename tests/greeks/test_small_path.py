"""Small and medium inputs (at most MEDIUM_MAX elements) take their own path; it gives the same
results. Above SMALL_MAX a batch is evaluated padded to its length class.

Each check evaluates a batch on its own and the same options embedded in a batch larger than
MEDIUM_MAX (the chunked path), and requires identical arrays (NaN where NaN). A batch of
one option has size-1 rate arrays, which count as scalars (scalar and array rates may differ in
the last bit, see test_pricing): the embedding batch then gets the same scalar rates.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greeks import (
    Greeks,
    black76_greeks,
    black76_price,
    black76_price_delta,
    bsm_greeks,
    bsm_price,
    bsm_price_delta,
    implied_vol_black76,
    implied_vol_bsm,
)
from greeks import pricing as pricing_module
from greeks._engine import MEDIUM_MAX, SMALL_MAX, small_length, small_operands
from tests.greeks.builders import Batch, FloatArray, random_batch

GREEK_NAMES = ("price", "delta", "gamma", "theta", "vega")
SIZES = (1, 2, 3, SMALL_MAX - 1, SMALL_MAX, SMALL_MAX + 1, 2 * SMALL_MAX, 2 * SMALL_MAX + 1, 700,
         MEDIUM_MAX - 1, MEDIUM_MAX)
FILLER = random_batch(MEDIUM_MAX + 3 * SMALL_MAX, seed=99)


def _embed(values: FloatArray, filler: FloatArray) -> FloatArray:
    """``values`` placed in the middle of ``filler`` (a batch that takes the chunked path)."""
    n = values.shape[0]
    big = filler.copy()
    big[SMALL_MAX: SMALL_MAX + n] = values
    return big


def _part(big: FloatArray, n: int) -> FloatArray:
    return big[SMALL_MAX: SMALL_MAX + n]


def _assert_same(small: FloatArray, big: FloatArray) -> None:
    np.testing.assert_array_equal(np.asarray(small), np.asarray(big))


def _degenerate(b: Batch, seed: int) -> Batch:
    """Batch with expired, zero/negative/NaN volatility, NaN inputs and tiny total volatility."""
    rng = np.random.default_rng(seed)
    n = b.und.shape[0]
    t, sigma, und = b.t.copy(), b.sigma.copy(), b.und.copy()
    kind = rng.integers(0, 9, n)
    t[kind == 1] = 0.0
    t[kind == 2] = -0.25
    sigma[kind == 3] = 0.0
    sigma[kind == 4] = -0.1
    sigma[kind == 5] = np.nan
    t[kind == 6] = np.nan
    und[kind == 7] = np.nan
    t[kind == 8] = 1e-12
    sigma[kind == 8] = 1e-6
    return Batch(und, b.strike, t, b.r, b.q, sigma, b.is_call)


def _pricing_calls(b: Batch) -> dict[str, Callable[[Batch], object]]:
    return {
        "bsm_greeks": lambda x: bsm_greeks(x.und, x.strike, x.t, x.r, x.q, x.sigma, x.is_call),
        "bsm_greeks scalar rates": lambda x: bsm_greeks(
            x.und, x.strike, x.t, 0.03, 0.01, x.sigma, x.is_call),
        "bsm_greeks q = 0, calls": lambda x: bsm_greeks(
            x.und, x.strike, x.t, 0.03, 0.0, x.sigma, True),
        "bsm_greeks puts": lambda x: bsm_greeks(
            x.und, x.strike, x.t, x.r, 0.02, x.sigma, False),
        "bsm_price_delta": lambda x: bsm_price_delta(
            x.und, x.strike, x.t, 0.04, 0.015, x.sigma, x.is_call),
        "bsm_price": lambda x: bsm_price(x.und, x.strike, x.t, x.r, x.q, x.sigma, x.is_call),
        "black76_greeks": lambda x: black76_greeks(x.und, x.strike, x.t, x.r, x.sigma, x.is_call),
        "black76_greeks scalar rate": lambda x: black76_greeks(
            x.und, x.strike, x.t, 0.05, x.sigma, x.is_call),
        "black76_price_delta": lambda x: black76_price_delta(
            x.und, x.strike, x.t, 0.05, x.sigma, False),
        "black76_price": lambda x: black76_price(x.und, x.strike, x.t, x.r, x.sigma, x.is_call),
    }


def _outputs(result: object) -> list[FloatArray]:
    if isinstance(result, Greeks):
        return [getattr(result, name) for name in GREEK_NAMES]
    if isinstance(result, tuple):
        return list(result)
    return [np.asarray(result)]


def _scalar_rates_if_single(b: Batch, f: Batch) -> tuple[Batch, Batch]:
    if b.und.shape[0] != 1:
        return b, f
    r, q = np.full(f.r.shape, b.r[0]), np.full(f.q.shape, b.q[0])
    return b, Batch(f.und, f.strike, f.t, r, q, f.sigma, f.is_call)


def _rates(b: Batch) -> tuple[FloatArray | float, FloatArray | float]:
    return (float(b.r[0]), float(b.q[0])) if b.r.shape[0] == 1 else (b.r, b.q)


def _check_pricing(b: Batch) -> None:
    n = b.und.shape[0]
    b, f = _scalar_rates_if_single(b, FILLER)
    big = Batch(*(
        _embed(np.asarray(v, dtype=np.float64), np.asarray(w, dtype=np.float64))
        for v, w in zip(
            (b.und, b.strike, b.t, b.r, b.q, b.sigma), (f.und, f.strike, f.t, f.r, f.q, f.sigma),
            strict=True)
    ), is_call=_embed(b.is_call.astype(np.float64), f.is_call.astype(np.float64)) > 0.5)
    if n == 1:
        big = Batch(big.und, big.strike, big.t, _rates(b)[0], _rates(b)[1], big.sigma,
                    big.is_call)
    for name, call in _pricing_calls(b).items():
        small_out = _outputs(call(b))
        big_out = _outputs(call(big))
        for s_arr, b_arr in zip(small_out, big_out, strict=True):
            assert s_arr.shape == (n,), name
            _assert_same(s_arr, _part(b_arr, n))


@pytest.mark.parametrize("n", SIZES)
def test_pricing_when_small_batch_then_identical_to_chunked_path(n: int) -> None:
    _check_pricing(random_batch(n, seed=n))


@pytest.mark.parametrize("n", SIZES)
def test_pricing_when_degenerate_inputs_then_identical_to_chunked_path(n: int) -> None:
    _check_pricing(_degenerate(random_batch(n, seed=100 + n), seed=n))


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.integers(1, SMALL_MAX + 2), st.integers(SMALL_MAX, MEDIUM_MAX)),
       st.integers(0, 2**32 - 1))
def test_pricing_when_random_small_batches_then_identical_to_chunked_path(
    n: int, seed: int
) -> None:
    b = random_batch(n, seed=seed)
    _check_pricing(_degenerate(b, seed) if seed % 2 else b)


def _iv_inputs(b: Batch, seed: int) -> tuple[FloatArray, FloatArray]:
    """Model prices (BSM, Black-76) with some invalid and some perturbed entries."""
    rng = np.random.default_rng(seed)
    n = b.und.shape[0]
    p = np.asarray(bsm_price(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call))
    p76 = np.asarray(black76_price(b.und, b.strike, b.t, b.r, b.sigma, b.is_call))
    kind = rng.integers(0, 8, n)
    for arr in (p, p76):
        arr[kind == 1] = -1.0
        arr[kind == 2] = np.nan
        arr[kind == 3] = 0.0
        arr[kind == 4] *= 1.0 + rng.normal(0.0, 0.05, int(np.sum(kind == 4)))
        arr[kind == 5] = b.und[kind == 5] * 2.0
    return p, p76


def _check_iv(b: Batch, seed: int) -> None:
    n = b.und.shape[0]
    b, f = _scalar_rates_if_single(b, FILLER)
    p, p76 = _iv_inputs(b, seed)
    fp, fp76 = _iv_inputs(f, seed + 1)
    und, k, t, r_, q_ = (_embed(v, w) for v, w in zip(
        (b.und, b.strike, b.t, b.r, b.q), (f.und, f.strike, f.t, f.r, f.q), strict=True))
    r, q = (_rates(b) if n == 1 else (r_, q_))
    calls = _embed(b.is_call.astype(np.float64), f.is_call.astype(np.float64)) > 0.5
    bp, bp76 = _embed(p, fp), _embed(p76, fp76)
    pairs = [
        (implied_vol_bsm(p, b.und, b.strike, b.t, b.r, b.q, b.is_call),
         implied_vol_bsm(bp, und, k, t, r, q, calls)),
        (implied_vol_bsm(p, b.und, b.strike, b.t, 0.02, 0.0, b.is_call),
         implied_vol_bsm(bp, und, k, t, 0.02, 0.0, calls)),
        (implied_vol_black76(p76, b.und, b.strike, b.t, b.r, b.is_call),
         implied_vol_black76(bp76, und, k, t, r, calls)),
        (implied_vol_black76(p76, b.und, b.strike, b.t, 0.05, True),
         implied_vol_black76(bp76, und, k, t, 0.05, True)),
    ]
    for small, big in pairs:
        assert small.shape == (n,)
        _assert_same(small, _part(big, n))


@pytest.mark.parametrize("n", SIZES)
def test_implied_vol_when_small_batch_then_identical_to_chunked_path(n: int) -> None:
    _check_iv(random_batch(n, seed=200 + n), seed=n)


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.integers(1, SMALL_MAX + 2), st.integers(SMALL_MAX, MEDIUM_MAX)),
       st.integers(0, 2**32 - 1))
def test_implied_vol_when_random_small_batches_then_identical_to_chunked_path(
    n: int, seed: int
) -> None:
    _check_iv(random_batch(n, seed=seed), seed=seed)


@pytest.mark.parametrize("n", [1, 2, 5, SMALL_MAX + 3, 300])
def test_implied_vol_when_extra_steps_needed_then_identical_to_chunked_path(n: int) -> None:
    # total volatility sigma sqrt(t) near 4: beyond where three steps converge, so these
    # elements take the further-steps path
    b = random_batch(n, seed=300 + n)
    sigma = np.full(n, 2.5)
    t = np.full(n, 2.5)
    k = b.und * np.exp(np.linspace(-0.3, 0.3, n))
    hard = Batch(b.und, k, t, np.full(n, 0.03), np.full(n, 0.01), sigma, b.is_call)
    p = np.asarray(bsm_price(hard.und, hard.strike, t, hard.r, hard.q, sigma, hard.is_call))
    iv = implied_vol_bsm(p, hard.und, hard.strike, t, hard.r, hard.q, hard.is_call)
    np.testing.assert_allclose(iv, sigma, rtol=1e-10)
    f = FILLER
    und, kk, tt, pp = (_embed(v, w) for v, w in zip(
        (hard.und, hard.strike, t, p), (f.und, f.strike, f.t, f.und * 0.1), strict=True))
    calls = _embed(hard.is_call.astype(np.float64), f.is_call.astype(np.float64)) > 0.5
    r, q = (0.03, 0.01) if n == 1 else (np.full(und.shape, 0.03), np.full(und.shape, 0.01))
    big = implied_vol_bsm(pp, und, kk, tt, r, q, calls)
    _assert_same(iv, _part(big, n))


def test_small_path_when_scalars_and_broadcasting_then_shapes_and_values_match() -> None:
    p = bsm_price(100.0, 100.0, 0.25, 0.03, 0.01, 0.2, True)
    assert p.shape == ()
    g = bsm_greeks(np.array([100.0]), 95.0, 0.5, 0.02, 0.0, 0.3, np.array([False]))
    assert g.shape == (1,)
    grid = bsm_greeks(100.0, np.array([80.0, 100.0, 125.0])[:, None],
                      np.array([0.01, 0.1, 1.0, 2.5]), 0.04, 0.02, 0.3,
                      np.array([True, False, True, False]))
    assert grid.shape == (3, 4)
    flat = bsm_greeks(np.full(12, 100.0), np.repeat([80.0, 100.0, 125.0], 4),
                      np.tile([0.01, 0.1, 1.0, 2.5], 3), 0.04, 0.02, 0.3,
                      np.tile([True, False, True, False], 3))
    for name in GREEK_NAMES:
        _assert_same(getattr(grid, name).reshape(-1), getattr(flat, name))
    iv = implied_vol_bsm(grid.price, 100.0, np.array([80.0, 100.0, 125.0])[:, None],
                         np.array([0.01, 0.1, 1.0, 2.5]), 0.04, 0.02,
                         np.array([True, False, True, False]))
    assert iv.shape == (3, 4)
    ok = ~np.isnan(iv)
    np.testing.assert_allclose(iv[ok], 0.3, rtol=1e-10)
    assert float(implied_vol_bsm(float(p), 100, 100, 0.25, 0.03, 0.01, 1)) == pytest.approx(
        0.2, abs=1e-12)


def test_small_length_when_sizes_then_exact_up_to_small_max_then_eight_classes() -> None:
    assert [small_length(n) for n in (1, 2, SMALL_MAX)] == [2, 2, SMALL_MAX]
    lengths = [small_length(n) for n in range(SMALL_MAX + 1, MEDIUM_MAX + 1)]
    assert all(n <= m < 1.5 * n + 1 for n, m in enumerate(lengths, SMALL_MAX + 1))
    assert sorted(set(lengths)) == [96, 128, 192, 256, 384, 512, 768, 1024]


def test_medium_path_when_padding_held_degenerate_values_then_results_unchanged() -> None:
    # A padded call reuses its length class's workspace: what a longer call left beyond the
    # shorter call's elements (expired, NaN, zero vol) must not reach the shorter call's results.
    n = SMALL_MAX + 10
    longer = _degenerate(random_batch(small_length(n), seed=41), seed=41)
    b = random_batch(n, seed=42)
    fresh = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    fresh_iv = implied_vol_bsm(fresh.price, b.und, b.strike, b.t, b.r, b.q, b.is_call)
    kept = {name: getattr(fresh, name).copy() for name in GREEK_NAMES}
    kept_iv = fresh_iv.copy()

    g_long = bsm_greeks(longer.und, longer.strike, longer.t, longer.r, longer.q, longer.sigma,
                        longer.is_call)
    implied_vol_bsm(g_long.price, longer.und, longer.strike, longer.t, longer.r, longer.q,
                    longer.is_call)
    again = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    again_iv = implied_vol_bsm(again.price, b.und, b.strike, b.t, b.r, b.q, b.is_call)

    for name in GREEK_NAMES:
        np.testing.assert_array_equal(getattr(again, name), kept[name])
    np.testing.assert_array_equal(again_iv, kept_iv)


def test_medium_path_when_inputs_valid_then_padding_never_takes_the_repair_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n = SMALL_MAX + 10
    longer = _degenerate(random_batch(small_length(n), seed=43), seed=43)
    bsm_greeks(longer.und, longer.strike, longer.t, longer.r, longer.q, longer.sigma,
               longer.is_call)
    repairs: list[int] = []
    monkeypatch.setattr(pricing_module, "_repair", lambda *args: repairs.append(1))
    b = random_batch(n, seed=44)

    bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    black76_price_delta(b.und, b.strike, b.t, 0.03, b.sigma, b.is_call)

    assert repairs == []


def test_small_operands_when_sizes_then_small_path_only_up_to_small_max() -> None:
    x = np.ones(SMALL_MAX)
    taken = small_operands([x, 1.0], True)
    assert taken is not None
    shape, n, ops, flag = taken
    assert shape == (SMALL_MAX,) and n == SMALL_MAX and ops[1] == 1.0 and flag is True
    assert small_operands([np.ones(SMALL_MAX + 1), 1.0], True) is None
    assert small_operands([np.ones(0), 1.0], True) is None
    one = small_operands([np.ones(1), np.ones((1, 1))], np.array([False]))
    assert one is not None and one[0] == (1, 1) and one[3] is False


def test_small_path_when_inputs_given_then_inputs_never_modified() -> None:
    b = random_batch(8, seed=5)
    before = [a.copy() for a in (b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)]
    g = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    implied_vol_bsm(g.price, b.und, b.strike, b.t, b.r, b.q, b.is_call)
    black76_greeks(b.und, b.strike, b.t, b.r, b.sigma, b.is_call)
    for a, c in zip(before, (b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call), strict=True):
        np.testing.assert_array_equal(a, c)


def test_small_path_when_results_kept_then_later_calls_do_not_overwrite_them() -> None:
    b = random_batch(8, seed=6)
    first = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
    kept = {name: getattr(first, name).copy() for name in GREEK_NAMES}
    iv = implied_vol_bsm(first.price, b.und, b.strike, b.t, b.r, b.q, b.is_call)
    iv_kept = iv.copy()
    c = random_batch(8, seed=7)
    bsm_greeks(c.und, c.strike, c.t, c.r, c.q, c.sigma, c.is_call)
    implied_vol_bsm(first.price * 1.01, c.und, c.strike, c.t, c.r, c.q, c.is_call)
    for name in GREEK_NAMES:
        np.testing.assert_array_equal(getattr(first, name), kept[name])
    np.testing.assert_array_equal(iv, iv_kept)


def test_small_path_when_called_from_threads_then_same_results() -> None:
    batches = [random_batch(1 + i % SMALL_MAX, seed=i) for i in range(24)]
    expected = [bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
                for b in batches]
    expected_iv = [implied_vol_bsm(g.price, b.und, b.strike, b.t, b.r, b.q, b.is_call)
                   for g, b in zip(expected, batches, strict=True)]
    failures: list[str] = []

    def worker(offset: int) -> None:
        for rep in range(30):
            i = (offset + rep) % len(batches)
            b = batches[i]
            g = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
            iv = implied_vol_bsm(g.price, b.und, b.strike, b.t, b.r, b.q, b.is_call)
            if not (np.array_equal(g.delta, expected[i].delta)
                    and np.array_equal(iv, expected_iv[i], equal_nan=True)):
                failures.append(f"batch {i}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert failures == []


def test_small_path_when_degenerate_then_documented_limits() -> None:
    # expired, zero volatility and NaN on the small path (see greeks.pricing)
    g = bsm_greeks(np.array([110.0, 90.0, 110.0, 100.0]), 100.0,
                   np.array([0.0, 0.0, 0.5, 0.5]), 0.05, 0.02,
                   np.array([0.25, 0.25, 0.0, np.nan]), True)
    assert float(g.price[0]) == 10.0 and float(g.price[1]) == 0.0
    assert float(g.delta[0]) == 1.0 and float(g.delta[1]) == 0.0
    fwd = 110.0 * math.exp(-0.02 * 0.5) - 100.0 * math.exp(-0.05 * 0.5)
    assert float(g.price[2]) == pytest.approx(fwd, rel=1e-14)
    assert np.isnan(g.price[3]) and np.isnan(g.delta[3])
    for name in ("gamma", "theta", "vega"):
        np.testing.assert_array_equal(getattr(g, name)[:2], 0.0)


def test_cached_workspaces_when_sizes_alternate_then_results_repeat() -> None:
    # small-path workspaces are cached per length, single-chunk ones per thread (most recent)
    sizes = [5, 300, 64, 1000, 300, 5, 2000, 1000, 64]
    batches = {n: random_batch(n, seed=n) for n in set(sizes)}
    first: dict[int, tuple[FloatArray, FloatArray]] = {}
    for n in sizes:
        b = batches[n]
        g = bsm_greeks(b.und, b.strike, b.t, b.r, b.q, b.sigma, b.is_call)
        iv = implied_vol_bsm(g.price, b.und, b.strike, b.t, b.r, b.q, b.is_call)
        if n not in first:
            first[n] = (g.theta.copy(), iv.copy())
        else:
            np.testing.assert_array_equal(g.theta, first[n][0])
            np.testing.assert_array_equal(iv, first[n][1])


def test_implied_vol_when_array_yield_between_scalar_rate_calls_then_rate_not_stale() -> None:
    # The workspace keeps -r of the last scalar rates; a call with a scalar rate and an array
    # yield overwrites that slot, so the next call with the earlier rates must fill it again.
    f = np.array([100.0, 100.0, 100.0])
    k = np.array([95.0, 100.0, 105.0])
    c = np.array([True, False, True])
    price = black76_price(f, k, 0.5, 0.04, 0.2, c)
    first = implied_vol_black76(price, f, k, 0.5, 0.04, c)
    q = np.array([0.01, 0.02, 0.03])
    implied_vol_bsm(bsm_price(f, k, 0.5, 0.05, q, 0.3, c), f, k, 0.5, 0.05, q, c)

    again = implied_vol_black76(price, f, k, 0.5, 0.04, c)

    np.testing.assert_allclose(first, 0.2, rtol=1e-12)
    np.testing.assert_array_equal(again, first)
