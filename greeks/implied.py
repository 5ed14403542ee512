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

Starting point: deep out of the money (``|x| >= 3 s``) the leading term of the tail expansion,
``b ~ e^{x/2} phi(d1) s / (|d1| |d2|)``, solved for ``s`` in closed form; elsewhere the
Corrado-Miller approximation; never below the bound. Three Halley steps then reach about 1e-13
relative accuracy across moneyness 0.5-2, one day to three years and 5 %-200 % volatility
wherever vega is not negligible. Elements whose third step was not yet below 1e-5 (relative)
get up to 12 further steps, vectorised over those elements only.

NaN is returned where no positive volatility reproduces the price (time value <= 0, or at or
above the upper bound), where the time value is below 16 ulp of the price (pure rounding: the
volatility is not determined), for ``t <= 0`` or non-finite / non-positive inputs, and where
the iteration still moves by more than 1e-6 (relative) after all steps.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from greeks._engine import (
    CallFlag,
    ChunkFn,
    FloatArray,
    Inputs,
    run_chunked,
    take,
    take_flag,
)
from greeks._normal import cdf_pdf_into, ceiling_array, const

_mul: Final = np.multiply
_add: Final = np.add
_sub: Final = np.subtract
_div: Final = np.divide
_SQRT_2PI: Final = const(math.sqrt(2.0 * math.pi))
_MINUS_LN2: Final = const(-math.log(2.0))
_HALF: Final = const(0.5)
_MINUS_HALF: Final = const(-0.5)
_QUARTER: Final = const(0.25)
_THREE: Final = const(3.0)
_ONE: Final = const(1.0)
_ZERO: Final = const(0.0)
_TWO: Final = const(2.0)
_MINUS_4_OVER_PI: Final = const(-4.0 / math.pi)
_FIXED_STEPS: Final = 3
_EXTRA_STEPS: Final = 12
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


class _Work:
    """Scratch buffers for ``m`` elements (stacked buffers hold 2 m)."""

    __slots__ = (
        "b", "cdf", "ceiling", "factor_max", "factor_min", "h", "neg", "pdf", "t1", "tiny", "tmp",
        "u", "y", "zero",
    )

    def __init__(self, m: int) -> None:
        # constants as full-length arrays: np.minimum/np.maximum are slow against broadcasts
        self.ceiling = ceiling_array(2 * m)
        self.zero = np.zeros(m)
        self.tiny = np.full(m, 1e-300)
        self.factor_min = np.full(m, 0.5)  # Halley step within [1/2, 2] x Newton step
        self.factor_max = np.full(m, 2.0)
        self.b = np.empty(m)
        self.h = np.empty(m)
        self.t1 = np.empty(m)
        self.y = np.empty(2 * m)
        self.cdf = np.empty(2 * m)
        self.pdf = np.empty(m)
        self.u = np.empty(2 * m)
        self.tmp = np.empty(2 * m)
        self.neg = np.empty(2 * m, dtype=np.bool_)


class _State:
    """Per-element solver state: normalised OTM-call problem and iterate."""

    __slots__ = ("ext", "exti", "lnb", "lo", "s", "step", "x2", "xt")

    def __init__(self, m: int) -> None:
        self.xt = np.empty(m)
        self.x2 = np.empty(m)
        self.lnb = np.empty(m)
        self.ext = np.empty(m)
        self.exti = np.empty(m)
        self.s = np.empty(m)
        self.lo = np.empty(m)
        self.step = np.empty(m)

    def view(self, m: int) -> _State:
        v = _State.__new__(_State)
        for name in _State.__slots__:
            setattr(v, name, getattr(self, name)[:m])
        return v

    def gather(self, idx: npt.NDArray[np.intp]) -> _State:
        v = _State.__new__(_State)
        for name in _State.__slots__:
            setattr(v, name, getattr(self, name)[idx])
        return v


def _halley_step(st: _State, ws: _Work) -> None:
    """One safeguarded Halley step on ``ln b(xt, s) - ln beta``; updates s, lo, step."""
    m = st.s.shape[0]
    s, lo, step = st.s, st.lo, st.step
    y = ws.y[: 2 * m]
    d1 = y[:m]
    d2 = y[m:]
    b = ws.b[:m]
    h = ws.h[:m]
    t1 = ws.t1[:m]
    _div(st.xt, s, d1)
    _mul(s, _HALF, d2)
    _add(d1, d2, d1)
    _sub(d1, s, d2)
    cdf = ws.cdf[: 2 * m]
    pdf = ws.pdf[:m]
    cdf_pdf_into(
        y, cdf, pdf, ws.u[: 2 * m], ws.tmp[: 2 * m], ws.neg[: 2 * m], ws.ceiling[: 2 * m]
    )
    _mul(st.ext, cdf[:m], b)
    _mul(st.exti, cdf[m:], t1)
    _sub(b, t1, b)
    nu = pdf
    _mul(nu, st.ext, nu)
    # Newton step D = g / g' with g = ln b - ln beta, g' = nu / b.
    np.log(b, step)
    _sub(step, st.lnb, step)
    _mul(step, b, step)
    _div(step, nu, step)
    _sub(s, step, t1)
    np.fmax(lo, t1, lo)
    # Halley factor 1 / (1 - D g'' / (2 g')), g''/g' = b''/b' - g' = x^2/s^3 - s/4 - nu/b.
    _mul(s, s, h)
    _mul(h, s, h)
    _div(st.x2, h, h)
    _mul(s, _QUARTER, t1)
    _sub(h, t1, h)
    _div(nu, b, t1)
    _sub(h, t1, h)
    _mul(h, step, h)
    _mul(h, _MINUS_HALF, h)
    _add(h, _ONE, h)
    np.maximum(h, ws.factor_min[:m], h)
    np.minimum(h, ws.factor_max[:m], h)
    _div(step, h, step)
    _sub(s, step, t1)
    np.fmax(t1, lo, t1)
    _sub(t1, s, step)
    np.copyto(s, t1)


def _setup(
    st: _State,
    ws: _Work,
    price: FloatArray,
    und: FloatArray,
    k: FloatArray,
    t: FloatArray,
    neg_r: FloatArray,
    carry: FloatArray | None,
    flag: CallFlag,
) -> npt.NDArray[np.bool_]:
    """Normalise to the out-of-the-money call, set the start point; return the valid mask."""
    m = st.s.shape[0]
    xt, lnb, ext, exti, s, lo = st.xt, st.lnb, st.ext, st.exti, st.s, st.lo
    t1 = ws.t1[:m]
    h = ws.h[:m]
    b = ws.b[:m]
    zero = ws.zero[:m]
    tiny = ws.tiny[:m]
    # x = ln(F/K); ext = e^{x/2}, exti = e^{-x/2}
    _div(und, k, xt)
    np.log(xt, xt)
    if carry is not None:
        _mul(carry, t, t1)
        _add(xt, t1, xt)
    _mul(xt, _HALF, ext)
    np.exp(ext, ext)
    _div(_ONE, ext, exti)
    # beta = price / (e^{-rt} K e^{x/2})
    _mul(t, neg_r, b)
    np.exp(b, b)
    _mul(b, k, b)
    _mul(b, ext, b)
    _div(price, b, b)
    # time value: subtract the normalised intrinsic value max(phi (e^{x/2} - e^{-x/2}), 0)
    _sub(ext, exti, t1)
    if isinstance(flag, bool):
        if not flag:
            np.negative(t1, t1)
    else:
        _mul(flag, _TWO, h)
        _sub(h, _ONE, h)
        _mul(t1, h, t1)
    np.maximum(t1, zero, t1)
    _mul(b, _NOISE, h)
    _sub(b, t1, b)
    valid = np.greater(b, h)
    valid &= np.greater(t, _ZERO)
    # map to x <= 0: ext <- e^{-|x|/2}, exti <- e^{|x|/2}
    np.absolute(xt, xt)
    np.negative(xt, xt)
    np.minimum(ext, exti, t1)
    np.maximum(ext, exti, exti)
    np.copyto(ext, t1)
    valid &= np.less(b, ext)
    # (logs of non-positive numbers take a slow path: clamp; such elements are invalid anyway)
    np.maximum(b, tiny, lnb)
    np.log(lnb, lnb)
    _mul(xt, xt, st.x2)
    # lower bound: max(sqrt(2 pi) beta e^{-x/2}, |x| / sqrt(L + sqrt(L^2 - x^2/4)))
    # with L = max(-ln(2 beta), |x|/2)
    np.negative(lnb, lo)
    _add(lo, _MINUS_LN2, lo)
    _mul(xt, _MINUS_HALF, t1)
    np.fmax(lo, t1, lo)
    _mul(lo, lo, h)
    _mul(st.x2, _QUARTER, t1)
    _sub(h, t1, h)
    np.maximum(h, zero, h)
    np.sqrt(h, h)
    _add(lo, h, lo)
    np.sqrt(lo, lo)
    _div(xt, lo, lo)
    np.negative(lo, lo)
    _mul(b, exti, t1)
    _mul(t1, _SQRT_2PI, t1)
    np.fmax(lo, t1, lo)
    # Wing start (deep out of the money, |x| >= 3 s): solve x^2/(2 s^2) + s^2/8 = L' with
    # L' = -ln beta + ln(s / (sqrt(2 pi) (x^2/s^2 - s^2/4))) taken at the lower bound, i.e.
    # b ~ e^{x/2} phi(d1) s / (|d1| |d2|) from the leading term of the Mills ratio.
    w = st.step
    _mul(lo, lo, h)
    _div(st.x2, h, t1)
    _mul(h, _QUARTER, h)
    _sub(t1, h, t1)
    _mul(t1, _SQRT_2PI, t1)
    _div(lo, t1, t1)
    np.maximum(t1, tiny, t1)
    np.log(t1, t1)
    _sub(t1, lnb, t1)
    _mul(xt, _MINUS_HALF, h)
    np.fmax(t1, h, t1)
    _mul(t1, t1, w)
    _mul(st.x2, _QUARTER, h)
    _sub(w, h, w)
    np.maximum(w, zero, w)
    np.sqrt(w, w)
    _add(w, t1, w)
    np.sqrt(w, w)
    _div(xt, w, w)
    np.negative(w, w)
    np.fmax(w, lo, w)
    _mul(w, _THREE, h)
    _add(h, xt, h)
    wing = np.less_equal(h, _ZERO)
    # Elsewhere Corrado-Miller: s = sqrt(2 pi)/(ext + exti) (c + sqrt(max(c^2 - 4 a^2/pi, 0))),
    # a = (ext - exti) / 2 <= 0, c = beta - a.
    _sub(ext, exti, h)
    _mul(h, _HALF, h)
    _sub(b, h, t1)
    _mul(h, h, h)
    _mul(h, _MINUS_4_OVER_PI, h)
    _mul(t1, t1, s)
    _add(h, s, h)
    np.maximum(h, zero, h)
    np.sqrt(h, h)
    _add(t1, h, t1)
    _add(ext, exti, h)
    _div(t1, h, s)
    _mul(s, _SQRT_2PI, s)
    np.fmax(s, lo, s)
    np.copyto(s, np.where(wing, w, s))
    return valid


def _solve_chunk(
    st: _State,
    ws: _Work,
    price: FloatArray,
    und: FloatArray,
    k: FloatArray,
    t: FloatArray,
    neg_r: FloatArray,
    carry: FloatArray | None,
    flag: CallFlag,
    out: FloatArray,
) -> None:
    valid = _setup(st, ws, price, und, k, t, neg_r, carry, flag)
    for _ in range(_FIXED_STEPS):
        _halley_step(st, ws)
    s, step = st.s, st.step
    m = s.shape[0]
    h = ws.h[:m]
    np.absolute(step, h)
    _div(h, s, h)
    pending = np.flatnonzero(valid & ~(h <= _STEP_TOL))
    if pending.size:
        sub = st.gather(pending)
        sub_ws = _Work(pending.size)
        rel = np.empty(pending.size)
        for _ in range(_EXTRA_STEPS):
            _halley_step(sub, sub_ws)
            np.absolute(sub.step, rel)
            _div(rel, sub.s, rel)
            if not float(np.max(rel)) > _FINAL_TOL:
                break
        s[pending] = np.where(rel <= _JITTER_TOL, sub.s, np.nan)
    np.sqrt(t, out)
    _div(s, out, out)
    np.putmask(out, ~valid, np.nan)


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
    out = np.empty(inp.n)

    def make_worker(chunk: int) -> ChunkFn:
        st = _State(chunk)
        ws = _Work(chunk)

        def work(lo: int, hi: int) -> None:
            _solve_chunk(
                st.view(hi - lo),
                ws,
                take(p_, lo, hi),
                take(u_, lo, hi),
                take(k_, lo, hi),
                take(t_, lo, hi),
                take(neg_r_full, lo, hi),
                None if carry is None else take(carry, lo, hi),
                take_flag(flag, lo, hi),
                out[lo:hi],
            )

        return work

    run_chunked(inp.n, make_worker)
    return out.reshape(inp.shape)


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
