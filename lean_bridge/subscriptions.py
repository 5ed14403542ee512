"""What the LEAN algorithm subscribes to, derived from the configuration.

Each strategy names its roots per phase and engine (:func:`config.universe.roots_for`); a root
whose options LEAN has (:meth:`config.instruments.Instrument.supports`) gets an option
subscription whose universe filter keeps only the contracts the strategies can pick: for each
strategy a :class:`StrikeBand` of days to expiry, rights and strikes. Strike bounds are the
strikes whose Black-76 |delta| equals the strategy's most out-of-the-money allowed delta at
:data:`COVER_VOL` and the far end of its DTE window, plus point offsets (wings) and
:data:`PAD_STRIKES` strike steps; a market moving past the band makes the strategy skip with "no
strike in range", never pick an out-of-range strike. Held contracts stay subscribed in LEAN
whatever the filter keeps, so exits always have quotes.

Futures roots are subscribed as continuous contracts (raw prices, open-interest mapping) for
their prices; micro futures without LEAN option data are still subscribed for prices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist
from typing import Final, TypeVar

from config.enums import Engine, InstrumentKind, Phase, Right, StrategyKey
from config.instruments import instrument
from config.model import Config
from config.universe import roots_for
from strategies.base import TRADING_DAYS_PER_YEAR

# Annual vol up to which a band still contains the strike of the strategy's target delta, by
# underlying root. Above it the far strikes fall outside the filter (the strategy then skips).
COVER_VOL: Final[dict[str, float]] = {
    "SPX": 0.50, "SPY": 0.50, "QQQ": 0.55, "IWM": 0.60, "ES": 0.50, "MES": 0.50,
    "CL": 0.80, "MCL": 0.80, "GC": 0.40, "MGC": 0.40, "ZB": 0.25, "6E": 0.20,
}
# Extra strikes kept beyond each computed bound.
PAD_STRIKES: Final = 2
# A futures option's underlying contract expires up to about three months after the option
# (serial options on quarterly futures); the futures filter reaches this far past the options.
UNDERLYING_FUTURE_REACH_DAYS: Final = 100
# Futures subscribed for prices only reach the front contracts.
PRICE_ONLY_FUTURE_DAYS: Final = 100
# Time to expiry used for same-day (0 DTE) options when sizing their band.
ZERO_DTE_YEARS: Final = 1.0 / 365.0

_BOTH = frozenset({Right.CALL, Right.PUT})
_PUTS = frozenset({Right.PUT})
_CALLS = frozenset({Right.CALL})
_N = NormalDist()


def strike_for_delta(abs_delta: float, right: Right, vol: float, years: float) -> float:
    """Strike as a multiple of the forward whose Black-76 |delta| is ``abs_delta``.

    Put: ``K/F = exp(N⁻¹(|Δ|)·σ√T + σ²T/2)``; call: ``K/F = exp(−N⁻¹(Δ)·σ√T + σ²T/2)``.
    """
    if not 0.0 < abs_delta < 1.0 or vol <= 0.0 or years <= 0.0:
        raise ValueError(f"need 0 < delta < 1, vol > 0, years > 0; got {abs_delta}, {vol}, {years}")
    s = vol * math.sqrt(years)
    z = _N.inv_cdf(abs_delta)
    half = 0.5 * s * s
    return math.exp(z * s + half) if right is Right.PUT else math.exp(-z * s + half)


@dataclass(frozen=True, slots=True)
class StrikeBand:
    """Keep contracts with ``dte_lo <= DTE <= dte_hi``, right in ``rights`` and strike within
    ``[lo × S − pad, hi × S + pad]`` (``S`` the underlying price, ``pad`` in strike points)."""

    dte_lo: int
    dte_hi: int
    lo: float
    hi: float
    pad: float
    rights: frozenset[Right]

    def __post_init__(self) -> None:
        if not 0 <= self.dte_lo <= self.dte_hi:
            raise ValueError(f"band DTE window [{self.dte_lo}, {self.dte_hi}] is invalid")
        if not 0.0 < self.lo <= self.hi or self.pad < 0.0 or not self.rights:
            raise ValueError(f"band strikes [{self.lo}, {self.hi}] pad {self.pad} invalid")

    def keeps(self, dte: int, strike: float, right: Right, underlying: float) -> bool:
        return (self.dte_lo <= dte <= self.dte_hi and right in self.rights
                and self.lo * underlying - self.pad <= strike <= self.hi * underlying + self.pad)


@dataclass(frozen=True, slots=True)
class OptionSubscription:
    """Options of ``root`` (whose prices follow ``underlying``) with the bands to keep."""

    root: str
    underlying: str
    kind: InstrumentKind
    bands: tuple[StrikeBand, ...]

    @property
    def dte_hi(self) -> int:
        return max(b.dte_hi for b in self.bands)


@dataclass(frozen=True, slots=True)
class SubscriptionPlan:
    """Everything the algorithm subscribes to.

    Attributes
    ----------
    options : tuple[OptionSubscription, ...]
        Option universes, one per option root.
    futures : dict[str, int]
        Futures root -> days ahead its futures-contract filter reaches.
    indices, equities : tuple[str, ...]
        Index and equity underlyings.
    unavailable : tuple[tuple[StrategyKey, str], ...]
        (strategy, root) pairs whose options LEAN does not have; those entries skip.
    """

    options: tuple[OptionSubscription, ...]
    futures: dict[str, int]
    indices: tuple[str, ...]
    equities: tuple[str, ...]
    unavailable: tuple[tuple[StrategyKey, str], ...]


def _pad(root: str, points: float = 0.0) -> float:
    return points + PAD_STRIKES * instrument(root).strike_step


def _years(dte: int) -> float:
    return max(dte / 365.0, ZERO_DTE_YEARS)


def _otm(root: str, delta: float, dte_hi: int, right: Right) -> float:
    """Bound (multiple of the underlying) reaching the ``delta`` strike on ``right``'s side."""
    vol = COVER_VOL[instrument(root).underlying]
    return strike_for_delta(delta, right, vol, _years(dte_hi))


def _bands(config: Config, key: StrategyKey, root: str) -> tuple[StrikeBand, ...]:
    s = config.strategies
    K = StrategyKey
    if key is K.FRIDAY_0DTE:
        f0 = s.friday_0dte
        return (StrikeBand(0, 0, _otm(root, f0.short.lo, 0, Right.PUT),
                           _otm(root, f0.short.lo, 0, Right.CALL),
                           _pad(root, f0.wing_points), _BOTH),)
    if key is K.BUTTERFLY_0DTE:
        bf = s.butterfly_0dte
        return (StrikeBand(0, 0, 1.0, 1.0, _pad(root, bf.center_offset_points + bf.wing_points),
                           _BOTH),)
    if key is K.LT112:
        lt = s.lt112
        lo, hi = min(lt.dte.lo, lt.dte_quarterly.lo), max(lt.dte.hi, lt.dte_quarterly.hi)
        return (StrikeBand(lo, hi, _otm(root, lt.naked.lo, hi, Right.PUT), 1.0,
                           _pad(root, lt.spread_width_points), _PUTS),)
    if key is K.FUTURES_STRANGLE:
        st = s.futures_strangle
        return (StrikeBand(st.dte.lo, st.dte.hi, _otm(root, st.put.lo, st.dte.hi, Right.PUT),
                           _otm(root, st.call.lo, st.dte.hi, Right.CALL), _pad(root), _BOTH),)
    if key is K.IPMCC:
        ip = s.ipmcc
        step = instrument(root).strike_step
        itm = (ip.itm_strikes_extended + 1) * step
        return (StrikeBand(ip.dte.lo, ip.dte.hi, _otm(root, ip.leap.hi, ip.dte.hi, Right.CALL),
                           1.0, _pad(root), _CALLS),
                StrikeBand(0, 2 * ip.call_dte, 1.0, 1.0, _pad(root, itm), _CALLS))
    if key is K.LEAP_PUT_LADDER:
        la = s.leap_put_ladder
        return (StrikeBand(la.dte.lo, la.dte.hi, _otm(root, la.delta_lo, la.dte.hi, Right.PUT),
                           1.0, _pad(root), _PUTS),)
    if key is K.BEAR_TRAP:
        bt = s.bear_trap
        return (StrikeBand(bt.dte.lo, bt.dte.hi, _otm(root, bt.naked.lo, bt.dte.hi, Right.PUT),
                           1.0, _pad(root), _PUTS),)
    raise KeyError(f"no subscription bands for strategy {key!r}")


def plan_subscriptions(config: Config) -> SubscriptionPlan:
    """Subscriptions covering every strategy in every phase on the LEAN engine."""
    bands: dict[str, list[StrikeBand]] = {}
    unavailable: list[tuple[StrategyKey, str]] = []
    futures: dict[str, int] = {}
    indices: list[str] = []
    equities: list[str] = []
    for key in StrategyKey:
        for root in dict.fromkeys(r for p in Phase for r in roots_for(key, p, Engine.LEAN)):
            inst = instrument(root)
            und = inst.underlying
            kind = instrument(und).kind
            if kind is InstrumentKind.FUTURE:
                futures.setdefault(und, PRICE_ONLY_FUTURE_DAYS)
            elif kind is InstrumentKind.INDEX:
                indices.append(und)
            else:
                equities.append(und)
            if not inst.supports(Engine.LEAN):
                unavailable.append((key, root))
                continue
            for band in _bands(config, key, root):
                if band not in bands.setdefault(root, []):
                    bands[root].append(band)
    options = tuple(
        OptionSubscription(root, instrument(root).underlying, instrument(root).kind, tuple(b))
        for root, b in bands.items())
    for sub in options:
        if sub.kind is InstrumentKind.FUTURE:
            futures[sub.underlying] = max(futures[sub.underlying],
                                          sub.dte_hi + UNDERLYING_FUTURE_REACH_DAYS)
    return SubscriptionPlan(options, futures, tuple(dict.fromkeys(indices)),
                            tuple(dict.fromkeys(equities)), tuple(unavailable))


T = TypeVar("T")


def select_contracts(items: Iterable[T], describe: Callable[[T], tuple[date, float, Right]],
                     underlying: float, today: date,
                     bands: Iterable[StrikeBand]) -> list[T]:
    """The items some band keeps. ``describe(item)`` gives (expiry, strike, right).

    With no usable underlying price nothing is kept (the universe refreshes at the next
    selection).
    """
    if not math.isfinite(underlying) or underlying <= 0.0:
        return []
    kept: list[T] = []
    band_list = tuple(bands)
    for item in items:
        expiry, strike, right = describe(item)
        dte = (expiry - today).days
        if any(b.keeps(dte, strike, right, underlying) for b in band_list):
            kept.append(item)
    return kept


def history_days(config: Config) -> int:
    """Trading days of daily history the strategies read (52-week filters, IV rank, EMAs)."""
    return max(TRADING_DAYS_PER_YEAR, config.strategies.futures_strangle.iv_rank_days,
               config.strategies.ipmcc.ema_slow)


def warmup_calendar_days(trading_days: int) -> int:
    """Calendar days of warm-up that contain at least ``trading_days`` sessions (five sessions a
    week, three weeks of allowance for exchange holidays)."""
    return math.ceil(trading_days * 7 / 5) + 21
