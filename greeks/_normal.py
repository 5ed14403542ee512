"""Standard normal CDF and PDF evaluated with numpy ufuncs only.

``scipy.special.ndtr`` evaluates one element at a time with data-dependent branches; for random
option inputs it costs 15-20 ns per element on the reference machine. Here the upper tail is
written as ``Q(u) = phi(u) * R(u)`` for ``u = |x|``, where ``R`` approximates the Mills ratio
``Q(u) / phi(u)`` by a rational function of degree 7/8. Every step is one vectorised ufunc pass
(Horner steps, one ``exp`` for the Gaussian factor) and the PDF comes out as a by-product.

The coefficients were fitted for this module: a weighted linear least-squares rational fit on
8000 points of ``[0, 9]`` in extended precision, re-weighted (Lawson iteration) towards the
minimax solution, against Mills-ratio values computed in 60-digit decimal arithmetic; the
constant term was then set to exactly half the denominator's so that ``Phi(0) = 1/2``. All
coefficients are positive, so the float64 Horner evaluation has no cancellation. Measured
relative error of ``R`` in float64: below 3.2e-15 on ``[0, 9]``, below 6e-12 on ``[9, 12]``
and below 1e-8 on ``[12, 40]``, where the tail is already below 1e-33.

Performance notes: ufuncs are called with positional output arguments and with constants held
in 1-element arrays; both avoid per-call conversion work that costs more than the arithmetic on
cache-sized chunks. ``|x|`` is clipped to 37 before use: this keeps every intermediate a normal
float64 (numpy's vectorised ``exp`` falls back to a slow path on underflow, and denormal operands
are slow) and maps infinities to finite values. Consequently ``Phi(x)`` for ``x < -37`` is
returned as ``Phi(-37) = 5.7e-300`` instead of a smaller number, and ``phi(x)`` as ``phi(37)``;
``Phi(x)`` for ``x > 37`` is exactly 1.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_mul: Final = np.multiply
_add: Final = np.add
_sub: Final = np.subtract
_div: Final = np.divide


def const(value: float) -> FloatArray:
    """A read-only 1-element float64 array: a cheap broadcast constant for ufunc calls."""
    a = np.full(1, value, dtype=np.float64)
    a.flags.writeable = False
    return a


INV_SQRT_2PI: Final = 1.0 / math.sqrt(2.0 * math.pi)

# Mills ratio R(u) ~ sqrt(2 pi) * P(u) / Q(u): P scaled so that tail = exp(-u^2/2) P(u) / Q(u),
# Q monic; ascending powers of u (see module docstring).
_P: Final = (
    8021.927529280533,  # = Q[0] / 2: Phi(0) = 1/2 exactly
    9779.708466886266,
    5925.455589993601,
    2215.5506865209422,
    544.8265148427892,
    87.74099121734139,
    8.592630700294091,
    0.39894223919254435,
)
_Q: Final = (
    16043.855058561066,
    32360.56118075322,
    29648.975795861104,
    16174.328894879513,
    5771.594611520135,
    1387.209887309605,
    220.93432530097235,
    21.53852330325131,
)
_PC: Final = tuple(const(c) for c in _P)
_QC: Final = tuple(const(c) for c in _Q)
_ONE: Final = const(1.0)
U_MAX: Final = 37.0
_MINUS_HALF: Final = const(-0.5)
_INV_SQRT_2PI_C: Final = const(INV_SQRT_2PI)


def ceiling_array(n: int) -> FloatArray:
    """The argument clip level ``U_MAX`` as an array of length ``n`` (see ``cdf_pdf_into``)."""
    return np.full(n, U_MAX)


def cdf_pdf_into(
    x: FloatArray,
    cdf: FloatArray,
    pdf: FloatArray | None,
    u: FloatArray,
    tmp: FloatArray,
    neg: BoolArray,
    ceiling: FloatArray,
    flip: BoolArray | None = None,
) -> None:
    """Evaluate ``Phi(+-x)`` (and optionally ``phi(x)``) into caller buffers.

    Parameters
    ----------
    x : ndarray
        Arguments; left unchanged. NaN propagates to NaN; ``|x|`` is clipped to 37.
    cdf : ndarray
        Receives ``Phi(x)``, or ``Phi(-x)`` where ``flip`` is set; the lower tail keeps full
        relative precision.
    pdf : ndarray or None
        Receives ``phi(x[:len(pdf)])`` when given (callers often need the PDF of a prefix only).
    u, tmp : ndarray
        Scratch buffers of the same length as ``x``.
    neg : ndarray of bool
        Scratch buffer of the same length as ``x``.
    ceiling : ndarray
        ``ceiling_array(len(x))``: the clip level as a full-length array (``np.minimum`` against
        a broadcast scalar is twice as slow as against an array).
    flip : ndarray of bool, optional
        Where True, the CDF is evaluated at ``-x`` instead of ``x``.
    """
    np.absolute(x, u)
    np.minimum(u, ceiling, u)
    # numerator (degree 7) into tmp, monic denominator (degree 8) into cdf
    p = _PC
    _mul(u, p[7], tmp)
    _add(tmp, p[6], tmp)
    for k in range(5, -1, -1):
        _mul(tmp, u, tmp)
        _add(tmp, p[k], tmp)
    q = _QC
    _add(u, q[7], cdf)
    for k in range(6, -1, -1):
        _mul(cdf, u, cdf)
        _add(cdf, q[k], cdf)
    _div(tmp, cdf, tmp)
    _mul(u, u, cdf)
    _mul(cdf, _MINUS_HALF, cdf)
    np.exp(cdf, cdf)
    _mul(tmp, cdf, tmp)
    if pdf is not None:
        _mul(cdf[: pdf.shape[0]], _INV_SQRT_2PI_C, pdf)
    # tmp holds the upper tail Q(|x|); Phi(y) = Q(|y|) for y < 0 and 1 - Q(|y|) otherwise.
    np.signbit(x, neg)
    if flip is not None:
        np.logical_xor(neg, flip, neg)
    _sub(_ONE, tmp, cdf)
    np.putmask(cdf, neg, tmp)


def norm_cdf(x: npt.ArrayLike) -> FloatArray:
    """Standard normal CDF of ``x`` (any shape), float64, relative error about 3e-15.

    Parameters
    ----------
    x : array_like
        Arguments (see the module notes for ``|x| > 37``).

    Returns
    -------
    ndarray
        ``Phi(x)`` with the shape of ``x``.
    """
    arr = np.asarray(x, dtype=np.float64)
    flat = arr.reshape(-1)
    n = flat.size
    out = np.empty(n)
    cdf_pdf_into(
        flat, out, None, np.empty(n), np.empty(n), np.empty(n, dtype=np.bool_), ceiling_array(n)
    )
    return out.reshape(arr.shape)
