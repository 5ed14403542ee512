"""Instrument catalogue (SPEC §2): multipliers, strike steps, ticks, groups, listed expiries.

The catalogue is the only source of contract multipliers and strike grids. A contract is looked up
by its *root*; option roots that differ from their underlying (``SPXW`` on ``SPX``) name it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from config.enums import Engine, ExpiryKind, InstrumentKind, PricingModel, Right


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable root and the facts about its options.

    Attributes
    ----------
    root : str
        Trading root of the contract (``ES``, ``SPXW``, ``SPY``).
    underlying : str
        Root of the underlying price series (``SPXW`` -> ``SPX``; otherwise the root itself).
    kind : InstrumentKind
        What the underlying is (future, index, equity).
    multiplier : float
        Dollars per point of option (and future) price.
    strike_step : float
        Spacing of the listed strike grid, in underlying points.
    tick : float
        Minimum option price increment (ES/MES: the 0.05 tick CME lists for premiums below 5
        points; one tick for every price keeps spread checks meaningful on cheap 0DTE wings).
    expiries : frozenset[ExpiryKind]
        Option expiry cycles listed on the exchange.
    engines : frozenset[Engine]
        Engines that have option data for this root (LEAN: no weekly/daily futures options and no
        micro futures options; see LEAN_NOTES.md).
    """

    root: str
    underlying: str
    kind: InstrumentKind
    multiplier: float
    strike_step: float
    tick: float
    expiries: frozenset[ExpiryKind]
    engines: frozenset[Engine]
    has_options: bool = True

    @property
    def pricing_model(self) -> PricingModel:
        """Black-76 for options on futures, Black–Scholes–Merton otherwise."""
        return PricingModel.BLACK76 if self.kind is InstrumentKind.FUTURE else PricingModel.BSM

    def supports(self, engine: Engine, expiry_kind: ExpiryKind | None = None) -> bool:
        """Whether ``engine`` has options on this root (of ``expiry_kind`` when given).

        LEAN lists only standard (monthly/quarterly) futures options.
        """
        if not self.has_options or engine not in self.engines:
            return False
        if expiry_kind is None:
            return True
        if expiry_kind not in self.expiries:
            return False
        return not (
            engine is Engine.LEAN
            and self.kind is InstrumentKind.FUTURE
            and expiry_kind in (ExpiryKind.DAILY, ExpiryKind.WEEKLY)
        )

    def round_strike(self, strike: float) -> float:
        """Nearest strike on the listed grid."""
        return round(round(strike / self.strike_step) * self.strike_step, 10)

    def round_price(self, price: float) -> float:
        """Nearest tick."""
        return round(round(price / self.tick) * self.tick, 10)


_ALL = frozenset({Engine.OFFLINE, Engine.LEAN})
_OFFLINE = frozenset({Engine.OFFLINE})
_FUT_SHORT = frozenset({ExpiryKind.DAILY, ExpiryKind.WEEKLY, ExpiryKind.MONTHLY,
                        ExpiryKind.QUARTERLY})
_MONTHLY = frozenset({ExpiryKind.MONTHLY, ExpiryKind.QUARTERLY})
_EQUITY = frozenset({ExpiryKind.DAILY, ExpiryKind.WEEKLY, ExpiryKind.MONTHLY,
                     ExpiryKind.QUARTERLY})
_F = InstrumentKind.FUTURE


def _fut(root: str, mult: float, step: float, tick: float, exp: frozenset[ExpiryKind],
         engines: frozenset[Engine], options: bool = True) -> Instrument:
    return Instrument(root, root, _F, mult, step, tick, exp, engines, options)


CATALOGUE: dict[str, Instrument] = {
    i.root: i
    for i in (
        _fut("ES", 50, 5, 0.05, _FUT_SHORT, _ALL),
        _fut("MES", 5, 5, 0.05, _FUT_SHORT, _OFFLINE),
        _fut("NQ", 20, 10, 0.25, _FUT_SHORT, _ALL, options=False),
        _fut("MNQ", 2, 10, 0.25, _FUT_SHORT, _OFFLINE, options=False),
        _fut("CL", 1000, 0.5, 0.01, _MONTHLY, _ALL),
        _fut("MCL", 100, 0.5, 0.01, _MONTHLY, _OFFLINE),
        _fut("GC", 100, 5, 0.1, _MONTHLY, _ALL),
        _fut("MGC", 10, 5, 0.1, _MONTHLY, _OFFLINE),
        _fut("ZB", 1000, 1, 1 / 64, _MONTHLY, _ALL),
        _fut("6E", 125000, 0.005, 0.00005, _MONTHLY, _ALL),
        Instrument("SPX", "SPX", InstrumentKind.INDEX, 100, 5, 0.05, _MONTHLY, _ALL),
        Instrument("SPXW", "SPX", InstrumentKind.INDEX, 100, 5, 0.05, _EQUITY, _ALL),
        Instrument("SPY", "SPY", InstrumentKind.EQUITY, 100, 1, 0.01, _EQUITY, _ALL),
        Instrument("QQQ", "QQQ", InstrumentKind.EQUITY, 100, 1, 0.01, _EQUITY, _ALL),
        Instrument("IWM", "IWM", InstrumentKind.EQUITY, 100, 1, 0.01, _EQUITY, _ALL),
    )
}


def instrument(root: str) -> Instrument:
    """Catalogue entry for ``root``; raises ``KeyError`` naming the root when unknown."""
    try:
        return CATALOGUE[root]
    except KeyError:
        raise KeyError(f"unknown root {root!r}; catalogue has {sorted(CATALOGUE)}") from None


@dataclass(frozen=True, slots=True)
class Contract:
    """One option contract (``right`` set) or one underlying contract (``right`` is None).

    ``strike`` is 0.0 for an underlying contract. ``expiry`` is the option's expiry date
    (for an underlying future, the future's expiry).
    """

    root: str
    expiry: date
    strike: float
    right: Right | None
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        if not self.root:
            raise ValueError("contract root must be non-empty")
        if not math.isfinite(self.strike) or self.strike < 0:
            raise ValueError(f"contract strike must be finite and >= 0, got {self.strike!r}")
        if self.right is not None and self.strike <= 0:
            raise ValueError(f"option strike must be > 0, got {self.strike!r}")
        # Contracts key the quote and position maps looked up on every bar: hash once.
        object.__setattr__(self, "_hash", hash((self.root, self.expiry, self.strike, self.right)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def is_option(self) -> bool:
        return self.right is not None

    @property
    def symbol(self) -> str:
        """Stable text id, e.g. ``ES 2026-03-20 P 5000``."""
        if self.right is None:
            return f"{self.root} {self.expiry.isoformat()}"
        return f"{self.root} {self.expiry.isoformat()} {self.right.value} {self.strike:g}"

    @staticmethod
    def parse(symbol: str) -> Contract:
        """Inverse of :attr:`symbol`."""
        parts = symbol.split(" ")
        if len(parts) == 2:
            return Contract(parts[0], date.fromisoformat(parts[1]), 0.0, None)
        if len(parts) == 4:
            return Contract(parts[0], date.fromisoformat(parts[1]), float(parts[3]),
                            Right(parts[2]))
        raise ValueError(f"not a contract symbol: {symbol!r}")

    def dte(self, today: date) -> int:
        """Calendar days to expiry."""
        return (self.expiry - today).days
