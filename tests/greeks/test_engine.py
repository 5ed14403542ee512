"""Chunked execution: every element exactly once, in chunks of at most CHUNK elements; the
workspaces kept per thread stay bounded; recycled output blocks never overwrite results a
caller still holds."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from greeks import _engine as engine_module
from greeks import black76_price_delta, bsm_greeks, implied_vol_bsm
from greeks import implied as implied_module
from greeks import pricing as pricing_module
from greeks._engine import (
    CHUNK,
    IMPLIED_PARALLEL_MIN,
    MAX_WORKERS,
    PARALLEL_MIN,
    RECYCLE_MAX_BYTES,
    RECYCLE_MIN,
    ChunkFn,
    output_block,
    run_chunked,
)


def _chunks(n: int, parallel_min: int = PARALLEL_MIN) -> tuple[list[tuple[int, int]], set[int]]:
    """The (lo, hi) ranges run_chunked hands out for n elements, and the worker chunk sizes."""
    ranges: list[tuple[int, int]] = []
    sizes: set[int] = set()
    lock = threading.Lock()

    def make_worker(chunk: int) -> ChunkFn:
        with lock:
            sizes.add(chunk)

        def work(lo: int, hi: int) -> None:
            with lock:
                ranges.append((lo, hi))

        return work

    run_chunked(n, make_worker, parallel_min)
    return sorted(ranges), sizes


def _threads(n: int, parallel_min: int) -> set[int]:
    """The threads that ran chunks of n elements."""
    seen: set[int] = set()

    def make_worker(chunk: int) -> ChunkFn:
        seen.add(threading.get_ident())
        return lambda lo, hi: None

    run_chunked(n, make_worker, parallel_min)
    return seen


@pytest.mark.parametrize(
    "n", [1, 7, CHUNK - 1, CHUNK, CHUNK + 1, PARALLEL_MIN - 1, PARALLEL_MIN, PARALLEL_MIN + 1,
          3 * CHUNK + 5, 1_000_000],
)
def test_run_chunked_when_any_length_then_each_element_once_in_chunks_of_at_most_chunk(
    n: int,
) -> None:
    ranges, sizes = _chunks(n)
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert all(0 < hi - lo <= CHUNK for lo, hi in ranges)
    assert len(sizes) == 1
    (chunk,) = sizes
    assert all(hi - lo == chunk for lo, hi in ranges[:-1])


@pytest.mark.parametrize("n", [PARALLEL_MIN, PARALLEL_MIN + 1, 3 * CHUNK + 5, 1_000_000])
def test_run_chunked_when_parallel_then_chunk_count_is_a_multiple_of_the_threads(n: int) -> None:
    if MAX_WORKERS == 1:
        pytest.skip("one CPU: no helper thread")
    ranges, _ = _chunks(n)
    assert len(ranges) % MAX_WORKERS == 0
    lengths = [hi - lo for lo, hi in ranges]
    # equal chunks but the last, which is at most one element per chunk shorter
    assert max(lengths) - min(lengths) < len(ranges)


def test_run_chunked_when_below_parallel_min_then_full_chunks_on_the_calling_thread() -> None:
    n = 2 * CHUNK - 1
    ranges, sizes = _chunks(n, parallel_min=n + 1)
    assert sizes == {CHUNK}
    assert [hi - lo for lo, hi in ranges] == [CHUNK, n - CHUNK]
    assert _threads(n, parallel_min=n + 1) == {threading.get_ident()}


@pytest.mark.parametrize("parallel_min", [PARALLEL_MIN, IMPLIED_PARALLEL_MIN])
def test_run_chunked_when_at_parallel_min_then_equal_chunks_for_the_threads(parallel_min: int) -> (
    None
):
    if MAX_WORKERS == 1:
        pytest.skip("one CPU: no helper thread")
    ranges, sizes = _chunks(parallel_min, parallel_min=parallel_min)
    assert len(ranges) == MAX_WORKERS and sizes == {parallel_min // MAX_WORKERS}


def test_chunk_workspaces_when_many_sizes_then_at_most_two_kept_per_thread() -> None:
    for n in (100, 200, 300, CHUNK + 5, 2 * CHUNK - 1):
        s = np.full(n, 100.0)
        g = bsm_greeks(s, s, 0.5, 0.04, 0.0, 0.2, True)
        implied_vol_bsm(g.price, s, s, 0.5, 0.04, 0.0, True)

    assert 0 < len(pricing_module._local.chunks) <= pricing_module._CHUNK_CACHED
    assert 0 < len(implied_module._local.chunks) <= implied_module._CHUNK_CACHED


def _book(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    spot = rng.uniform(50.0, 500.0, n)
    return spot, spot * rng.uniform(0.7, 1.3, n), rng.uniform(0.01, 2.0, n), \
        rng.uniform(0.05, 0.9, n), rng.random(n) < 0.5


def test_output_block_when_this_interpreter_then_recycling_is_on() -> None:
    assert engine_module.RECYCLING
    assert engine_module._recycling_works()


def test_output_block_when_caller_dropped_every_result_then_next_call_reuses_its_memory() -> None:
    s, k, t, sg, c = _book(RECYCLE_MIN, 1)
    g = bsm_greeks(s, k, t, 0.04, 0.01, sg, c)
    address = g.price.ctypes.data
    expected = [a.copy() for a in (g.price, g.delta, g.gamma, g.theta, g.vega)]
    del g

    again = bsm_greeks(s, k, t, 0.04, 0.01, sg, c)

    assert again.price.ctypes.data == address
    for got, want in zip((again.price, again.delta, again.gamma, again.theta, again.vega),
                         expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_output_block_when_caller_keeps_one_array_then_it_is_never_overwritten() -> None:
    s, k, t, sg, c = _book(RECYCLE_MIN + 3, 2)
    g = bsm_greeks(s, k, t, 0.04, 0.01, sg, c)
    kept = g.delta
    kept_values = kept.copy()
    del g

    for seed in (3, 4):
        s2, k2, t2, sg2, c2 = _book(RECYCLE_MIN + 3, seed)
        other = bsm_greeks(s2, k2, t2, 0.04, 0.01, sg2, c2)
        assert not np.shares_memory(other.price, kept)

    np.testing.assert_array_equal(kept, kept_values)


def test_output_block_when_caller_keeps_the_price_of_a_pair_then_it_is_never_overwritten() -> (
    None
):
    s, k, t, sg, c = _book(RECYCLE_MIN, 5)
    kept, _ = black76_price_delta(s, k, t, 0.04, sg, c)
    kept_values = kept.copy()

    for seed in (6, 7):
        s2, k2, t2, sg2, c2 = _book(RECYCLE_MIN, seed)
        price, delta = black76_price_delta(s2, k2, t2, 0.04, sg2, c2)
        assert not np.shares_memory(price, kept) and not np.shares_memory(delta, kept)

    np.testing.assert_array_equal(kept, kept_values)


def test_output_block_when_small_or_over_the_cap_then_never_kept() -> None:
    small = output_block(5, RECYCLE_MIN - 1)
    assert getattr(engine_module._outputs, "block", None) is not small
    rows = 5
    big = output_block(rows, RECYCLE_MAX_BYTES // (8 * rows) + 1)  # np.empty: pages untouched
    assert getattr(engine_module._outputs, "block", None) is not big
    kept = output_block(rows, RECYCLE_MIN)
    assert engine_module._outputs.block is kept


def test_output_block_when_released_in_one_thread_then_not_handed_to_another() -> None:
    # Blocks are kept per thread: two threads cannot both see one free block and take it.
    block = output_block(5, RECYCLE_MIN)
    address = block.ctypes.data
    del block
    addresses: list[int] = []
    other = threading.Thread(target=lambda: addresses.append(
        output_block(5, RECYCLE_MIN).ctypes.data))
    other.start()
    other.join()

    assert addresses and addresses[0] != address
    assert output_block(5, RECYCLE_MIN).ctypes.data == address


def test_output_block_when_threads_evaluate_at_once_then_each_gets_its_own_results() -> None:
    books = [_book(RECYCLE_MIN, 10 + i) for i in range(4)]
    expected = [bsm_greeks(s, k, t, 0.04, 0.01, sg, c).price.copy() for s, k, t, sg, c in books]
    failures: list[int] = []
    start = threading.Barrier(len(books))

    def run(i: int) -> None:
        s, k, t, sg, c = books[i]
        start.wait()
        for _ in range(5):
            got = bsm_greeks(s, k, t, 0.04, 0.01, sg, c).price
            if not np.array_equal(got, expected[i]):
                failures.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(books))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    assert failures == []
