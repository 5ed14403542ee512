"""Buying-power model of the simulated broker (approximations documented in docs/SIM.md).

Holdings are pooled per root. Equity and index option pools (``MarginStyle.REG_T``) pair short
legs with long legs of the same right expiring no earlier (greedily, most dangerous short first,
choosing the long that leaves the smallest spread risk):

* a pair (spread) uses its maximum loss from the current marks:
  ``(mid_long - mid_short) + max(0, strike distance against the holder)``;
* an unpaired short uses ``max(naked_pct * U - OTM, min_pct * K (puts) or U (calls)) + mid``;
* an unpaired long uses its mid (premium is paid in full, not marginable);
* a stock or future holding uses its full market value.

Futures option pools (``MarginStyle.SPAN``) use a SPAN-like scan: the pool is repriced at the
underlying moved by 0, +-1/3, +-2/3 and +-1 of the price scan range, each with implied vols scaled
by ``1 +- vol_scan``, plus +-2 ranges counted at 35%; the requirement is the worst loss, at least
a short-option minimum per short contract. The price scan range is
``max(floor, z * 30-day ATM vol * sqrt(2 / 252))`` of the futures price.

The pairing depends only on the holdings, so it is computed once per holdings change
(:class:`MarginPlan`); the requirement is then re-evaluated from each bar's marks. All
requirements are dollars (catalogue multipliers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from config.enums import Right
from config.instruments import Contract
from risk.margin import REG_T_MINIMUM_FRACTION, REG_T_UNDERLYING_FRACTION
from sim.pricing import ContractBatch, MarketState, Pricer, Valuation

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class RegTRule:
    """Reg-T naked-option percentages; the defaults are the ones the system's own pre-trade
    estimate uses (:mod:`risk.margin`), so broker and estimate agree on a naked short."""

    naked_pct: float = REG_T_UNDERLYING_FRACTION
    min_pct: float = REG_T_MINIMUM_FRACTION


@dataclass(frozen=True, slots=True)
class SpanRule:
    """``short_minimum`` is the short-option minimum per short contract as a fraction of the
    futures notional (price x multiplier)."""

    z: float = 4.0
    floor: float = 0.03
    vol_scan: float = 0.25
    extreme_multiple: float = 2.0
    extreme_cover: float = 0.35
    short_minimum: float = 0.002


REG_T: Final = RegTRule()
SPAN: Final = SpanRule()

_MOVES = np.array([0.0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1.0, -1.0])


def _scenarios(rule: SpanRule) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = _MOVES.size
    moves = np.concatenate([np.repeat(_MOVES, 2), [rule.extreme_multiple,
                                                   -rule.extreme_multiple]])
    vols = np.concatenate([np.tile([1.0 + rule.vol_scan, 1.0 - rule.vol_scan], n), [1.0, 1.0]])
    weight = np.concatenate([np.ones(2 * n), [rule.extreme_cover] * 2])
    return (np.asarray(moves, dtype=np.float64), np.asarray(vols, dtype=np.float64),
            np.asarray(weight, dtype=np.float64))


def _ints(values: list[int]) -> IntArray:
    return np.array(values, dtype=np.int64)


def _floats(values: list[float]) -> FloatArray:
    return np.array(values, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class MarginPlan:
    """How a set of holdings is margined, by row of its :class:`ContractBatch`.

    Reg-T pairs (``pair_short``/``pair_long`` rows, ``pair_n`` units, ``pair_width`` points
    against the holder), uncovered shorts (``naked``/``naked_n``), unpaired longs
    (``longs``/``long_n``), linear holdings (``linear``/``linear_n``), and the SPAN rows with
    the index of their pool (root) in ``span_pool``.
    """

    pair_short: IntArray
    pair_long: IntArray
    pair_n: FloatArray
    pair_width: FloatArray
    naked: IntArray
    naked_n: FloatArray
    longs: IntArray
    long_n: FloatArray
    linear: IntArray
    linear_n: FloatArray
    span: IntArray
    span_pool: IntArray
    span_pools: int


@dataclass(slots=True)
class _Lot:
    row: int
    contract: Contract
    left: int


def _width(short: Contract, long_: Contract) -> float:
    """Strike distance against the holder of a short-over-long pair (0 when the long covers)."""
    d = short.strike - long_.strike
    return max(0.0, d if short.right is Right.PUT else -d)


def plan(contracts: tuple[Contract, ...], qty: IntArray, batch: ContractBatch) -> MarginPlan:
    """Pair the holdings ``qty`` (signed contracts per row of ``contracts``)."""
    span_rows = [i for i in range(len(contracts)) if qty[i] != 0 and batch.style[i] != 0]
    pools: dict[str, int] = {}
    span_pool = [pools.setdefault(contracts[i].root, len(pools)) for i in span_rows]
    ps, pl, pn, pw, nk, nn, lg, ln, li, lin = ([] for _ in range(10))
    by_root: dict[str, list[int]] = {}
    for i, c in enumerate(contracts):
        if qty[i] != 0 and batch.style[i] == 0:
            by_root.setdefault(c.root, []).append(i)
    for rows in by_root.values():
        for right in (Right.PUT, Right.CALL):
            shorts = [_Lot(i, contracts[i], -int(qty[i])) for i in rows
                      if contracts[i].right is right and qty[i] < 0]
            longs = [_Lot(i, contracts[i], int(qty[i])) for i in rows
                     if contracts[i].right is right and qty[i] > 0]
            worst_first = -1.0 if right is Right.PUT else 1.0
            shorts.sort(key=lambda lot: worst_first * lot.contract.strike)
            for lot in shorts:
                s = lot.contract
                while lot.left > 0:
                    eligible = [c for c in longs if c.left > 0 and c.contract.expiry >= s.expiry]
                    if not eligible:
                        break
                    cover = min(eligible, key=lambda c: (_width(s, c.contract), c.contract.expiry))
                    n = min(lot.left, cover.left)
                    ps.append(lot.row)
                    pl.append(cover.row)
                    pn.append(float(n))
                    pw.append(_width(s, cover.contract))
                    lot.left -= n
                    cover.left -= n
                if lot.left > 0:
                    nk.append(lot.row)
                    nn.append(float(lot.left))
            for rest in longs:
                if rest.left > 0:
                    lg.append(rest.row)
                    ln.append(float(rest.left))
        for i in rows:
            if contracts[i].right is None:
                li.append(i)
                lin.append(float(abs(int(qty[i]))))
    return MarginPlan(_ints(ps), _ints(pl), _floats(pn), _floats(pw), _ints(nk), _floats(nn),
                      _ints(lg), _floats(ln), _ints(li), _floats(lin), _ints(span_rows),
                      _ints(span_pool), len(pools))


class MarginModel:
    """Buying power used by a set of holdings at a market state."""

    def __init__(self, pricer: Pricer, reg_t: RegTRule = REG_T, span: SpanRule = SPAN) -> None:
        self.pricer = pricer
        self.reg_t = reg_t
        self.span = span
        self._scen = _scenarios(span)
        self._span_rows: list[tuple[MarginPlan, ContractBatch, ContractBatch, FloatArray]] = []

    def requirement(self, p: MarginPlan, qty: IntArray, batch: ContractBatch, val: Valuation,
                    st: MarketState) -> float:
        """Total dollar requirement of the holdings ``qty`` planned as ``p``."""
        return self.reg_t_part(p, batch, val) + (self.span_part(p, qty, batch, val, st)
                                                 if p.span.size else 0.0)

    def reg_t_part(self, p: MarginPlan, batch: ContractBatch, val: Valuation) -> float:
        """Dollar requirement of the Reg-T pools."""
        return float(self.reg_t_rows(p, batch, val))

    def reg_t_rows(self, p: MarginPlan, batch: ContractBatch, val: Valuation
                   ) -> FloatArray | float:
        """:meth:`reg_t_part` of each bar of a (bars, n) valuation as an array of shape (bars,)
        (of a one-bar valuation of shape (n,): a number); each bar's figure is the same number
        :meth:`reg_t_part` gives for that bar alone."""
        mids = np.where(np.isfinite(val.bid) & np.isfinite(val.ask), 0.5 * (val.bid + val.ask),
                        val.mid)
        mult = batch.multiplier
        total: FloatArray | float = 0.0
        if p.pair_short.size:
            s, lng = p.pair_short, p.pair_long
            per = np.maximum(mids[..., lng] - mids[..., s] + p.pair_width, 0.0)
            total = total + np.sum(per * p.pair_n * mult[s], axis=-1)
        if p.naked.size:
            r = p.naked
            k, u = batch.strike[r], val.underlying[..., r]
            put = ~batch.is_call[r]
            otm = np.where(put, np.maximum(u - k, 0.0), np.maximum(k - u, 0.0))
            base = np.where(put, k, u)
            per = (np.maximum(self.reg_t.naked_pct * u - otm, self.reg_t.min_pct * base)
                   + mids[..., r])
            total = total + np.sum(per * p.naked_n * mult[r], axis=-1)
        if p.longs.size:
            total = total + np.sum(mids[..., p.longs] * p.long_n * mult[p.longs], axis=-1)
        if p.linear.size:
            total = total + np.sum(val.underlying[..., p.linear] * p.linear_n * mult[p.linear],
                                   axis=-1)
        return total

    def span_part(self, p: MarginPlan, qty: IntArray, batch: ContractBatch, val: Valuation,
                  st: MarketState) -> float:
        """Dollar requirement of the SPAN pools (0 without futures options)."""
        return self._span(p, qty, batch, val, st) if p.span.size else 0.0

    def _span_setup(self, p: MarginPlan, batch: ContractBatch) -> tuple[ContractBatch, FloatArray]:
        """The SPAN rows of ``batch`` and their pool indicator matrix, kept for the two plans
        seen last (the held book's and a candidate order's)."""
        for plan_, batch_, sub, onehot in self._span_rows:
            if plan_ is p and batch_ is batch:
                return sub, onehot
        idx = p.span
        sub = self.pricer.take(batch, idx)
        onehot = np.zeros((idx.size, p.span_pools))
        onehot[np.arange(idx.size), p.span_pool] = 1.0
        self._span_rows = [(p, batch, sub, onehot), *self._span_rows[:1]]
        return sub, onehot

    def _span(self, p: MarginPlan, qty: IntArray, batch: ContractBatch, val: Valuation,
              st: MarketState) -> float:
        idx = p.span
        sub, onehot = self._span_setup(p, batch)
        q = qty[idx].astype(np.float64)
        mult = sub.multiplier
        under = val.underlying[idx]
        iv = np.where(np.isfinite(val.iv[idx]), val.iv[idx], 0.0)
        t = val.t[idx]
        base = val.mid[idx]
        scan = np.maximum(self.span.floor,
                          self.span.z * st.atm30[0, sub.series] * math.sqrt(2.0 / 252.0))
        moves, vols, weight = self._scen
        u = np.maximum(under[None, :] * (1.0 + moves[:, None] * scan[None, :]), 1e-9)
        prices = self.pricer.theoretical(sub, st, u, t, iv[None, :] * vols[:, None])
        loss = -(prices - base[None, :]) * (q * mult)[None, :] * weight[:, None]
        worst = (loss @ onehot).max(axis=0)
        short = np.where((q < 0) & sub.is_option, -q, 0.0)
        somc = (short * self.span.short_minimum * under * mult) @ onehot
        return float(np.sum(np.maximum(np.maximum(worst, somc), 0.0)))
