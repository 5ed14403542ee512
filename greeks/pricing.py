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

import threading
from typing import Final

import numpy as np
import numpy.typing as npt

from greeks._engine import (
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
    output_block,
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
    const,
    full_const,
    signed_cdf_from_tail,
    tail_into,
)
from greeks.types import Greeks

DAYS_PER_YEAR: Final = 365.0
"""Theta is the annual rate -dV/dt divided by this (calendar days)."""
VOL_POINT: Final = 0.01
"""Vega is reported per this change in sigma (one volatility point)."""

_mul: Final = np.multiply
_add: Final = np.add
_sub: Final = np.subtract
_div: Final = np.divide
_min_of: Final = np.minimum.reduce


# small-path slots for per-call scalars filled to full length
_SLOT_NEG_R, _SLOT_NEG_R_DAY, _SLOT_NEG_Q, _SLOT_Q_DAY, _SLOT_R, _SLOT_Q = range(6)
_SLOT_OPERAND: Final = 6
"""Slots 6 .. 9: underlying, strike, t, sigma when given as scalars."""
_SLOTS: Final = 10


class _Config:
    """Per-call constants derived from scalar rates (``None`` where a rate is an array).

    Chunked evaluation holds them in 1-element arrays; the small-input path fills them into
    the workspace's full-length buffers (``ws``).
    """

    __slots__ = ("black", "neg_q", "neg_r", "neg_r_per_day", "q_per_day", "q_zero")

    def __init__(self, black: bool, r_val: float | None, q_val: float | None,
                 ws: _Work | None = None, greeks: bool = False) -> None:
        self.black = black
        self.q_zero = (not black) and q_val == 0.0
        self.neg_r: FloatArray | None = None
        self.neg_q: FloatArray | None = None
        self.neg_r_per_day: FloatArray | None = None
        self.q_per_day: FloatArray | None = None
        if ws is None:
            if r_val is not None:
                self.neg_r = const(-r_val)
                self.neg_r_per_day = const(-r_val / DAYS_PER_YEAR)
            if q_val is not None:
                self.neg_q = const(-q_val)
                self.q_per_day = const(q_val / DAYS_PER_YEAR)
            return
        if r_val is not None:
            self.neg_r = ws.fill(_SLOT_NEG_R, -r_val)
            if greeks:
                self.neg_r_per_day = ws.fill(_SLOT_NEG_R_DAY, -r_val / DAYS_PER_YEAR)
        if q_val is not None and not black and not self.q_zero:
            self.neg_q = ws.fill(_SLOT_NEG_Q, -q_val)
            if greeks:
                self.q_per_day = ws.fill(_SLOT_Q_DAY, q_val / DAYS_PER_YEAR)


class _Work:
    """Scratch buffers and constants for ``m`` elements.

    ``small``: constants are full-length arrays and per-call scalars are filled into buffers
    (see ``greeks._normal`` for the two layouts); otherwise constants are 1-element arrays.
    """

    __slots__ = (
        "c", "c_bool", "c_rows", "cdf", "cfg", "d1", "d2", "dl", "e1", "eq", "er", "ex", "flags",
        "h", "half", "inv_sqrt_2pi", "kp", "m", "minus_half_per_day", "minus_per_day", "n1", "n2",
        "nw", "pdf", "per_day", "qp1", "qq", "rates", "rr", "sb_rows", "scalars", "small", "sp",
        "sqt", "v", "vol_point", "y", "zero",
    )

    def __init__(self, m: int, small: bool, with_pdf: bool) -> None:
        self.m = m
        self.small = small
        self.sqt = np.empty(m)
        self.v = np.empty(m)
        self.h = np.empty(m)
        self.ex = np.empty((2, m))
        self.er = self.ex[0]
        self.eq = self.ex[1]
        self.sp = np.empty(m)
        self.kp = np.empty(m)
        self.dl = np.empty(m)
        self.qp1 = np.empty(m)
        self.y = np.empty(2 * m)
        self.d1 = self.y[:m]
        self.d2 = self.y[m:]
        self.cdf = np.empty(2 * m)
        self.n1 = self.cdf[:m]
        self.n2 = self.cdf[m:]
        self.nw = NormalWork(2 * m, small)
        # int8 views for the CDF's sign step: signbit(d1), signbit(d2) and c = [call] - signbit
        self.sb_rows: npt.NDArray[np.int8] = self.nw.neg.view(np.int8).reshape(2, m)
        self.c = np.empty(2 * m, dtype=np.int8)
        self.c_rows = self.c.reshape(2, m)
        self.c_bool: BoolArray = self.c.view(np.bool_)
        self.e1 = self.nw.e[:m]
        self.pdf: FloatArray | None = np.empty(m) if with_pdf else None
        self.zero = full_const(0.0, m)

        def k(value: float) -> FloatArray:
            return full_const(value, m) if small else const(value)

        self.half = k(0.5)
        self.vol_point = k(VOL_POINT)
        self.per_day = k(1.0 / DAYS_PER_YEAR)
        self.minus_per_day = k(-1.0 / DAYS_PER_YEAR)
        self.minus_half_per_day = k(-0.5 / DAYS_PER_YEAR)
        self.inv_sqrt_2pi = k(INV_SQRT_2PI)
        # small path: buffers for per-call scalars (see ``_SLOT_*``), and the configuration
        # for the scalar rates last filled in (black, r, q)
        self.scalars = np.empty((_SLOTS, m)) if small else np.empty((0, 0))
        # small path, padded calls (fewer elements than m): the call/put flags
        self.flags = np.zeros(m if small else 0, dtype=np.bool_)
        self.rates: tuple[bool, float, float] | None = None
        self.cfg: _Config | None = None
        self.rr: FloatArray = self.zero
        self.qq: FloatArray = self.zero

    def fill(self, slot: int, value: float) -> FloatArray:
        """Buffer ``slot`` of the per-call scalars filled with ``value`` (small path)."""
        buf: FloatArray = self.scalars[slot]
        buf.fill(value)
        return buf


class _Out:
    """Output arrays (flat, full length); ``None`` for quantities not requested."""

    __slots__ = ("delta", "gamma", "price", "theta", "vega")

    def __init__(self, n: int, delta: bool, greeks: bool) -> None:
        block = output_block(5 if greeks else 2 if delta else 1, n)
        self.price: FloatArray = block[0]
        self.delta: FloatArray | None = block[1] if delta else None
        if greeks:
            self.gamma: FloatArray | None = block[2]
            self.theta: FloatArray | None = block[3]
            self.vega: FloatArray | None = block[4]
            return
        self.gamma = self.theta = self.vega = None

    def chunk(self, lo: int, hi: int) -> _Out:
        view = _Out.__new__(_Out)
        view.price = self.price[lo:hi]
        view.delta = None if self.delta is None else self.delta[lo:hi]
        view.gamma = None if self.gamma is None else self.gamma[lo:hi]
        view.theta = None if self.theta is None else self.theta[lo:hi]
        view.vega = None if self.vega is None else self.vega[lo:hi]
        return view


def _neg_rate_times_t(neg_rate: FloatArray | None, rate: FloatArray, t: FloatArray,
                      out: FloatArray) -> None:
    """out = -rate * t; ``neg_rate`` is the precomputed -rate for a scalar rate."""
    if neg_rate is not None:
        _mul(t, neg_rate, out)
    else:
        _mul(t, rate, out)
        np.negative(out, out)


def _kernel(
    ws: _Work,
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
    """Price (and greeks) of ``ws.m`` elements; ``cfg.black`` means q == r (``s`` is the forward).

    With ``phi = +1`` for calls and ``-1`` for puts, ``G = phi N(phi d)`` is formed from the
    tail ``Q(|d|)`` and the signs of ``d`` and ``phi`` (``greeks._normal.signed_cdf_from_tail``);
    it equals ``phi`` times ``N`` evaluated at ``phi d`` bit for bit, so no factor ``phi`` is
    ever multiplied in.
    """
    price = out.price
    sqt = ws.sqt
    v = ws.v
    np.sqrt(t, sqt)
    _mul(sig, sqt, v)

    # Discount factors er = e^{-rt}, eq = e^{-qt} (None: 1), evaluated in one exp call;
    # discounted spot and strike S' = S eq (None: S itself), K' = K er.
    er = ws.er
    _neg_rate_times_t(cfg.neg_r, r, t, er)
    eq: FloatArray | None
    sp: FloatArray | None
    if cfg.black or cfg.q_zero:
        np.exp(er, er)
        eq, sp = (er, None) if cfg.black else (None, s)
    else:
        eq = ws.eq
        _neg_rate_times_t(cfg.neg_q, q, t, eq)
        np.exp(ws.ex, ws.ex)
        sp = ws.sp
        _mul(s, eq, sp)
    kp = ws.kp
    _mul(k, er, kp)

    # d2 <- ln(S'/K') / v; d1, d2 = d2 +- v/2. The CDF's tail Q(|d|) does not depend on phi.
    y = ws.y
    d1 = ws.d1
    d2 = ws.d2
    if sp is None:
        _div(s, k, d2)
    else:
        _div(sp, kp, d2)
    np.log(d2, d2)
    _div(d2, v, d2)
    h = ws.h
    _mul(v, ws.half, h)
    _add(d2, h, d1)
    _sub(d2, h, d2)
    nw = ws.nw
    tail = tail_into(y, nw)
    pdf = ws.pdf
    if pdf is not None:
        _mul(ws.e1, ws.inv_sqrt_2pi, pdf)
    # G1, G2 = phi N(phi d1), phi N(phi d2) = c - copysign(Q, d) with c = [call] - signbit(d)
    sb = nw.neg
    np.signbit(y, sb)
    c = ws.c
    if isinstance(flag, bool):
        if flag:
            np.logical_not(sb, ws.c_bool)
        else:
            np.negative(ws.sb_rows, ws.c_rows)
    else:
        _sub(flag.view(np.int8), ws.sb_rows, ws.c_rows)
    signed_cdf_from_tail(y, tail, c, ws.cdf)
    n1 = ws.n1
    n2 = ws.n2

    # delta = e^{-qt} G1; P1 = S delta; P2 = K' G2; price = P1 - P2
    dl = ws.dl if out.delta is None else out.delta
    if eq is None:
        np.copyto(dl, n1)
    else:
        _mul(n1, eq, dl)
    _mul(n2, kp, n2)
    _mul(s, dl, price)
    theta = out.theta
    qp1: FloatArray | None = None
    if theta is not None and not cfg.black and not cfg.q_zero:
        qp1 = ws.qp1  # q P1 / 365
        if cfg.q_per_day is not None:
            _mul(price, cfg.q_per_day, qp1)
        else:
            _mul(price, q, qp1)
            _mul(qp1, ws.per_day, qp1)
    _sub(price, n2, price)
    # Values are >= 0; clamp rounding-level negatives (deep out-of-the-money cancellation).
    np.maximum(price, ws.zero, price)

    if pdf is not None and out.gamma is not None and theta is not None and out.vega is not None:
        a = pdf  # a <- S e^{-qt} pdf(d1)
        if sp is None:
            _mul(a, s, a)
            if eq is not None:
                _mul(a, eq, a)
        else:
            _mul(a, sp, a)
        _mul(a, sqt, out.vega)
        _mul(out.vega, ws.vol_point, out.vega)
        _mul(s, v, h)
        _mul(h, s, h)
        _div(a, h, out.gamma)
        # theta = (-a sigma / (2 sqrt t) - r P2 + q P1) / 365   (Black-76: q = r, P1 - P2 = V)
        _div(sig, sqt, theta)
        _mul(theta, ws.minus_half_per_day, theta)
        _mul(theta, a, theta)
        if cfg.black:
            if cfg.neg_r_per_day is not None:
                _mul(price, cfg.neg_r_per_day, h)
                _sub(theta, h, theta)
            else:
                _mul(price, r, h)
                _mul(h, ws.per_day, h)
                _add(theta, h, theta)
        else:
            if cfg.neg_r_per_day is not None:
                _mul(n2, cfg.neg_r_per_day, h)
            else:
                _mul(n2, r, h)
                _mul(h, ws.minus_per_day, h)
            _add(theta, h, theta)
            if qp1 is not None:
                _add(theta, qp1, theta)

    # some v <= 0 or NaN (t <= 0, sigma <= 0, NaN): the minimum is not > 0
    if not _min_of(v) > 0.0:
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
    small = small_operands((underlying, strike, t, r, q, sigma), is_call, MEDIUM_MAX)
    if small is not None:
        shape, n, ops, flags = small
        return shape, _evaluate_small(black, ops, flags, n, want_delta, want_greeks)
    inp = Inputs((underlying, strike, t, r, q, sigma), is_call)
    s, k, tt, rr, qq, sg = inp.operands
    flag = inp.flags
    cfg = _Config(black, inp.scalars[3], inp.scalars[4])
    out = _Out(inp.n, want_delta, want_greeks)

    def make_worker(chunk: int) -> ChunkFn:
        spaces: dict[int, _Work] = {}

        def work(lo: int, hi: int) -> None:
            m = hi - lo
            ws = spaces.get(m)
            if ws is None:
                ws = spaces[m] = _chunk_work(m, want_greeks)
            _kernel(
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


_local = threading.local()
_CHUNK_CACHED: Final = 2
"""Chunk-layout workspaces kept per thread (about 6 MB each at a full chunk).

Made afresh on every call, the scratch buffers of a large input cost page faults and, through
the allocator returning memory to the system between calls, kept a new process 20-30% slower
for its first ten or so 1,000,000-option calls."""


def _chunk_work(m: int, with_pdf: bool) -> _Work:
    """A chunk-layout workspace; the most recent ones are reused."""
    cache: dict[tuple[int, bool], _Work] | None = getattr(_local, "chunks", None)
    if cache is None:
        cache = _local.chunks = {}
    key = (m, with_pdf)
    ws = cache.pop(key, None)
    if ws is None:
        ws = _Work(m, small=False, with_pdf=with_pdf)
    cache[key] = ws
    while len(cache) > _CHUNK_CACHED:
        del cache[next(iter(cache))]
    return ws


def _small_work(n: int, with_pdf: bool) -> _Work:
    """This thread's cached small-path workspace for ``n`` elements."""
    cache: dict[int, _Work] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    key = -n if with_pdf else n
    ws = cache.get(key)
    if ws is None:
        ws = cache[key] = _Work(n, small=True, with_pdf=with_pdf)
    return ws


def _evaluate_small(
    black: bool,
    ops: list[Operand],
    flag: CallFlag,
    n: int,
    want_delta: bool,
    want_greeks: bool,
) -> _Out:
    """The kernel on whole arrays of ``n <= MEDIUM_MAX`` elements (same results as chunks).

    The workspace has ``small_length(n)`` elements; array operands shorter than that are
    copied into it and padded with values of a plain option (``t = sigma = 1``), so the padding
    never looks degenerate and never sends the call through ``_repair``.
    """
    s, k, t, r, q, sig = ops
    m = small_length(n)  # n = 1: every operand is a scalar
    ws = _small_work(m, want_greeks)
    # Scalar rates are filled into the workspace; calls with the same rates reuse the fill.
    key = (black, r, q) if isinstance(r, float) and isinstance(q, float) else None
    if key is None or key != ws.rates:
        r_val = r if isinstance(r, float) else None
        q_val = q if isinstance(q, float) else None
        ws.cfg = _Config(black, r_val, q_val, ws, want_greeks)
        ws.rr = at_length(r, ws.scalars[_SLOT_R], 0.0)
        ws.qq = at_length(q, ws.scalars[_SLOT_Q], 0.0) if not isinstance(q, float) else (
            ws.zero if black or q == 0.0 else ws.fill(_SLOT_Q, q))
        ws.rates = key
    cfg = ws.cfg
    assert cfg is not None
    slots = ws.scalars
    s = at_length(s, slots[_SLOT_OPERAND], 1.0)
    k = at_length(k, slots[_SLOT_OPERAND + 1], 1.0)
    t = at_length(t, slots[_SLOT_OPERAND + 2], 1.0)
    sig = at_length(sig, slots[_SLOT_OPERAND + 3], 1.0)
    if not isinstance(flag, bool) and flag.shape[0] != m:
        flag = pad_into(ws.flags, flag, True)
    out = _Out(m, want_delta, want_greeks)
    saved = errors_off()
    try:
        _kernel(ws, cfg, s, k, t, ws.rr, ws.qq, sig, flag, out)
    finally:
        errors_restore(saved)
    return out if m == n else out.chunk(0, n)


def _shaped(a: FloatArray | None, shape: tuple[int, ...]) -> FloatArray:
    assert a is not None
    return a if a.shape == shape else a.reshape(shape)


def _greeks(out: _Out, shape: tuple[int, ...]) -> Greeks:
    d, g, th, v = out.delta, out.gamma, out.theta, out.vega
    assert d is not None and g is not None and th is not None and v is not None
    if out.price.shape == shape:
        return Greeks.of_arrays(out.price, d, g, th, v)
    return Greeks.of_arrays(out.price.reshape(shape), d.reshape(shape), g.reshape(shape),
                            th.reshape(shape), v.reshape(shape))


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
    return _shaped(out.price, shape)


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
    return _shaped(out.price, shape), _shaped(out.delta, shape)


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
    return _greeks(out, shape)


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
    return _shaped(out.price, shape)


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
    return _shaped(out.price, shape), _shaped(out.delta, shape)


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
    return _greeks(out, shape)


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
