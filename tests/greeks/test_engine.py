"""Chunked execution: every element exactly once, in chunks of at most CHUNK elements; the
workspaces kept per thread stay bounded."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from greeks import bsm_greeks, implied_vol_bsm
from greeks import implied as implied_module
from greeks import pricing as pricing_module
from greeks._engine import CHUNK, MAX_WORKERS, PARALLEL_MIN, ChunkFn, run_chunked


def _chunks(n: int) -> tuple[list[tuple[int, int]], set[int]]:
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

    run_chunked(n, make_worker)
    return sorted(ranges), sizes


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
    n = PARALLEL_MIN - 1
    ranges, sizes = _chunks(n)
    assert sizes == {CHUNK}
    assert [hi - lo for lo, hi in ranges] == [CHUNK, n - CHUNK]


def test_chunk_workspaces_when_many_sizes_then_at_most_two_kept_per_thread() -> None:
    for n in (100, 200, 300, CHUNK + 5, 2 * CHUNK - 1):
        s = np.full(n, 100.0)
        g = bsm_greeks(s, s, 0.5, 0.04, 0.0, 0.2, True)
        implied_vol_bsm(g.price, s, s, 0.5, 0.04, 0.0, True)

    assert 0 < len(pricing_module._local.chunks) <= pricing_module._CHUNK_CACHED
    assert 0 < len(implied_module._local.chunks) <= implied_module._CHUNK_CACHED
