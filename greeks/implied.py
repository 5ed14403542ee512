"""Implied volatility for BSM and Black-76 prices, vectorised.

Method
------
Both models reduce to the normalised, undiscounted Black call with log-moneyness
``x = ln(F/K)`` and total volatility ``s = sigma sqrt(t)``:
``b(x, s) = e^{x/2} N(x/s + s/2) - e^{-x/2} N(x/s - s/2)``, with the price divided by
``e^{-rt} sqrt(F K)``. Put-call parity maps every option to the out-of-the-money call
(``x <= 0``) by subtracting the normalised intrinsic value, so only ``0 < beta < e^{x/2}``
has a solution.

The solver runs Halley's method on ``g(s) = ln b(x, s) - ln beta``, which is increasing and
concave in ``s``. Concavity makes every Newton point ``s - g/g'`` a lower bound of the root; the
iterate is kept above the best such bound (the safeguard: a step can overshoot but never leave
``[bound, inf)``, and the Halley factor is clipped to ``[1/2, 2]`` times the Newton step). The
bound starts from ``b <= s e^{x/2} / sqrt(2 pi)`` and a Chernoff bound on the normal tail.

Starting point: deep out of the money (``|x| >= 2.5 s``) the leading term of the tail
expansion, ``b ~ e^{x/2} phi(d1) s / (|d1| |d2|)``, solved for ``s`` in closed form; elsewhere
the Corrado-Miller approximation; never below the bound. (Between about 2.5 s and 3 s neither
start is within the reach of three steps unless the tail expansion is used.)

Steps: the first two Halley steps evaluate ``N`` with ``scipy.special.ndtr`` (one call for all
elements: the cheapest evaluation for small inputs, and any accuracy near 1e-15 suffices there);
the third uses this package's own CDF (``greeks._normal``), the one the pricing functions use, so
the root is that of the library's own price function. Three steps reach about 1e-13 relative
accuracy across moneyness 0.5-2, one day to three years and 5 %-200 % volatility wherever vega
is not negligible. Elements whose third step was not yet below 1e-5 (relative) get up to 12
further steps (own CDF), vectorised over those elements only; each stops once its own step is
below 1e-12 (relative), so no result depends on the other elements of the batch.

NaN is returned where no positive volatility reproduces the price (time value <= 0, or at or
above the upper bound), where the time value is below 16 ulp of the price (pure rounding: the
volatility is not determined), for ``t <= 0`` or non-finite / non-positive inputs, and where
the iteration still moves by more than 1e-6 (relative) after all steps.
"""

from __future__ import annotations

import math
import threading
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr  # type: ignore[import-untyped]

from greeks._engine import (
    IMPLIED_PARALLEL_MIN,
    MEDIUM_MAX,
    BoolArray,
    CallFlag,
    ChunkFn,
    FloatArray,
    Inputs,
    Operand,
    at_length,
    errors_off,
    errors_restore,
    pad_into,
    run_chunked,
    small_length,
    small_operands,
    take,
    take_flag,
)
from greeks._normal import (
    INV_SQRT_2PI,
    NormalWork,
    cdf_from_tail,
    const,
    full_const,
    tail_into,
)

_mul: Final = np.multiply
_add: Final = np.add
_sub: Final = np.subtract
_div: Final = np.divide
_FAST_STEPS: Final = 2
"""Halley steps with ``scipy.special.ndtr`` before the step with the library's own CDF."""
_EXTRA_STEPS: Final = 12
_WING: Final = 2.5
"""The tail-expansion start is used where ``|x| >= _WING * s`` (``s`` its own estimate)."""
_STEP_TOL: Final = 1e-5
"""After the fixed steps, a last Halley step below this (relative to s) means convergence:
the remaining error is of the order of its cube."""
_FINAL_TOL: Final = 1e-12
"""Relative step size at which further steps on the remaining elements stop."""
_JITTER_TOL: Final = 1e-6
"""Relative step size still accepted after all steps: the iterate reproduces the price to
rounding and only moves within the volatility band that rounding leaves undetermined."""
_NOISE: Final = 16.0 * float(np.finfo(np.float64).eps)
"""Time value below this fraction of the price is rounding noise: no volatility is implied."""
_STATE: Final = ("ax", "x2", "lnb", "ee", "extc", "s", "lo", "step")
"""Per-element solver state (copied for the elements that need further steps)."""


class _Work:
    """Scratch buffers, constants and solver state for ``m`` elements.

    ``small``: every constant is a full-length array (see ``greeks._normal`` for the layouts).
    Stacked buffers (two rows of ``m``) let one ufunc call serve two quantities.
    """

    __slots__ = (
        "a2", "ax", "b", "bb", "beta", "carry", "cdf", "d1", "d2", "d2w", "e1", "e1_fast", "e2",
        "ee", "ext", "extc", "exti", "factor_max", "factor_min", "flags", "g", "h", "half",
        "inv_sqrt_2pi", "lnb", "lo", "m", "minus_4_over_pi", "minus_half", "minus_ln2", "neg_r",
        "noise", "nu", "nw", "one", "quarter", "rates", "rel", "s", "s_next", "scalars", "small",
        "sqrt_2pi", "step", "step_tol", "t1", "test", "tiny", "two", "valid", "wing", "wing_ratio",
        "x2", "x2q", "xt", "y", "zero", "zero2",
    )

    def __init__(self, m: int, small: bool) -> None:
        self.m = m
        self.small = small

        def k(value: float) -> FloatArray:
            return full_const(value, m) if small else const(value)

        self.sqrt_2pi = k(math.sqrt(2.0 * math.pi))
        self.minus_ln2 = k(-math.log(2.0))
        self.half = k(0.5)
        self.minus_half = k(-0.5)
        self.quarter = k(0.25)
        self.wing_ratio = k(_WING)
        self.step_tol = k(_STEP_TOL)
        self.one = k(1.0)
        self.two = k(2.0)
        self.noise = k(_NOISE)
        self.minus_4_over_pi = k(-4.0 / math.pi)
        self.inv_sqrt_2pi = k(INV_SQRT_2PI)
        # full-length in both layouts: np.minimum/np.maximum are slow against broadcasts
        self.zero = full_const(0.0, m)
        self.tiny = full_const(1e-300, m)
        self.factor_min = full_const(0.5, m)  # Halley step within [1/2, 2] x Newton step
        self.factor_max = full_const(2.0, m)
        self.zero2 = full_const(0.0, 2 * m)
        self.h = np.empty(m)
        self.t1 = np.empty(m)
        self.g = np.empty(m)
        self.b = np.empty(m)
        self.nu = np.empty(m)
        self.rel = np.empty(m)
        self.ax = np.empty(m)
        self.x2q = np.empty(m)
        self.beta = np.empty(m)
        self.e2 = np.empty((2, m))  # setup: e^{x/2}, e^{-rt}
        self.d2w = np.empty((2, m))  # wing and Corrado-Miller discriminants
        self.a2 = np.empty((2, m))
        self.y = np.empty(2 * m)
        self.d1 = self.y[:m]
        self.d2 = self.y[m:]
        self.cdf = np.empty(2 * m)
        self.bb = np.empty(2 * m)
        self.nw = NormalWork(2 * m, small)
        self.e1 = self.nw.e[:m]
        self.e1_fast = np.empty(m)
        self.valid = np.empty(m, dtype=np.bool_)
        self.wing = np.empty(m, dtype=np.bool_)
        self.test = np.empty(m, dtype=np.bool_)
        # solver state: normalised OTM-call problem and iterate
        self.xt = np.empty(m)
        self.x2 = np.empty(m)
        self.lnb = np.empty(m)
        self.ee = np.empty(2 * m)  # e^{x/2}, e^{-x/2} (x <= 0), stacked
        self.ext = self.ee[:m]
        self.exti = self.ee[m:]
        self.extc = np.empty(m)  # e^{x/2} / sqrt(2 pi)
        self.s = np.empty(m)
        self.s_next = np.empty(m)
        self.lo = np.empty(m)
        self.step = np.empty(m)
        # small path: per-call scalars (price, underlying, strike, t, -r, carry) filled, and
        # the scalar rates (r, q) last filled in
        self.scalars = np.empty((6, m)) if small else np.empty((0, 0))
        self.flags = np.zeros(m if small else 0, dtype=np.bool_)  # padded calls' flags
        self.rates: tuple[float, float | None] | None = None
        self.neg_r: FloatArray = self.zero
        self.carry: FloatArray | None = None

    def fill(self, slot: int, value: float) -> FloatArray:
        buf: FloatArray = self.scalars[slot]
        buf.fill(value)
        return buf

    def take_state(self, src: _Work, idx: npt.NDArray[np.intp]) -> None:
        """Copy the solver state of elements ``idx`` of ``src`` (``len(idx) == self.m``)."""
        m = self.m
        for name in _STATE:
            a, b = getattr(src, name), getattr(self, name)
            if name == "ee":
                np.take(a[: src.m], idx, out=b[:m])
                np.take(a[src.m:], idx, out=b[m:])
            else:
                np.take(a, idx, out=b)


def _halley_step(w: _Work, own_cdf: bool, last: bool) -> None:
    """One safeguarded Halley step on ``ln b(x, s) - ln beta``; updates s and lo.

    ``own_cdf``: evaluate ``N`` with ``greeks._normal`` (else ``scipy.special.ndtr``).
    ``last``: also store the step ``s_new - s`` in ``w.step``.
    """
    s, lo = w.s, w.lo
    d1 = w.d1
    d2 = w.d2
    h = w.h
    t1 = w.t1
    y = w.y
    cdf = w.cdf
    # d1 = x/s + s/2 = s/2 - |x|/s (x <= 0), d2 = d1 - s
    _div(w.ax, s, d1)
    _mul(s, w.half, h)
    _sub(h, d1, d1)
    _sub(d1, s, d2)
    if own_cdf:
        nw = w.nw
        cdf_from_tail(y, tail_into(y, nw), nw, cdf)
        e1 = w.e1
    else:
        ndtr(y, cdf)
        e1 = w.e1_fast
        _mul(d1, d1, e1)
        _mul(e1, w.minus_half, e1)
        np.exp(e1, e1)
    nu = w.nu  # b' = e^{x/2} phi(d1)
    _mul(e1, w.extc, nu)
    bb = w.bb
    _mul(w.ee, cdf, bb)
    b = w.b
    _sub(bb[: w.m], bb[w.m:], b)
    # Newton step D = g / g' with g = ln b - ln beta, g' = nu / b.
    dn = w.g
    np.log(b, dn)
    _sub(dn, w.lnb, dn)
    _mul(dn, b, dn)
    _div(dn, nu, dn)
    _sub(s, dn, t1)
    np.fmax(lo, t1, lo)
    # Halley factor 1 - D g'' / (2 g') in [1/2, 2], g''/g' = b''/b' - g' = d1 d2 / s - nu / b.
    _mul(d1, d2, h)
    _div(h, s, h)
    _div(nu, b, t1)
    _sub(h, t1, h)
    _mul(h, dn, h)
    _mul(h, w.minus_half, h)
    _add(h, w.one, h)
    np.maximum(h, w.factor_min, h)
    np.minimum(h, w.factor_max, h)
    _div(dn, h, dn)
    sn = w.s_next
    _sub(s, dn, sn)
    np.fmax(sn, lo, sn)
    if last:
        _sub(sn, s, w.step)
    w.s, w.s_next = sn, s


def _setup(
    w: _Work,
    price: FloatArray,
    und: FloatArray,
    k: FloatArray,
    t: FloatArray,
    neg_r: FloatArray,
    carry: FloatArray | None,
    flag: CallFlag,
) -> BoolArray:
    """Normalise to the out-of-the-money call, set the start point; return the valid mask."""
    xt, lnb, ext, exti, lo = w.xt, w.lnb, w.ext, w.exti, w.lo
    ax = w.ax
    t1 = w.t1
    h = w.h
    b = w.beta
    zero = w.zero
    tiny = w.tiny
    valid = w.valid
    test = w.test
    # x = ln(F/K); e0 = e^{x/2} and the discount factor e^{-rt} in one exp call; ei = e^{-x/2}
    _div(und, k, xt)
    np.log(xt, xt)
    if carry is not None:
        _mul(carry, t, t1)
        _add(xt, t1, xt)
    e2 = w.e2
    e0 = e2[0]
    disc = e2[1]
    _mul(xt, w.half, e0)
    _mul(t, neg_r, disc)
    np.exp(e2, e2)
    ei = w.g
    _div(w.one, e0, ei)
    # beta = price / (e^{-rt} K e^{x/2})
    _mul(disc, k, b)
    _mul(b, e0, b)
    _div(price, b, b)
    # time value: subtract the normalised intrinsic value max(phi (e^{x/2} - e^{-x/2}), 0)
    _sub(e0, ei, t1)
    if isinstance(flag, bool):
        if not flag:
            np.negative(t1, t1)
    else:
        _mul(flag, w.two, h)
        _sub(h, w.one, h)
        _mul(t1, h, t1)
    np.maximum(t1, zero, t1)
    _mul(b, w.noise, h)
    _sub(b, t1, b)
    np.greater(b, h, valid)
    np.greater(t, zero, test)
    np.logical_and(valid, test, valid)
    # map to x <= 0 (kept as |x|): ext = e^{-|x|/2}, exti = e^{|x|/2}
    np.absolute(xt, ax)
    np.minimum(e0, ei, ext)
    np.maximum(e0, ei, exti)
    np.less(b, ext, test)
    np.logical_and(valid, test, valid)
    _mul(ext, w.inv_sqrt_2pi, w.extc)
    # (logs of non-positive numbers take a slow path: clamp; such elements are invalid anyway)
    np.maximum(b, tiny, lnb)
    np.log(lnb, lnb)
    x2 = w.x2
    x2q = w.x2q
    _mul(ax, ax, x2)
    _mul(x2, w.quarter, x2q)
    # Corrado-Miller (start away from the wings): s = sqrt(2 pi)/(ext + exti) (c + sqrt(D)),
    # D = max(c^2 - 4 a^2/pi, 0), a = (ext - exti) / 2 <= 0, c = beta - a; D and c into row 1
    # of the stacked buffers shared with the wing start.
    d2w = w.d2w
    a2 = w.a2
    _sub(ext, exti, h)
    _mul(h, w.half, h)
    _sub(b, h, a2[1])
    _mul(h, h, h)
    _mul(h, w.minus_4_over_pi, h)
    _mul(a2[1], a2[1], t1)
    _add(h, t1, d2w[1])
    # lower bound: max(sqrt(2 pi) beta e^{-x/2}, |x| / sqrt(L + sqrt(L^2 - x^2/4)))
    # with L = max(-ln(2 beta), |x|/2)
    hx = w.g  # |x| / 2
    _mul(ax, w.half, hx)
    _sub(w.minus_ln2, lnb, lo)
    np.fmax(lo, hx, lo)
    _mul(lo, lo, h)
    _sub(h, x2q, h)
    np.maximum(h, zero, h)
    np.sqrt(h, h)
    _add(lo, h, lo)
    np.sqrt(lo, lo)
    _div(ax, lo, lo)
    _mul(b, exti, t1)
    _mul(t1, w.sqrt_2pi, t1)
    np.fmax(lo, t1, lo)
    # Wing start (deep out of the money): solve x^2/(2 s^2) + s^2/8 = L' with
    # L' = -ln beta + ln(s / (sqrt(2 pi) (x^2/s^2 - s^2/4))) taken at the lower bound, i.e.
    # b ~ e^{x/2} phi(d1) s / (|d1| |d2|) from the leading term of the Mills ratio;
    # s = |x| / sqrt(L' + sqrt(L'^2 - x^2/4)). L' and L'^2 - x^2/4 into row 0.
    lw = a2[0]
    _mul(lo, lo, h)
    _div(x2, h, t1)
    _mul(h, w.quarter, h)
    _sub(t1, h, t1)
    _mul(t1, w.sqrt_2pi, t1)
    _div(lo, t1, t1)
    np.maximum(t1, tiny, t1)
    np.log(t1, t1)
    _sub(t1, lnb, t1)
    np.fmax(t1, hx, lw)
    _mul(lw, lw, h)
    _sub(h, x2q, d2w[0])
    # both starts: c + sqrt(D) (row 1), L' + sqrt(L'^2 - x^2/4) (row 0)
    flat = d2w.reshape(-1)
    np.maximum(flat, w.zero2, flat)
    np.sqrt(flat, flat)
    _add(flat, a2.reshape(-1), flat)
    s = w.s
    _add(ext, exti, h)
    _div(d2w[1], h, s)
    _mul(s, w.sqrt_2pi, s)
    np.fmax(s, lo, s)
    wv = d2w[0]
    np.sqrt(wv, wv)
    _div(ax, wv, wv)
    np.fmax(wv, lo, wv)
    _mul(wv, w.wing_ratio, h)
    np.less_equal(h, ax, w.wing)
    np.putmask(s, w.wing, wv)
    return valid


def _solve(
    w: _Work,
    price: FloatArray,
    und: FloatArray,
    k: FloatArray,
    t: FloatArray,
    neg_r: FloatArray,
    carry: FloatArray | None,
    flag: CallFlag,
    out: FloatArray,
) -> None:
    valid = _setup(w, price, und, k, t, neg_r, carry, flag)
    for _ in range(_FAST_STEPS):
        _halley_step(w, own_cdf=False, last=False)
    _halley_step(w, own_cdf=True, last=True)
    # pending: valid and not |step| <= tol s (NaN steps included)
    h = w.h
    np.absolute(w.step, h)
    _mul(w.s, w.step_tol, w.t1)
    conv = w.wing
    np.less_equal(h, w.t1, conv)
    pend = w.test
    np.greater(valid, conv, pend)
    if np.count_nonzero(pend):
        _more_steps(w, np.flatnonzero(pend))
    np.sqrt(t, out)
    _div(w.s, out, out)
    np.logical_not(valid, valid)
    np.putmask(out, valid, np.nan)


def _more_steps(w: _Work, pending: npt.NDArray[np.intp]) -> None:
    """Further Halley steps (own CDF) on the elements ``pending`` of ``w``; updates ``w.s``.

    Each element stops at its own convergence (its value is frozen there), so results do not
    depend on which other elements share the batch.
    """
    p = pending.size
    # up to MEDIUM_MAX elements are stepped in a small-layout workspace, the last one repeated
    # to fill it (a lone element is stepped twice side by side, see SMALL_MIN_LEN)
    m = small_length(p) if p <= MEDIUM_MAX else p
    gather = pending if m == p else np.concatenate((pending, np.full(m - p, pending[-1])))
    sub = _sub_work(m) if p <= MEDIUM_MAX else _Work(m, small=False)
    sub.take_state(w, gather)
    rel = sub.rel
    frozen = np.zeros(m, dtype=np.bool_)
    kept = np.empty(m)
    kept_rel = np.zeros(m)
    for _ in range(_EXTRA_STEPS):
        np.copyto(kept, sub.s)
        _halley_step(sub, own_cdf=True, last=True)
        np.absolute(sub.step, rel)
        _div(rel, sub.s, rel)
        np.putmask(sub.s, frozen, kept)
        np.putmask(rel, frozen, kept_rel)
        np.less_equal(rel, _FINAL_TOL, frozen)
        if frozen.all():
            break
    w.s[pending] = np.where(rel <= _JITTER_TOL, sub.s, np.nan)[:p]


def _implied(
    price: npt.ArrayLike,
    und: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike | None,
    is_call: npt.ArrayLike,
) -> FloatArray:
    numeric = [price, und, strike, t, r] if q is None else [price, und, strike, t, r, q]
    small = small_operands(numeric, is_call, MEDIUM_MAX)
    if small is not None:
        shape, n, ops, flags = small
        out = _implied_small(ops, flags, n)
        return out if out.shape == shape else out.reshape(shape)
    inp = Inputs(numeric, is_call)
    p_, u_, k_, t_, r_ = inp.operands[:5]
    r_val = inp.scalars[4]
    neg_r_const = None if r_val is None else const(-r_val)
    neg_r_full = np.negative(r_) if neg_r_const is None else neg_r_const
    carry: FloatArray | None = None
    if q is not None:
        q_, q_val = inp.operands[5], inp.scalars[5]
        if r_val is not None and q_val is not None:
            carry = None if r_val == q_val else const(r_val - q_val)
        else:
            carry = np.subtract(r_, q_)
    flag = inp.flags
    result = np.empty(inp.n)

    def make_worker(chunk: int) -> ChunkFn:
        spaces: dict[int, _Work] = {}

        def work(lo: int, hi: int) -> None:
            m = hi - lo
            w = spaces.get(m)
            if w is None:
                w = spaces[m] = _chunk_work(m)
            _solve(
                w,
                take(p_, lo, hi),
                take(u_, lo, hi),
                take(k_, lo, hi),
                take(t_, lo, hi),
                take(neg_r_full, lo, hi),
                None if carry is None else take(carry, lo, hi),
                take_flag(flag, lo, hi),
                result[lo:hi],
            )

        return work

    run_chunked(inp.n, make_worker, IMPLIED_PARALLEL_MIN)
    return result.reshape(inp.shape)


_local = threading.local()


def _cache() -> dict[int, _Work]:
    cache: dict[int, _Work] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    return cache


_CHUNK_CACHED: Final = 2
"""Chunk-layout workspaces kept per thread (see ``greeks.pricing._CHUNK_CACHED``)."""


def _chunk_work(m: int) -> _Work:
    """A chunk-layout workspace; the most recent ones are reused.

    (Not for further steps on a subset: that workspace must differ from the one it reads.)
    """
    cache: dict[int, _Work] | None = getattr(_local, "chunks", None)
    if cache is None:
        cache = _local.chunks = {}
    w = cache.pop(m, None)
    if w is None:
        w = _Work(m, small=False)
    cache[m] = w
    while len(cache) > _CHUNK_CACHED:
        del cache[next(iter(cache))]
    return w


def _small_work(n: int) -> _Work:
    """This thread's cached small-layout workspace for ``n`` elements."""
    cache = _cache()
    w = cache.get(n)
    if w is None:
        w = cache[n] = _Work(n, small=True)
    return w


def _sub_work(n: int) -> _Work:
    """A second cached small-layout workspace (further steps on a subset of another one)."""
    cache = _cache()
    w = cache.get(-n)
    if w is None:
        w = cache[-n] = _Work(n, small=True)
    return w


def _implied_small(ops: list[Operand], flag: CallFlag, n: int) -> FloatArray:
    """The solver on whole arrays of ``n <= MEDIUM_MAX`` elements (same results as chunks).

    The workspace has ``small_length(n)`` elements; array operands shorter than that are
    copied into it, the padding priced at NaN so that it is invalid and costs no further steps.
    """
    m = small_length(n)  # n = 1: every operand is a scalar
    w = _small_work(m)
    slots = w.scalars
    price = at_length(ops[0], slots[0], math.nan)
    und = at_length(ops[1], slots[1], 1.0)
    k = at_length(ops[2], slots[2], 1.0)
    t = at_length(ops[3], slots[3], 1.0)
    r = ops[4]
    q = ops[5] if len(ops) == 6 else None
    # scalar rates: -r and r - q filled into the workspace, reused while the rates repeat
    if isinstance(r, float) and (q is None or isinstance(q, float)):
        key = (r, q)
        if key != w.rates:
            w.neg_r = w.fill(4, -r)
            w.carry = None if q is None or r == q else w.fill(5, r - q)
            w.rates = key
        neg_r, carry = w.neg_r, w.carry
    else:
        w.rates = None  # slots 4 and 5 are overwritten below: no scalar rates cached any more
        neg_r = at_length(-r if isinstance(r, float) else np.negative(r), slots[4], 0.0)
        carry = None if q is None else at_length(np.subtract(r, q), slots[5], 0.0)
    if not isinstance(flag, bool) and flag.shape[0] != m:
        flag = pad_into(w.flags, flag, True)
    out = np.empty(m)
    saved = errors_off()
    try:
        _solve(w, price, und, k, t, neg_r, carry, flag, out)
    finally:
        errors_restore(saved)
    return out if m == n else out[:n]


def implied_vol_bsm(
    price: npt.ArrayLike,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Black-Scholes-Merton implied volatility.

    Parameters
    ----------
    price : array_like
        Option price (same currency as ``spot``).
    spot, strike : array_like
        Underlying price and strike, > 0.
    t : array_like
        Time to expiry in years.
    r, q : array_like
        Continuously compounded risk-free rate and dividend yield per year.
    is_call : bool or array_like of bool
        True for calls, False for puts.

    Returns
    -------
    ndarray
        Annualised volatility, broadcast shape of the inputs (0-d for scalars). NaN where no
        positive volatility reproduces the price: price at or below the discounted intrinsic
        value ``max(phi (S e^{-qt} - K e^{-rt}), 0)`` (or above it only by rounding noise), at
        or above the upper bound (``S e^{-qt}`` for calls, ``K e^{-rt}`` for puts), ``t <= 0``,
        non-finite or non-positive inputs, or no convergence (see the module notes).
    """
    return _implied(price, spot, strike, t, r, q, is_call)


def implied_vol_black76(
    price: npt.ArrayLike,
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Black-76 implied volatility of options on a futures/forward price.

    Parameters
    ----------
    price : array_like
        Option price.
    forward, strike : array_like
        Futures price and strike, > 0.
    t : array_like
        Time to expiry in years.
    r : array_like
        Continuously compounded discount rate per year.
    is_call : bool or array_like of bool
        True for calls, False for puts.

    Returns
    -------
    ndarray
        Annualised volatility, broadcast shape of the inputs (0-d for scalars). NaN where no
        positive volatility reproduces the price: price at or below
        ``e^{-rt} max(phi (F - K), 0)`` (or above it only by rounding noise), at or above
        ``e^{-rt} F`` (calls) / ``e^{-rt} K`` (puts), ``t <= 0``, non-finite or non-positive
        inputs, or no convergence (see the module notes).
    """
    return _implied(price, forward, strike, t, r, None, is_call)
