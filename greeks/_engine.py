"""Input broadcasting and chunked, optionally multi-threaded, execution of kernels.

Kernels work on cache-sized chunks of flat float64 arrays with preallocated scratch buffers.
numpy releases the GIL inside most ufunc loops, so for large inputs the chunks are shared
between the calling thread and a one-thread pool (created on first use, kept for the process);
results do not depend on the number of threads because every output element is computed by the
same sequence of element-wise operations.

Small inputs (at most ``SMALL_MAX`` elements) skip all of that: ``small_operands`` converts
them to full-length contiguous arrays (scalars stay Python floats for the caller to fill into
cached buffers), and the kernels run once on whole arrays with per-thread cached workspaces.
At a few dozen elements a ufunc call costs about the same whatever it computes, so the fixed
cost per call (broadcasting, allocation, error-state context managers) is what matters there.
Medium inputs (up to ``MEDIUM_MAX`` elements) take the same path in a workspace of the next
length class (``small_length``), their operands copied in and the rest of each buffer filled
with harmless values (``pad_into``): one workspace per length class keeps the number of cached
workspaces bounded whatever sizes a caller uses.

Results of large inputs are written into an output block that each thread recycles once the
caller has dropped every array of it (``output_block``), which saves the page faults of fresh
memory.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final, TypeGuard

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
CallFlag = bool | BoolArray

CHUNK: Final = 32768
"""Largest number of elements per chunk. Smaller chunks keep more of the scratch buffers in L2
but cost more ufunc calls per element; every call needs the GIL for its dispatch, and with two
threads the GIL collisions (a thread sleeping until the other releases) cost more than the extra
cache misses. On the reference machine one thread runs equally fast from 16384 to 65536 and two
threads run fastest at 32768."""

PARALLEL_MIN: Final = CHUNK
"""Pricing inputs shorter than this run on the calling thread only. Handing half the work to
the pool costs a thread wake-up and GIL collisions: on the reference machine price + 4 greeks
took about as long on two threads as on one at 24,000 elements, and 0.74-0.93 ms against
0.99 ms at 32,768 (1.0-1.2 ms against 1.9 ms at 50,000)."""

IMPLIED_PARALLEL_MIN: Final = CHUNK // 2
"""The same for implied vol, about five times the work per element: two threads broke even
near 12,000 elements and took 1.4 ms against 1.9 ms at 16,384 (2.3 against 4.0 ms at 32,768)."""

SMALL_MAX: Final = 64
"""Inputs of at most this many elements take the small-input path (same results)."""

SMALL_MIN_LEN: Final = 2
"""Small-path buffers have at least this length: a single element is evaluated in a buffer
of two (its copy alongside). numpy handles in-place operations on 1-element arrays through a
slow path (about 1 us instead of 0.3 us per call), and elements are independent."""

MEDIUM_MAX: Final = 1024
"""Inputs of at most this many elements take the small-input path, those above ``SMALL_MAX``
padded to their length class (``small_length``). On the reference machine (best of three
alternating runs) BSM price + 4 greeks took 36 us instead of 68 in chunks at 100 elements and
73 instead of 105 at 1,000; implied vol 82 instead of 120 and 184 instead of 221. Above 1,024
padded implied vol was up to 7% slower than chunks."""


def small_length(n: int) -> int:
    """Workspace length of the small-input path for ``n <= MEDIUM_MAX`` elements.

    ``n`` itself (at least ``SMALL_MIN_LEN``) up to ``SMALL_MAX``; above it the next length
    class, a power of two or one and a half times one (96, 128, 192, 256, ...): at most half
    again as many elements as asked for, and eight classes up to ``MEDIUM_MAX``.
    """
    if n <= SMALL_MAX:
        return max(n, SMALL_MIN_LEN)
    step = 1 << ((n - 1).bit_length() - 2)
    return -(-n // step) * step


def pad_into(buf: npt.NDArray[Any], a: npt.NDArray[Any], pad: float | bool) -> npt.NDArray[Any]:
    """``buf`` holding ``a`` in its first ``len(a)`` elements and ``pad`` after them."""
    n = a.shape[0]
    buf[:n] = a
    buf[n:] = pad
    return buf


def at_length(a: Operand, buf: FloatArray, pad: float) -> FloatArray:
    """Small-path operand ``a`` as an array of ``len(buf)`` elements: a scalar filled into
    ``buf``, a shorter array copied into it with ``pad`` after it, a full-length one as it is."""
    if isinstance(a, float):
        buf.fill(a)
        return buf
    if a.shape[0] == buf.shape[0]:
        return a
    out: FloatArray = pad_into(buf, a, pad)
    return out


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


Operand = FloatArray | float
"""A small-path operand: a flat full-length float64 array, or a scalar."""


def _shape_of(shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """Broadcast shape; the common case (one array shape plus scalars) without numpy's helper."""
    found: tuple[int, ...] = ()
    for sh in shapes:
        if sh == found or not sh:
            continue
        if found:
            return np.broadcast_shapes(*shapes)
        found = sh
    return found


_F64: Final = np.dtype(np.float64)
_BOOL: Final = np.dtype(np.bool_)


def _is_flat(a: object, dtype: np.dtype[Any], itemsize: int) -> TypeGuard[npt.NDArray[Any]]:
    """A 1-D contiguous ndarray of exactly ``dtype`` (identity: native byte order)."""
    return (type(a) is np.ndarray and a.dtype is dtype and a.ndim == 1
            and a.strides[0] == itemsize)


def _common_case(
    numeric: Sequence[npt.ArrayLike], is_call: npt.ArrayLike, limit: int
) -> tuple[tuple[int, ...], int, list[Operand], CallFlag] | None:
    """``small_operands`` for flat contiguous float64 arrays of one length and floats; else None.

    (The strategies' calls; the general conversion costs a few microseconds more.)
    """
    n = -1
    ops: list[Operand] = []
    for a in numeric:
        if isinstance(a, float):
            ops.append(a)
            continue
        if not _is_flat(a, _F64, 8):
            return None
        if n != a.shape[0]:
            if n >= 0:
                return None
            n = a.shape[0]
        ops.append(a)
    if n < 1 or n > limit:
        return None
    if not (isinstance(is_call, bool) or (_is_flat(is_call, _BOOL, 1) and is_call.shape[0] == n)):
        return None
    flag: CallFlag = is_call
    if n == 1:  # size-1 operands are scalars
        ops = [a if isinstance(a, float) else float(a[0]) for a in ops]
        if not isinstance(flag, bool):
            flag = bool(flag[0])
    return (n,), n, ops, flag


def small_operands(
    numeric: Sequence[npt.ArrayLike], is_call: npt.ArrayLike, limit: int = SMALL_MAX
) -> tuple[tuple[int, ...], int, list[Operand], CallFlag] | None:
    """Inputs as ``(shape, n, operands, flags)`` if the broadcast size is 1 to ``limit``.

    Operands of size 1 become Python floats; the others flat, contiguous float64 arrays of the
    broadcast size (views of the inputs where possible: never written to). ``flags`` is a bool
    or a flat bool array. Returns None for larger or empty inputs.
    """
    fast = _common_case(numeric, is_call, limit)
    if fast is not None:
        return fast
    arrays: list[Operand] = [
        a if isinstance(a, float) else np.asarray(a, dtype=np.float64) for a in numeric
    ]
    flags = is_call if isinstance(is_call, bool) else np.asarray(is_call)
    shapes = [() if isinstance(a, float) else a.shape for a in arrays]
    shapes.append(() if isinstance(flags, bool) else flags.shape)
    shape = _shape_of(shapes)
    n = math.prod(shape)
    if n > limit or n == 0:
        return None
    ops: list[Operand] = []
    for a in arrays:
        if isinstance(a, float):
            ops.append(a)
        elif a.size == 1:
            ops.append(float(a.reshape(-1)[0]))
        elif a.shape == shape:
            ops.append(a if a.ndim == 1 and a.flags.c_contiguous else
                       np.ascontiguousarray(a).reshape(-1))
        else:
            ops.append(np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1))
    flag: CallFlag
    if isinstance(flags, bool):
        flag = flags
    else:
        if flags.dtype != np.bool_:
            flags = flags.astype(np.bool_)
        if flags.size == 1:
            flag = bool(flags.reshape(-1)[0])
        elif flags.shape == shape:
            flag = flags if flags.ndim == 1 and flags.flags.c_contiguous else \
                np.ascontiguousarray(flags).reshape(-1)
        else:
            flag = np.ascontiguousarray(np.broadcast_to(flags, shape)).reshape(-1)
    return shape, n, ops, flag


_geterrobj = getattr(np, "geterrobj", None)
_seterrobj = getattr(np, "seterrobj", None)


def errors_off() -> object:
    """Switch floating-point warnings off for this thread; returns the state to restore.

    ``np.errstate(all="ignore")`` costs about 3 us, more than a whole small evaluation; numpy
    1.x error objects do the same in a fraction of that. Kernels produce inf/NaN intermediates
    on degenerate inputs by design and handle them.
    """
    if _geterrobj is not None and _seterrobj is not None:
        saved = _geterrobj()
        _seterrobj([saved[0], 0, saved[2]])
        return saved
    state: Any = np.errstate(all="ignore")  # pragma: no cover
    state.__enter__()  # pragma: no cover
    return state  # pragma: no cover


def errors_restore(saved: object) -> None:
    """Restore the floating-point error state returned by ``errors_off``."""
    if isinstance(saved, np.errstate):  # pragma: no cover - numpy without error objects
        saved.__exit__(None, None, None)
    elif _seterrobj is not None:
        _seterrobj(saved)


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


RECYCLE_MIN: Final = PARALLEL_MIN
"""Output blocks with rows of at least this many elements are recycled (``output_block``)."""

RECYCLE_MAX_BYTES: Final = 64 * 1024 * 1024
"""Larger output blocks are never kept: at most this much memory stays held per thread."""

_outputs = threading.local()


def output_block(rows: int, n: int) -> FloatArray:
    """A ``(rows, n)`` float64 block for a call's results, contents undefined.

    A large block is allocated fresh by the system and its first write to every page costs a
    page fault and the zeroing of the page (about 3 ms for 40 MB here, an eighth of a
    1,000,000-option evaluation). So each thread keeps the last large block it handed out, and
    hands it out again when the next call wants the same shape and the caller no longer holds
    any array of it: result arrays are views that reference the block, so its reference count
    then shows only this module's own reference. Nothing a caller can still reach is ever
    overwritten.
    """
    if not RECYCLING or n < RECYCLE_MIN or rows * n * 8 > RECYCLE_MAX_BYTES:
        return np.empty((rows, n))
    free = _free_block(rows, n)
    if free is not None:
        return free
    _outputs.block = None  # an old block no caller holds is freed before allocating
    block = np.empty((rows, n))
    _outputs.block = block
    return block


def _free_block(rows: int, n: int) -> FloatArray | None:
    """This thread's kept block if it has shape ``(rows, n)`` and nothing else references it."""
    held: FloatArray | None = getattr(_outputs, "block", None)
    if held is None or held.shape != (rows, n):
        return None
    # references: the thread-local slot, ``held`` and getrefcount's argument
    return held if sys.getrefcount(held) == 3 else None


def _recycling_works() -> bool:
    """Whether ``_free_block`` tells a block nobody holds from one a view still references.

    Interpreters that count references differently (borrowed references in later CPython
    versions) fail this check, and then no block is ever recycled.
    """
    _outputs.block = np.empty((1, 1))
    unheld = _free_block(1, 1) is not None
    view = _outputs.block[0]
    held = _free_block(1, 1) is not None
    del view
    _outputs.block = None
    return unheld and not held


RECYCLING: Final = _recycling_works()
"""Output blocks are recycled (checked once, on the importing thread)."""


ChunkFn = Callable[[int, int], None]


def run_chunked(n: int, make_worker: Callable[[int], ChunkFn],
                parallel_min: int = PARALLEL_MIN) -> None:
    """Run ``worker(lo, hi)`` over ``[0, n)`` in chunks.

    Parameters
    ----------
    n : int
        Number of elements.
    make_worker : callable
        ``make_worker(chunk)`` is called once per participating thread with the chunk length;
        it returns the chunk function, which owns scratch buffers of that length and writes its
        results into preallocated output arrays.
    parallel_min : int
        From this many elements on, the chunks are shared with the pool's thread.
    """
    parallel = n >= parallel_min and MAX_WORKERS > 1
    chunk = min(CHUNK, max(n, 1))
    n_chunks = -(-n // chunk)
    if parallel:
        # equal chunks, as many as a multiple of the thread count: no thread is left with a
        # last short chunk while the others idle
        n_chunks += -n_chunks % MAX_WORKERS
        chunk = -(-n // n_chunks)
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
