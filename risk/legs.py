"""Legs the risk layer reprices: one contract, a signed quantity and the market facts to price it.

Sign conventions
----------------
* ``quantity`` is signed contracts: ``+`` long, ``-`` short.
* ``iv`` is an annualised decimal volatility (0.20 = 20%); ``t_years`` is time to expiry in years.
* ``multiplier`` is dollars per point of option price (from the instrument catalogue).
* Leg values are dollars: ``quantity × multiplier × price``; a long leg has a positive value.

A leg whose market facts are missing is still constructible (so that the caller can turn it into a
Rejection instead of an exception); :meth:`StressLeg.issue` names what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from config.enums import PricingModel, Right
from config.instruments import CATALOGUE, Contract
from greeks import black76_greeks, black76_price, bsm_greeks, bsm_price

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class StressLeg:
    """One contract held (or to be held) with the inputs needed to reprice it.

    Attributes
    ----------
    contract : Contract
        The option (``right`` set) or the underlying itself (``right`` None: a future or shares,
        valued at the underlying price).
    quantity : int
        Signed contracts, ``+`` long, ``-`` short.
    underlying_price : float
        Spot (BSM) or futures price (Black-76) in points.
    iv : float
        Annualised implied volatility as a decimal; ignored for underlying legs.
    t_years : float
        Time to expiry in years; ``<= 0`` prices at intrinsic value.
    multiplier : float
        Dollars per point (catalogue).
    model : PricingModel
        Black-76 for futures options, Black–Scholes–Merton otherwise.
    r, q : float
        Risk-free rate and dividend yield, annualised decimals (``q`` unused by Black-76).
    position_id : str | None
        The open position the leg belongs to (None for a candidate); lets a roll drop the legs it
        replaces.
    """

    contract: Contract
    quantity: int
    underlying_price: float
    iv: float
    t_years: float
    multiplier: float
    model: PricingModel
    r: float
    q: float = 0.0
    position_id: str | None = None

    @classmethod
    def of(cls, contract: Contract, quantity: int, underlying_price: float, iv: float,
           t_years: float, r: float, q: float = 0.0,
           position_id: str | None = None) -> StressLeg:
        """Leg with multiplier and pricing model from the catalogue entry of ``contract.root``.

        An unknown root gives a NaN multiplier, which :meth:`issue` reports as
        ``unknown_instrument``; nothing is raised.
        """
        inst = CATALOGUE.get(contract.root)
        if inst is None:
            return cls(contract, quantity, underlying_price, iv, t_years, math.nan,
                       PricingModel.BSM, r, q, position_id)
        return cls(contract, quantity, underlying_price, iv, t_years, inst.multiplier,
                   inst.pricing_model, r, q, position_id)

    @property
    def is_option(self) -> bool:
        return self.contract.right is not None

    def issue(self) -> str | None:
        """Stable reason code when the leg cannot be priced, else None."""
        checks: tuple[tuple[bool, str], ...] = (
            (not _finite_positive(self.multiplier), "unknown_instrument"),
            (not _finite_positive(self.underlying_price), "missing_underlying_price"),
            (self.is_option and not _finite_positive(self.iv), "missing_iv"),
            (self.is_option and math.isnan(self.t_years), "missing_time_to_expiry"),
            (not math.isfinite(self.r) or not math.isfinite(self.q), "missing_rate"),
        )
        for bad, code in checks:
            if bad:
                return code
        return None


def _finite_positive(x: float) -> bool:
    return math.isfinite(x) and x > 0.0


def first_issue(legs: Sequence[StressLeg]) -> tuple[str, str] | None:
    """``(reason, contract symbol)`` of the first leg that cannot be priced, else None."""
    for leg in legs:
        code = leg.issue()
        if code is not None:
            return code, leg.contract.symbol
    return None


@dataclass(frozen=True, slots=True)
class LegColumns:
    """The legs as numpy columns (length n), built once per repricing."""

    quantity: FloatArray
    spot: FloatArray
    iv: FloatArray
    t: FloatArray
    strike: FloatArray
    is_call: BoolArray
    is_option: BoolArray
    is_black76: BoolArray
    multiplier: FloatArray
    r: FloatArray
    q: FloatArray

    @staticmethod
    def of(legs: Sequence[StressLeg]) -> LegColumns:
        def col(values: list[float]) -> FloatArray:
            return np.asarray(values, dtype=np.float64)

        return LegColumns(
            quantity=col([float(leg.quantity) for leg in legs]),
            spot=col([leg.underlying_price for leg in legs]),
            iv=col([leg.iv if leg.is_option else 0.0 for leg in legs]),
            t=col([leg.t_years if leg.is_option else 0.0 for leg in legs]),
            strike=col([leg.contract.strike for leg in legs]),
            is_call=np.asarray([leg.contract.right is Right.CALL for leg in legs], dtype=bool),
            is_option=np.asarray([leg.is_option for leg in legs], dtype=bool),
            is_black76=np.asarray([leg.model is PricingModel.BLACK76 for leg in legs],
                                  dtype=bool),
            multiplier=col([leg.multiplier for leg in legs]),
            r=col([leg.r for leg in legs]),
            q=col([leg.q for leg in legs]),
        )

    @property
    def dollars_per_point(self) -> FloatArray:
        """``quantity × multiplier`` per leg."""
        result: FloatArray = self.quantity * self.multiplier
        return result


def unit_prices(cols: LegColumns, spot_factor: FloatArray, vol_factor: FloatArray) -> FloatArray:
    """Price per contract (points) of every leg under every scenario.

    Parameters
    ----------
    cols
        The legs (n columns).
    spot_factor, vol_factor
        Shape ``(m,)``: scenario ``k`` multiplies every underlying price by ``spot_factor[k]`` and
        every implied vol by ``vol_factor[k]`` (time to expiry unchanged).

    Returns
    -------
    ndarray, shape ``(m, n)``
        Option legs at model price (one vectorised call per pricing model), underlying legs at
        the moved underlying price, options with ``t <= 0`` at intrinsic value. NaN where the
        pricing library returned NaN.
    """
    spot = spot_factor[:, None] * cols.spot[None, :]
    sigma = vol_factor[:, None] * cols.iv[None, :]
    live = cols.is_option & (cols.t > 0.0)
    t_safe = np.where(live, cols.t, 1.0)
    sigma_safe = np.where(live[None, :], sigma, 1.0)
    out = np.where(cols.is_option[None, :], _intrinsic(spot, cols), spot)
    bsm = live & ~cols.is_black76
    b76 = live & cols.is_black76
    if bsm.any():
        px = np.asarray(bsm_price(spot[:, bsm], cols.strike[bsm], t_safe[bsm], cols.r[bsm],
                                  cols.q[bsm], sigma_safe[:, bsm], cols.is_call[bsm]),
                        dtype=np.float64)
        out[:, bsm] = np.broadcast_to(px, out[:, bsm].shape)
    if b76.any():
        px = np.asarray(black76_price(spot[:, b76], cols.strike[b76], t_safe[b76], cols.r[b76],
                                      sigma_safe[:, b76], cols.is_call[b76]), dtype=np.float64)
        out[:, b76] = np.broadcast_to(px, out[:, b76].shape)
    result: FloatArray = out.astype(np.float64)
    return result


def _intrinsic(spot: FloatArray, cols: LegColumns) -> FloatArray:
    call = np.maximum(spot - cols.strike[None, :], 0.0)
    put = np.maximum(cols.strike[None, :] - spot, 0.0)
    result: FloatArray = np.where(cols.is_call[None, :], call, put)
    return result


@dataclass(frozen=True, slots=True)
class LegGreeks:
    """Per-contract greeks of each leg (length n): delta per point, gamma per point², theta
    per calendar day, vega per vol point, all in option points."""

    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray


def unit_greeks(cols: LegColumns) -> LegGreeks:
    """Greeks per contract of every leg, one vectorised call per pricing model.

    Underlying legs have delta 1 and no other greeks; options at or past expiry have the delta
    of their intrinsic value (1, 0 or −1) and zero gamma, theta and vega.
    """
    n = cols.quantity.shape[0]
    live = cols.is_option & (cols.t > 0.0)
    itm_call = cols.is_call & (cols.spot > cols.strike)
    itm_put = ~cols.is_call & (cols.spot < cols.strike)
    expired_delta = np.where(itm_call, 1.0, np.where(itm_put, -1.0, 0.0))
    delta = np.where(cols.is_option, expired_delta, 1.0).astype(np.float64)
    gamma = np.zeros(n)
    theta = np.zeros(n)
    vega = np.zeros(n)
    bsm = live & ~cols.is_black76
    b76 = live & cols.is_black76
    if bsm.any():
        g = bsm_greeks(cols.spot[bsm], cols.strike[bsm], cols.t[bsm], cols.r[bsm], cols.q[bsm],
                       cols.iv[bsm], cols.is_call[bsm])
        delta[bsm], gamma[bsm], theta[bsm], vega[bsm] = g.delta, g.gamma, g.theta, g.vega
    if b76.any():
        g = black76_greeks(cols.spot[b76], cols.strike[b76], cols.t[b76], cols.r[b76],
                           cols.iv[b76], cols.is_call[b76])
        delta[b76], gamma[b76], theta[b76], vega[b76] = g.delta, g.gamma, g.theta, g.vega
    return LegGreeks(delta, gamma, theta, vega)
