"""Input broadcasting and chunked, optionally multi-threaded, execution of kernels.

Kernels work on cache-sized chunks of flat float64 arrays with preallocated scratch buffers.
numpy releases the GIL inside most ufunc loops, so for large inputs the chunks are shared
between the calling thread and a one-thread pool (created on first use, kept for the process);
results do not depend on the number of threads because every output element is computed by the
same sequence of element-wise operations.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
CallFlag = bool | BoolArray

CHUNK: Final = 16384
"""Elements per chunk. Smaller chunks keep the scratch buffers in L2 but cost more ufunc calls
per element; every call needs the GIL for its dispatch, and with two threads the GIL
collisions (a thread sleeping until the other releases) cost more than the extra cache misses.
16384 measured best for both one and two threads on the reference machine."""

PARALLEL_MIN: Final = 4 * CHUNK
"""Inputs shorter than this run on the calling thread only."""


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return os.cpu_count() or 1


MAX_WORKERS: Final = max(1, min(2, _cpu_count()))
"""Threads used for large inputs (the caller plus a pool). Capped at 2: every ufunc call
dispatches under the GIL, and with more threads GIL collisions eat the gain."""

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """The helper pool, created on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=MAX_WORKERS - 1, thread_name_prefix="greeks"
            )
        return _pool


def _forget_pool_after_fork() -> None:
    # A forked child has none of the parent's threads: start a fresh pool on demand.
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


class Inputs:
    """Broadcast inputs flattened to 1-D float64 arrays.

    Size-1 inputs stay 1-element arrays (numpy broadcasts them inside each ufunc call) and
    their value is also kept in ``scalars`` for branch decisions; other inputs are flattened to
    the full broadcast length.

    Parameters
    ----------
    numeric : sequence of array_like
        Float inputs, converted to float64.
    is_call : array_like of bool
        Option type flags.
    """

    __slots__ = ("flags", "n", "operands", "scalars", "shape")

    def __init__(self, numeric: Sequence[npt.ArrayLike], is_call: npt.ArrayLike) -> None:
        arrays = [np.asarray(a, dtype=np.float64) for a in numeric]
        flags = np.asarray(is_call)
        if flags.dtype != np.bool_:
            flags = flags.astype(np.bool_)
        shape = np.broadcast_shapes(*(a.shape for a in arrays), flags.shape)
        self.shape: tuple[int, ...] = shape
        self.n: int = math.prod(shape)
        self.operands: list[FloatArray] = [_flatten(a, shape) for a in arrays]
        self.scalars: list[float | None] = [
            float(a.reshape(-1)[0]) if a.size == 1 else None for a in arrays
        ]
        self.flags: CallFlag = (
            bool(flags.reshape(-1)[0]) if flags.size == 1 else _flatten_bool(flags, shape)
        )


def _flatten(a: FloatArray, shape: tuple[int, ...]) -> FloatArray:
    if a.size == 1:
        return a.reshape(1).copy()
    if a.shape == shape:
        return np.ascontiguousarray(a).reshape(-1)
    return np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)


def _flatten_bool(a: BoolArray, shape: tuple[int, ...]) -> BoolArray:
    if a.shape == shape:
        return np.ascontiguousarray(a).reshape(-1)
    return np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)


def take(op: FloatArray, lo: int, hi: int) -> FloatArray:
    """Slice an operand for the chunk ``[lo, hi)``; 1-element (scalar) operands pass through."""
    if op.shape[0] == 1:
        return op
    return op[lo:hi]


def take_flag(flag: CallFlag, lo: int, hi: int) -> CallFlag:
    """Slice a call-flag operand for the chunk ``[lo, hi)``; scalars pass through."""
    if isinstance(flag, bool):
        return flag
    return flag[lo:hi]


ChunkFn = Callable[[int, int], None]


def run_chunked(n: int, make_worker: Callable[[int], ChunkFn]) -> None:
    """Run ``worker(lo, hi)`` over ``[0, n)`` in chunks.

    Parameters
    ----------
    n : int
        Number of elements.
    make_worker : callable
        ``make_worker(chunk)`` is called once per participating thread with the chunk length;
        it returns the chunk function, which owns scratch buffers of that length and writes its
        results into preallocated output arrays.
    """
    parallel = n >= PARALLEL_MIN and MAX_WORKERS > 1
    chunk = min(CHUNK, max(n, 1))
    n_chunks = -(-n // chunk)
    counter = itertools.count()

    def drain() -> None:
        # Floating-point error state is per thread: set it in each participating thread.
        with np.errstate(all="ignore"):
            worker = make_worker(chunk)
            while True:
                i = next(counter)
                if i >= n_chunks:
                    return
                worker(i * chunk, min(n, (i + 1) * chunk))

    if not parallel:
        drain()
        return

    pool = _executor()
    helpers: list[Future[None]] = [
        pool.submit(drain) for _ in range(min(MAX_WORKERS - 1, n_chunks - 1))
    ]
    try:
        drain()
    finally:
        for f in helpers:
            f.result()
