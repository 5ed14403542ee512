"""Black-Scholes-Merton and Black-76 prices and greeks, vectorised over numpy arrays.

Conventions (all functions)
---------------------------
- Inputs broadcast against each other (numpy rules); scalars and arrays mix freely. The result
  has the broadcast shape (0-d arrays for all-scalar input).
- ``t`` is the time to expiry in years; ``r`` and ``q`` are continuously compounded annual
  rates; ``sigma`` is the annualised volatility (0.20 = 20 %). ``is_call`` is a bool or bool
  array (True = call, False = put).
- Black-76 values an option on a futures or forward price ``F`` (delta and gamma are with
  respect to ``F``); it equals BSM with spot ``F`` and ``q = r``, and BSM equals Black-76 on
  ``F = S exp((r - q) t)``.
- Sign conventions: ``phi = +1`` for calls and ``-1`` for puts; values are per unit of the
  underlying, long one option (multiply by contract multiplier and signed quantity).
- Degenerate inputs never produce NaN: for ``t <= 0`` the option is expired and worth its
  intrinsic value ``max(phi (S - K), 0)`` (Black-76: ``max(phi (F - K), 0)``) with theta,
  gamma and vega 0 and delta ``phi`` in the money, 0 out of it (1/2 at the strike). For
  ``t > 0`` and ``sigma <= 0`` the value is the zero-volatility limit
  ``max(phi (S e^{-qt} - K e^{-rt}), 0)`` (Black-76: ``e^{-rt} max(phi (F - K), 0)``), with the
  matching delta and theta and gamma = vega = 0. NaN inputs give NaN outputs; spot (forward)
  and strike must be positive.
- Values are never negative (rounding-level negatives of far out-of-the-money options are
  clamped to 0). Arguments of ``N`` beyond +-37 are clipped (see ``greeks._normal``); the
  effect on any output is below 1e-290 in absolute terms.
- Large inputs are split over a small thread pool (see ``greeks._engine``); the results are
  identical to a single-threaded evaluation.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from greeks._engine import (
    BoolArray,
    CallFlag,
    ChunkFn,
    FloatArray,
    Inputs,
    run_chunked,
    take,
    take_flag,
)
from greeks._normal import cdf_pdf_into, ceiling_array, const
from greeks.types import Greeks

DAYS_PER_YEAR: Final = 365.0
"""Theta is the annual rate -dV/dt divided by this (calendar days)."""
VOL_POINT: Final = 0.01
"""Vega is reported per this change in sigma (one volatility point)."""

_mul: Final = np.multiply
_add: Final = np.add
_sub: Final = np.subtract
_div: Final = np.divide
_HALF: Final = const(0.5)
_MINUS_TWO: Final = const(-2.0)
_MINUS_ONE: Final = const(-1.0)
_ONE: Final = const(1.0)
_VOL_POINT: Final = const(VOL_POINT)
_PER_DAY: Final = const(1.0 / DAYS_PER_YEAR)
_MINUS_PER_DAY: Final = const(-1.0 / DAYS_PER_YEAR)
_MINUS_HALF_PER_DAY: Final = const(-0.5 / DAYS_PER_YEAR)


class _Config:
    """Per-call constants derived from scalar inputs (``None`` where an input is an array)."""

    __slots__ = ("black", "neg_q", "neg_r", "neg_r_per_day", "q_per_day", "q_zero")

    def __init__(self, black: bool, inp: Inputs) -> None:
        r_val, q_val = inp.scalars[3], inp.scalars[4]
        self.black = black
        self.q_zero = (not black) and q_val == 0.0
        self.neg_r: FloatArray | None = None if r_val is None else const(-r_val)
        self.neg_q: FloatArray | None = None if q_val is None else const(-q_val)
        self.neg_r_per_day: FloatArray | None = (
            None if r_val is None else const(-r_val / DAYS_PER_YEAR)
        )
        self.q_per_day: FloatArray | None = (
            None if q_val is None else const(q_val / DAYS_PER_YEAR)
        )


class _Workspace:
    """Scratch buffers for one thread; ``m`` = chunk length, stacked buffers hold 2 m."""

    __slots__ = (
        "a", "b", "c", "cdf", "ceiling", "e", "e2", "f", "f2", "flip", "g", "g2", "neg", "p",
        "pdf", "tmp", "u", "y", "zero",
    )

    def __init__(self, m: int, with_pdf: bool) -> None:
        self.a = np.empty(m)
        self.b = np.empty(m)
        self.c = np.empty(m)
        self.e = np.empty(m)
        self.e2 = np.empty(m)
        self.f = np.empty(m)
        self.f2 = np.empty(m)
        self.g = np.empty(m)
        self.g2 = np.empty(m)
        self.p = np.empty(m)
        self.y = np.empty(2 * m)
        self.cdf = np.empty(2 * m)
        self.pdf = np.empty(m) if with_pdf else None
        self.u = np.empty(2 * m)
        self.tmp = np.empty(2 * m)
        self.neg = np.empty(2 * m, dtype=np.bool_)
        self.flip = np.empty(2 * m, dtype=np.bool_)
        self.ceiling = ceiling_array(2 * m)
        self.zero = np.zeros(m)


class _Out:
    """Output arrays (flat, full length); ``None`` for quantities not requested."""

    __slots__ = ("delta", "gamma", "price", "theta", "vega")

    def __init__(self, n: int, delta: bool, greeks: bool) -> None:
        self.price: FloatArray = np.empty(n)
        self.delta: FloatArray | None = np.empty(n) if delta or greeks else None
        self.gamma: FloatArray | None = np.empty(n) if greeks else None
        self.theta: FloatArray | None = np.empty(n) if greeks else None
        self.vega: FloatArray | None = np.empty(n) if greeks else None

    def chunk(self, lo: int, hi: int) -> _Out:
        view = _Out.__new__(_Out)
        view.price = self.price[lo:hi]
        view.delta = None if self.delta is None else self.delta[lo:hi]
        view.gamma = None if self.gamma is None else self.gamma[lo:hi]
        view.theta = None if self.theta is None else self.theta[lo:hi]
        view.vega = None if self.vega is None else self.vega[lo:hi]
        return view


def _exp_neg_rate(neg_rate: FloatArray | None, rate: FloatArray, t: FloatArray,
                  out: FloatArray) -> None:
    """out = exp(-rate * t); ``neg_rate`` is the precomputed -rate for a scalar rate."""
    if neg_rate is not None:
        _mul(t, neg_rate, out)
    else:
        _mul(t, rate, out)
        np.negative(out, out)
    np.exp(out, out)


def _chunk(
    ws: _Workspace,
    cfg: _Config,
    s: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sig: FloatArray,
    flag: CallFlag,
    out: _Out,
) -> None:
    """Price (and greeks) of one chunk; ``cfg.black`` means q == r (``s`` is the forward)."""
    price = out.price
    m = price.shape[0]
    sqt = ws.a[:m]
    v = ws.b[:m]
    h = ws.c[:m]
    np.sqrt(t, sqt)
    _mul(sig, sqt, v)

    # Discount factors er = e^{-rt}, eq = e^{-qt} (None: 1); discounted spot and strike
    # S' = S eq (None: S itself), K' = K er.
    er = ws.e[:m]
    _exp_neg_rate(cfg.neg_r, r, t, er)
    eq: FloatArray | None
    sp: FloatArray | None
    if cfg.black:
        eq, sp = er, None
    elif cfg.q_zero:
        eq, sp = None, s
    else:
        eq = ws.f[:m]
        _exp_neg_rate(cfg.neg_q, q, t, eq)
        sp = ws.f2[:m]
        _mul(s, eq, sp)
    kp = ws.e2[:m]
    _mul(k, er, kp)

    # d2 <- ln(F/K) / v = ln(S'/K') / v; d1, d2 = d2 +- v/2
    y = ws.y[: 2 * m]
    d1 = y[:m]
    d2 = y[m:]
    if sp is None:
        _div(s, k, d2)
    else:
        _div(sp, kp, d2)
    np.log(d2, d2)
    _div(d2, v, d2)
    _mul(v, _HALF, h)
    _add(d2, h, d1)
    _sub(d2, h, d2)
    # N(phi d1), N(phi d2): phi = -1 (puts) enters as a flip of the argument's sign.
    flip: BoolArray | None = None
    if isinstance(flag, bool):
        if not flag:
            _mul(y, _MINUS_ONE, y)
    else:
        flip = ws.flip[: 2 * m]
        np.logical_not(flag, flip[:m])
        np.copyto(flip[m:], flip[:m])
    cdf = ws.cdf[: 2 * m]
    pdf = None if ws.pdf is None else ws.pdf[:m]
    cdf_pdf_into(
        y, cdf, pdf, ws.u[: 2 * m], ws.tmp[: 2 * m], ws.neg[: 2 * m], ws.ceiling[: 2 * m], flip
    )
    n1 = cdf[:m]
    n2 = cdf[m:]

    # delta = phi e^{-qt} N(phi d1); P1 = S delta; P2 = phi K' N(phi d2); price = P1 - P2
    phi: FloatArray | None = None
    if flip is not None:
        phi = ws.g2[:m]
        _mul(flip[:m], _MINUS_TWO, phi)
        _add(phi, _ONE, phi)
    dl = ws.g[:m] if out.delta is None else out.delta
    if eq is None:
        if phi is None:
            np.copyto(dl, n1)
        else:
            _mul(n1, phi, dl)
    else:
        _mul(n1, eq, dl)
        if phi is not None:
            _mul(dl, phi, dl)
    if phi is None and flag is False:
        _mul(dl, _MINUS_ONE, dl)
    _mul(n2, kp, n2)
    if phi is not None:
        _mul(n2, phi, n2)
    elif flag is False:
        _mul(n2, _MINUS_ONE, n2)
    _mul(s, dl, price)
    theta = out.theta
    qp1: FloatArray | None = None
    if theta is not None and not cfg.black and not cfg.q_zero:
        qp1 = ws.p[:m]  # q P1 / 365
        if cfg.q_per_day is not None:
            _mul(price, cfg.q_per_day, qp1)
        else:
            _mul(price, q, qp1)
            _mul(qp1, _PER_DAY, qp1)
    _sub(price, n2, price)
    # Values are >= 0; clamp rounding-level negatives (deep out-of-the-money cancellation).
    np.maximum(price, ws.zero[:m], price)

    if pdf is not None and out.gamma is not None and theta is not None and out.vega is not None:
        a = pdf  # a <- S e^{-qt} pdf(d1)
        if sp is None:
            _mul(a, s, a)
            if eq is not None:
                _mul(a, eq, a)
        else:
            _mul(a, sp, a)
        _mul(a, sqt, out.vega)
        _mul(out.vega, _VOL_POINT, out.vega)
        _mul(s, v, h)
        _mul(h, s, h)
        _div(a, h, out.gamma)
        # theta = (-a sigma / (2 sqrt t) - r P2 + q P1) / 365   (Black-76: q = r, P1 - P2 = V)
        _div(sig, sqt, theta)
        _mul(theta, _MINUS_HALF_PER_DAY, theta)
        _mul(theta, a, theta)
        if cfg.black:
            if cfg.neg_r_per_day is not None:
                _mul(price, cfg.neg_r_per_day, h)
                _sub(theta, h, theta)
            else:
                _mul(price, r, h)
                _mul(h, _PER_DAY, h)
                _add(theta, h, theta)
        else:
            if cfg.neg_r_per_day is not None:
                _mul(n2, cfg.neg_r_per_day, h)
            else:
                _mul(n2, r, h)
                _mul(h, _MINUS_PER_DAY, h)
            _add(theta, h, theta)
            if qp1 is not None:
                _add(theta, qp1, theta)

    if not float(np.min(v)) > 0.0:
        _repair(cfg, s, k, t, r, q, sig, flag, v, out)


def _pick(op: FloatArray, idx: npt.NDArray[np.intp]) -> FloatArray:
    return op if op.shape[0] == 1 else op[idx]


def _repair(
    cfg: _Config,
    s: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sig: FloatArray,
    flag: CallFlag,
    v: FloatArray,
    out: _Out,
) -> None:
    """Overwrite elements with ``t <= 0`` or ``sigma <= 0`` by their limiting values.

    See the module notes. Elements with NaN ``t`` or ``sigma`` keep their NaN results.
    """
    m = out.price.shape[0]
    full = np.arange(m)
    ti = np.broadcast_to(_pick(t, full), (m,))
    sgi = np.broadcast_to(_pick(sig, full), (m,))
    degenerate = ~(v > 0.0) & ~np.isnan(ti) & ~np.isnan(sgi)
    idx = np.flatnonzero(degenerate)
    if idx.size == 0:
        return
    te = np.maximum(np.broadcast_to(_pick(t, idx), idx.shape), 0.0)
    si2, ki2, ri = _pick(s, idx), _pick(k, idx), _pick(r, idx)
    qi = ri if cfg.black else _pick(q, idx)
    ph: FloatArray
    if isinstance(flag, bool):
        ph = np.full(idx.shape, 1.0 if flag else -1.0)
    else:
        ph = np.where(flag[idx], 1.0, -1.0)
    eqi = np.exp(-qi * te)
    eri = np.exp(-ri * te)
    p1 = si2 * eqi * ph
    p2 = ki2 * eri * ph
    fwd = p1 - p2
    ind = np.where(fwd > 0.0, 1.0, np.where(fwd < 0.0, 0.0, 0.5))
    # "+ 0.0" turns the -0.0 of out-of-the-money elements into +0.0
    out.price[idx] = ind * fwd + 0.0
    if out.delta is not None:
        out.delta[idx] = ph * eqi * ind + 0.0
    if out.gamma is not None:
        out.gamma[idx] = 0.0
    if out.vega is not None:
        out.vega[idx] = 0.0
    if out.theta is not None:
        annual = ind * (qi * p1 - ri * p2) + 0.0
        out.theta[idx] = np.where(te > 0.0, annual / DAYS_PER_YEAR, 0.0)


def _evaluate(
    black: bool,
    underlying: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    want_delta: bool,
    want_greeks: bool,
) -> tuple[tuple[int, ...], _Out]:
    inp = Inputs((underlying, strike, t, r, q, sigma), is_call)
    s, k, tt, rr, qq, sg = inp.operands
    flag = inp.flags
    cfg = _Config(black, inp)
    out = _Out(inp.n, want_delta, want_greeks)

    def make_worker(chunk: int) -> ChunkFn:
        ws = _Workspace(chunk, with_pdf=want_greeks)

        def work(lo: int, hi: int) -> None:
            _chunk(
                ws,
                cfg,
                take(s, lo, hi),
                take(k, lo, hi),
                take(tt, lo, hi),
                take(rr, lo, hi),
                take(qq, lo, hi),
                take(sg, lo, hi),
                take_flag(flag, lo, hi),
                out.chunk(lo, hi),
            )

        return work

    run_chunked(inp.n, make_worker)
    return inp.shape, out


def _shaped(a: FloatArray | None, shape: tuple[int, ...]) -> FloatArray:
    assert a is not None
    return a.reshape(shape)


def bsm_price(
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Black-Scholes-Merton value of European options on a spot with continuous yield ``q``.

    Parameters
    ----------
    spot, strike : array_like
        Underlying price and strike, same currency, > 0.
    t : array_like
        Time to expiry in years.
    r, q : array_like
        Continuously compounded risk-free rate and dividend (carry) yield per year.
    sigma : array_like
        Annualised volatility.
    is_call : bool or array_like of bool
        True for calls, False for puts.

    Returns
    -------
    ndarray
        Option value, broadcast shape of the inputs. See the module notes for ``t <= 0`` and
        ``sigma <= 0``.
    """
    shape, out = _evaluate(False, spot, strike, t, r, q, sigma, is_call, False, False)
    return out.price.reshape(shape)


def bsm_price_delta(
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """BSM value and delta (dV/dS) only; cheaper than ``bsm_greeks``. Arguments as ``bsm_price``.

    Returns
    -------
    (price, delta) : tuple of ndarray
    """
    shape, out = _evaluate(False, spot, strike, t, r, q, sigma, is_call, True, False)
    return out.price.reshape(shape), _shaped(out.delta, shape)


def bsm_greeks(
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> Greeks:
    """BSM value, delta, gamma, theta and vega. Arguments as ``bsm_price``.

    Returns
    -------
    Greeks
        ``delta`` = dV/dS, ``gamma`` = d2V/dS2, ``theta`` = -dV/dt per calendar day,
        ``vega`` = dV/dsigma per volatility point (0.01).
    """
    shape, out = _evaluate(False, spot, strike, t, r, q, sigma, is_call, True, True)
    return Greeks(
        price=out.price.reshape(shape),
        delta=_shaped(out.delta, shape),
        gamma=_shaped(out.gamma, shape),
        theta=_shaped(out.theta, shape),
        vega=_shaped(out.vega, shape),
    )


def black76_price(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Black-76 value of European options on a futures/forward price.

    Parameters
    ----------
    forward, strike : array_like
        Futures (forward) price for the option's expiry and strike, > 0.
    t : array_like
        Time to expiry in years.
    r : array_like
        Continuously compounded rate used to discount the payoff.
    sigma : array_like
        Annualised volatility of the forward.
    is_call : bool or array_like of bool
        True for calls, False for puts.

    Returns
    -------
    ndarray
        ``exp(-r t) * (phi F N(phi d1) - phi K N(phi d2))``, broadcast shape of the inputs.
    """
    shape, out = _evaluate(True, forward, strike, t, r, 0.0, sigma, is_call, False, False)
    return out.price.reshape(shape)


def black76_price_delta(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Black-76 value and delta (dV/dF) only. Arguments as ``black76_price``.

    Returns
    -------
    (price, delta) : tuple of ndarray
    """
    shape, out = _evaluate(True, forward, strike, t, r, 0.0, sigma, is_call, True, False)
    return out.price.reshape(shape), _shaped(out.delta, shape)


def black76_greeks(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> Greeks:
    """Black-76 value, delta, gamma, theta and vega. Arguments as ``black76_price``.

    Returns
    -------
    Greeks
        ``delta`` = dV/dF, ``gamma`` = d2V/dF2, ``theta`` = -dV/dt per calendar day with the
        forward held fixed, ``vega`` = dV/dsigma per volatility point (0.01).
    """
    shape, out = _evaluate(True, forward, strike, t, r, 0.0, sigma, is_call, True, True)
    return Greeks(
        price=out.price.reshape(shape),
        delta=_shaped(out.delta, shape),
        gamma=_shaped(out.gamma, shape),
        theta=_shaped(out.theta, shape),
        vega=_shaped(out.vega, shape),
    )


__all__ = [
    "DAYS_PER_YEAR",
    "VOL_POINT",
    "black76_greeks",
    "black76_price",
    "black76_price_delta",
    "bsm_greeks",
    "bsm_price",
    "bsm_price_delta",
]
