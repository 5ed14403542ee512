"""Quote validation (SPEC §11) and implied vol / greeks from mid prices, vectorised.

Both the chain snapshot and position marks use these functions, so a quote is judged the same way
everywhere. All prices are option points; times are naive exchange time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

from config.enums import PricingModel
from config.model import DataConfig
from greeks import black76_greeks, bsm_greeks, implied_vol_black76, implied_vol_bsm
from strategies.types import BoolArray, DateArray, FloatArray

# Options are valued to the 16:00 close of their expiry day.
EXPIRY_CLOCK = time(16, 0)
# Floor on time to expiry (one minute) so intraday 0DTE options still have greeks.
MIN_T_YEARS = 60.0 / (365.0 * 86400.0)
_SECONDS_PER_YEAR = 365.0 * 86400.0

# Reason codes in the order they are tested; a contract is counted under the first that applies.
MISSING_QUOTE = "missing_quote"
ASK_NOT_POSITIVE = "ask_not_positive"
CROSSED_QUOTE = "crossed_quote"
WIDE_SPREAD = "wide_spread"
STALE_QUOTE = "stale_quote"
BAD_STRIKE = "bad_strike"
NO_UNDERLYING = "no_underlying"
IV_UNSOLVABLE = "iv_unsolvable"


class Exclusions:
    """Accumulates a 'bad' mask and counts each row under the first reason that excludes it.

    ``codes[i]`` is 0 for a usable row, else 1 + the index of its reason in ``reasons``.
    """

    __slots__ = ("bad", "codes", "counts", "reasons")

    def __init__(self, n: int) -> None:
        self.bad: BoolArray = np.zeros(n, dtype=np.bool_)
        self.codes: npt.NDArray[np.int8] = np.zeros(n, dtype=np.int8)
        self.counts: dict[str, int] = {}
        self.reasons: list[str] = []

    def take(self, reason: str, mask: BoolArray) -> None:
        new = mask & ~self.bad
        c = int(np.count_nonzero(new))
        if c:
            self.counts[reason] = self.counts.get(reason, 0) + c
            if reason not in self.reasons:
                self.reasons.append(reason)
            self.codes[new] = self.reasons.index(reason) + 1
            self.bad |= new


def quote_exclusions(bid: FloatArray, ask: FloatArray, quote_time: DateArray, now: datetime,
                     data: DataConfig) -> tuple[BoolArray, dict[str, int]]:
    """Rows whose quote is unusable for selection or marking (SPEC §11), with counts by reason.

    A quote is unusable when bid or ask is missing/NaN, ask <= 0, ask < bid, the spread exceeds
    ``data.max_spread_fraction`` of the mid while the mid is above ``data.spread_check_min_mid``,
    or it is older than ``data.max_quote_age_minutes`` (a missing time counts as stale).
    ``bid <= 0`` is *not* tested here: it only makes a contract unsellable.

    Returns
    -------
    (bad, counts)
        ``bad[i]`` True when row ``i`` is unusable; ``counts`` maps reason code to rows.
    """
    ex = Exclusions(int(bid.shape[0]))
    apply_quote_checks(ex, bid, ask, quote_time, now, data)
    return ex.bad, ex.counts


def apply_quote_checks(ex: Exclusions, bid: FloatArray, ask: FloatArray, quote_time: DateArray,
                       now: datetime, data: DataConfig) -> None:
    """Take every row failing a quote check into ``ex`` (see :func:`quote_exclusions`)."""
    for reason, mask in _quote_checks(bid, ask, quote_time, now, data):
        ex.take(reason, mask)


def quote_ok(bid: float, ask: float, age_seconds: int, data: DataConfig) -> bool:
    """One quote through the checks of :func:`quote_exclusions` (``age_seconds`` whole seconds
    since the quote's time): True when it is usable."""
    if not (math.isfinite(bid) and math.isfinite(ask)) or ask <= 0.0 or ask < bid:
        return False
    mid = 0.5 * (bid + ask)
    if mid > data.spread_check_min_mid and (ask - bid) > data.max_spread_fraction * mid:
        return False
    return age_seconds <= data.max_quote_age_minutes * 60


def _quote_checks(bid: FloatArray, ask: FloatArray, quote_time: DateArray, now: datetime,
                  data: DataConfig) -> list[tuple[str, BoolArray]]:
    """Each SPEC §11 quote check as (reason, rows failing it), in the order they are tested."""
    with np.errstate(invalid="ignore"):
        mid = 0.5 * (bid + ask)
        checks = [
            (MISSING_QUOTE, ~(np.isfinite(bid) & np.isfinite(ask))),
            (ASK_NOT_POSITIVE, ask <= 0.0),
            (CROSSED_QUOTE, ask < bid),
            (WIDE_SPREAD, (mid > data.spread_check_min_mid)
             & ((ask - bid) > data.max_spread_fraction * mid)),
        ]
    qt = quote_time.astype("datetime64[s]", copy=False)
    limit = np.timedelta64(data.max_quote_age_minutes * 60, "s")
    # A missing time is stale; comparisons with NaT are False.
    checks.append((STALE_QUOTE, np.isnat(qt) | ((np.datetime64(now, "s") - qt) > limit)))
    return checks


def years_to_expiry(expiry: DateArray, now: datetime) -> FloatArray:
    """Years (365-day) from ``now`` to 16:00 on each expiry day, floored at :data:`MIN_T_YEARS`."""
    close_s = expiry.astype("datetime64[D]", copy=False).astype("datetime64[s]").view(
        np.int64) + (EXPIRY_CLOCK.hour * 3600 + EXPIRY_CLOCK.minute * 60)
    close_s -= int(np.datetime64(now, "s").astype(np.int64))
    out: FloatArray = close_s / _SECONDS_PER_YEAR
    np.maximum(out, MIN_T_YEARS, out=out)
    return out


def year_fraction(expiry: date, now: datetime) -> float:
    """Scalar form of :func:`years_to_expiry`."""
    close = datetime.combine(expiry, EXPIRY_CLOCK)
    return max((close - now) / timedelta(days=365), MIN_T_YEARS)


@dataclass(frozen=True, slots=True, eq=False)
class GreekColumns:
    """Implied vol and greeks per row; NaN where the vol could not be solved.

    ``delta`` signed (puts negative), ``gamma`` per point, ``theta`` per calendar day in points,
    ``vega`` per vol point in points.
    """

    iv: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray


def solve_iv(model: PricingModel, price: FloatArray, underlying: FloatArray,
             strike: FloatArray, t: FloatArray, r: float,
             is_call: npt.NDArray[np.bool_]) -> FloatArray:
    """The implied vols of :func:`solve_greeks` alone: NaN where no positive vol is found."""
    n = int(price.shape[0])
    if model is PricingModel.BLACK76:
        raw = implied_vol_black76(price, underlying, strike, t, r, is_call)
    else:
        raw = implied_vol_bsm(price, underlying, strike, t, r, 0.0, is_call)
    iv = _column(raw, n)
    iv[~(np.isfinite(iv) & (iv > 0.0))] = np.nan
    return iv


def solve_greeks(model: PricingModel, price: FloatArray, underlying: FloatArray,
                 strike: FloatArray, t: FloatArray, r: float,
                 is_call: npt.NDArray[np.bool_]) -> GreekColumns:
    """Implied vol from ``price`` (the mid) then greeks, with Black-76 (``underlying`` is the
    futures price) or Black–Scholes–Merton with zero dividend yield (``underlying`` is the spot).
    """
    n = int(price.shape[0])
    if n == 0:
        e: FloatArray = np.empty(0, dtype=np.float64)
        return GreekColumns(e, e, e, e, e)
    iv = solve_iv(model, price, underlying, strike, t, r, is_call)
    ok = np.isfinite(iv)
    if ok.all():  # the usual case: greeks of every row, nothing to gather or scatter
        if model is PricingModel.BLACK76:
            g = black76_greeks(underlying, strike, t, r, iv, is_call)
        else:
            g = bsm_greeks(underlying, strike, t, r, 0.0, iv, is_call)
        return GreekColumns(iv, _column(g.delta, n), _column(g.gamma, n), _column(g.theta, n),
                            _column(g.vega, n))
    out = [np.full(n, np.nan) for _ in range(4)]
    if ok.any():
        idx = np.flatnonzero(ok)
        if model is PricingModel.BLACK76:
            g = black76_greeks(underlying[idx], strike[idx], t[idx], r, iv[idx], is_call[idx])
        else:
            g = bsm_greeks(underlying[idx], strike[idx], t[idx], r, 0.0, iv[idx], is_call[idx])
        for col, vals in zip(out, (g.delta, g.gamma, g.theta, g.vega), strict=True):
            col[idx] = np.broadcast_to(np.asarray(vals, dtype=np.float64), (idx.shape[0],))
    return GreekColumns(iv, out[0], out[1], out[2], out[3])


def _column(values: npt.ArrayLike, n: int) -> FloatArray:
    """A fresh float64 array of ``n`` rows holding ``values`` (broadcast when needed)."""
    a = np.asarray(values, dtype=np.float64)
    out: FloatArray = a.copy() if a.shape == (n,) else np.broadcast_to(a, (n,)).copy()
    return out
