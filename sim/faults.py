"""Seeded fault injection for the offline engine (``python -m sim --faults ... --fault-rate P``).

Six faults, each applied with probability ``P`` per opportunity:

=====================  ===========================================================================
fault                  opportunity and effect
=====================  ===========================================================================
``rejections``         each order submitted: the broker refuses it (one ``REJECTED`` event)
``partial_fills``      each combo fill: its leg fills are reported separately, in shuffled order,
                       spread over the next bars (at least one leg later than another)
``duplicate_events``   each event delivered: the same event (same id) is delivered again, at the
                       same bar or up to two bars later
``disconnects``        each bar: no events reach the system for 10 to 60 minutes, then all of
                       them arrive at once
``stale_quotes``       each contract (and each root's price) per 30-minute block: its quotes keep
                       an old timestamp (old prices when known) or are missing
``vix_gaps``           each 30-minute block: the VIX is missing, or stale at its last value
=====================  ===========================================================================

The broker always acts on the true market (fills, holdings and cash are exact); the faults sit
between the broker and the system (events) and between the market and the system (quotes, VIX).
Delayed events never cross the session close: the close bar delivers everything held, so the
broker's holdings equal the net of the fills the system received at every session end.

Determinism: the broker faults draw from one generator seeded with ``(seed, FAULT_STREAM)``, a
stream separate from the market model's, in the order the engine calls them; the market faults
are a hash of ``(seed, contract, 30-minute block)``, independent of how often the system asks.
A run without faults builds none of this and is bit-for-bit the run it was before.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Final

import numpy as np
import numpy.typing as npt

from config.enums import Right
from config.instruments import Contract
from execution.types import Account, EventKind, FillEvent, PricePoint, Quote
from sim.market import SimMarket
from strategies.types import FloatArray, RawChain

FAULT_STREAM: Final = 0x6661756C74
"""Second word of the fault generator's seed sequence (the market model uses the seed alone)."""
BLOCK_MINUTES: Final = 30
"""Length of a quote/VIX fault episode (minutes of the clock, aligned to the hour)."""
STALE_AGE: Final = timedelta(minutes=20)
"""How far a stale chain row's timestamp is set back (prices unchanged: a chain is rebuilt every
bar and old prices of every row are not kept)."""
DISCONNECT_MINUTES: Final = (10, 60)
"""Range of a disconnect's length in minutes (uniform, whole minutes)."""
MAX_LEG_DELAY_BARS: Final = 2
"""A split combo's legs arrive up to this many bars after each other."""
MAX_DUPLICATE_DELAY_BARS: Final = 2

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1
_VIX_KEY: Final = 0x564958
_PRICE_KEY: Final = 0x505243
_CHOICE_KEY: Final = 0x43484F
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


class Fault(Enum):
    """The faults :mod:`sim.faults` can inject (values are the command-line names)."""

    REJECTIONS = "rejections"
    PARTIAL_FILLS = "partial_fills"
    DUPLICATE_EVENTS = "duplicate_events"
    DISCONNECTS = "disconnects"
    STALE_QUOTES = "stale_quotes"
    VIX_GAPS = "vix_gaps"

    @property
    def event_name(self) -> str:
        """The ``risk_events`` key that counts this fault (``fault_<name>``)."""
        return f"fault_{self.value}"


BROKER_FAULTS: Final = frozenset({Fault.REJECTIONS, Fault.PARTIAL_FILLS, Fault.DUPLICATE_EVENTS,
                                  Fault.DISCONNECTS})
MARKET_FAULTS: Final = frozenset({Fault.STALE_QUOTES, Fault.VIX_GAPS})
ALL: Final = "all"


def fault_names() -> tuple[str, ...]:
    """Every accepted name, in declaration order, then ``all``."""
    return (*(f.value for f in Fault), ALL)


def parse_faults(text: str) -> frozenset[Fault]:
    """``"name[,name...]"`` (or ``"all"``) as a set of faults.

    Raises
    ------
    ValueError
        Naming the first unknown or empty name and listing the accepted ones.
    """
    out: set[Fault] = set()
    for raw in text.split(","):
        name = raw.strip()
        if name == ALL:
            out.update(Fault)
            continue
        try:
            out.add(Fault(name))
        except ValueError:
            raise ValueError(f"unknown fault {name!r}; choose from "
                             f"{', '.join(fault_names())}") from None
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Which faults to inject, with what probability per opportunity, from which seed."""

    faults: frozenset[Fault]
    rate: float
    seed: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and 0.0 <= self.rate <= 1.0):
            raise ValueError(f"fault rate must be a number in [0, 1], got {self.rate!r}")
        if self.seed < 0:
            raise ValueError(f"fault seed must be >= 0, got {self.seed}")
        if not all(isinstance(f, Fault) for f in self.faults):
            raise ValueError(f"faults must be Fault members, got {sorted(map(str, self.faults))}")

    @property
    def active(self) -> bool:
        return bool(self.faults) and self.rate > 0.0


class FaultInjector:
    """The run's fault source: the plan, the broker-side generator and the counters.

    ``counts`` holds one entry per planned fault (zero until injected); :meth:`risk_events`
    gives them under their ``fault_<name>`` keys.
    """

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.rng = np.random.default_rng(np.random.SeedSequence([plan.seed, FAULT_STREAM]))
        self.counts: Counter[Fault] = Counter(dict.fromkeys(plan.faults, 0))

    def enabled(self, fault: Fault) -> bool:
        return fault in self.plan.faults and self.plan.rate > 0.0

    def draw(self, fault: Fault) -> bool:
        """One Bernoulli(rate) draw for ``fault`` (no draw, False, when it is not planned)."""
        if not self.enabled(fault):
            return False
        return bool(self.rng.random() < self.plan.rate)

    def count(self, fault: Fault, n: int = 1) -> None:
        self.counts[fault] += n

    def risk_events(self) -> dict[str, int]:
        """``{"fault_<name>": count}`` for every planned fault."""
        return {f.event_name: n for f, n in sorted(self.counts.items(), key=lambda kv: kv[0].value)}


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    x = x + _GOLDEN
    x = (x ^ (x >> _U64(30))) * _M1
    x = (x ^ (x >> _U64(27))) * _M2
    return np.asarray(x ^ (x >> _U64(31)), dtype=np.uint64)


def hashed_uniform(seed: int, *keys: int | npt.NDArray[np.int64]) -> FloatArray:
    """Uniform numbers in [0, 1) that depend only on ``seed`` and ``keys`` (broadcast)."""
    h = np.asarray(np.uint64(seed & _MASK))
    with np.errstate(over="ignore"):
        for k in keys:
            part = (np.asarray(k, dtype=np.int64).astype(np.uint64) if isinstance(k, np.ndarray)
                    else np.asarray(np.uint64(k & _MASK)))
            h = _splitmix(np.asarray(h ^ part, dtype=np.uint64))
    return np.asarray((h >> _U64(11)).astype(np.float64) / float(1 << 53), dtype=np.float64)


def block_of(t: datetime) -> int:
    """The 30-minute block of ``t`` as one integer (date ordinal and block of the day)."""
    return t.date().toordinal() * 100 + (t.hour * 60 + t.minute) // BLOCK_MINUTES


def block_start(t: datetime) -> datetime:
    minute = (t.hour * 60 + t.minute) // BLOCK_MINUTES * BLOCK_MINUTES
    return t.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)


def _right_code(right: Right | None) -> int:
    return 0 if right is None else (1 if right is Right.CALL else 2)


def _root_key(root: str) -> int:
    return zlib.crc32(root.encode("utf-8"))


def contract_key(contract: Contract) -> tuple[int, int, int, int]:
    """The integers a contract's fault decision hashes (same for a chain row and a quote)."""
    return (_root_key(contract.root), contract.expiry.toordinal(),
            round(contract.strike * 1000.0), _right_code(contract.right))


class BrokerFaults:
    """Broker-side faults: refusals at submission and the event channel to the system.

    Parameters
    ----------
    injector
        The run's fault source.
    step
        The engine's bar step (delays are whole bars).
    """

    def __init__(self, injector: FaultInjector, step: timedelta) -> None:
        if step <= timedelta(0):
            raise ValueError(f"bar step must be positive, got {step}")
        self.injector = injector
        self.step = step
        self._held: list[_Held] = []
        self._seq = 0
        self._last_release: dict[str, datetime] = {}
        self._offline_until: datetime | None = None

    @property
    def held(self) -> tuple[FillEvent, ...]:
        """Events the system has not received yet, repeats of delivered events excluded
        (oldest release first)."""
        return tuple(h.event for h in sorted(self._held) if not h.duplicate)

    def reject(self) -> bool:
        """True when the order being submitted is to be refused (counted)."""
        if self.injector.draw(Fault.REJECTIONS):
            self.injector.count(Fault.REJECTIONS)
            return True
        return False

    def _hold(self, release: datetime, event: FillEvent, ordered: bool = True,
              duplicate: bool = False) -> None:
        if ordered:
            release = max(release, self._last_release.get(event.order_id, release))
            self._last_release[event.order_id] = release
        self._seq += 1
        self._held.append(_Held(release, self._seq, event, duplicate))

    def deliver(self, now: datetime, events: Sequence[FillEvent], closing: bool
                ) -> list[FillEvent]:
        """What reaches the system at bar ``now`` given the broker's new ``events``.

        ``closing`` (the session's last bar) ends any disconnect and releases everything held.
        """
        inj = self.injector
        for group in _by_order(events):
            fills = [e for e in group if e.kind is EventKind.FILL and e.contract is not None]
            if len(fills) > 1 and inj.draw(Fault.PARTIAL_FILLS):
                inj.count(Fault.PARTIAL_FILLS)
                self._split(now, group, fills)
                continue
            for e in group:
                self._hold(now, e)
        if inj.enabled(Fault.DISCONNECTS) and not closing and (
                self._offline_until is None or now >= self._offline_until) and inj.draw(
                    Fault.DISCONNECTS):
            inj.count(Fault.DISCONNECTS)
            lo, hi = DISCONNECT_MINUTES
            self._offline_until = now + timedelta(minutes=int(inj.rng.integers(lo, hi + 1)))
        if self._offline_until is not None and (closing or now >= self._offline_until):
            self._offline_until = None
        if self._offline_until is not None:
            return []
        due = sorted(h for h in self._held if closing or h.release <= now)
        self._held = [h for h in self._held if not (closing or h.release <= now)]
        out: list[FillEvent] = []
        for h in due:
            out.append(h.event)
            if h.duplicate or not inj.draw(Fault.DUPLICATE_EVENTS):
                continue
            inj.count(Fault.DUPLICATE_EVENTS)
            delay = int(inj.rng.integers(0, MAX_DUPLICATE_DELAY_BARS + 1))
            if delay == 0 or closing:
                out.append(h.event)
            else:
                self._hold(now + delay * self.step, h.event, ordered=False, duplicate=True)
        if not self._held:
            self._last_release.clear()
        return out

    def _split(self, now: datetime, group: Sequence[FillEvent],
               fills: Sequence[FillEvent]) -> None:
        rng = self.injector.rng
        order = [fills[int(i)] for i in rng.permutation(len(fills))]
        delays = [int(rng.integers(0, 2))]
        for _ in order[1:]:
            delays.append(delays[-1] + int(rng.integers(0, MAX_LEG_DELAY_BARS + 1)))
        if delays[-1] == delays[0]:
            delays[-1] += 1
        for e, d in zip(order, delays, strict=True):
            self._hold(now + d * self.step, e, ordered=False)
        last = now + delays[-1] * self.step
        self._last_release[group[0].order_id] = max(
            last, self._last_release.get(group[0].order_id, last))
        for e in group:
            if not (e.kind is EventKind.FILL and e.contract is not None):
                self._hold(now, e)


@dataclass(frozen=True, slots=True, order=True)
class _Held:
    """An event waiting in the channel; ordered by release time, then arrival."""

    release: datetime
    seq: int
    event: FillEvent = field(compare=False)
    duplicate: bool = field(compare=False, default=False)


def _by_order(events: Iterable[FillEvent]) -> list[list[FillEvent]]:
    groups: dict[str, list[FillEvent]] = {}
    for e in events:
        groups.setdefault(e.order_id, []).append(e)
    return list(groups.values())


class FaultyMarket:
    """The :class:`system.ports.Market` the system sees when quote or VIX faults are planned:
    a :class:`SimMarket` whose quotes, prices, chains and VIX may be stale or missing.

    The broker keeps the true :class:`SimMarket`. Decisions are per 30-minute block (see
    :func:`hashed_uniform`); each faulty answer is counted once per bar and contract (chains:
    once per bar, chain and faulty row).
    """

    def __init__(self, inner: SimMarket, injector: FaultInjector) -> None:
        self.inner = inner
        self.injector = injector
        self._seed = injector.plan.seed
        self._rate = injector.plan.rate
        self._stale = injector.enabled(Fault.STALE_QUOTES)
        self._gaps = injector.enabled(Fault.VIX_GAPS)
        self._bar: datetime | None = None
        self._served: set[tuple[str, object]] = set()
        self._chains: dict[tuple[str, int, int], RawChain | None] = {}
        self._last_quote: dict[Contract, Quote] = {}
        self._last_price: dict[str, PricePoint] = {}
        self._last_vix: PricePoint | None = None

    def _sync(self) -> datetime:
        now = self.inner.now()
        if now != self._bar:
            self._bar = now
            self._served.clear()
            self._chains.clear()
        return now

    def _count_once(self, fault: Fault, key: tuple[str, object]) -> None:
        if key not in self._served:
            self._served.add(key)
            self.injector.count(fault)

    def _decide(self, now: datetime, *keys: int) -> tuple[bool, bool]:
        """(faulty, missing) for ``keys`` in the block of ``now``."""
        block = block_of(now)
        u = float(hashed_uniform(self._seed, block, *keys))
        if u >= self._rate:
            return False, False
        return True, float(hashed_uniform(self._seed, block, _CHOICE_KEY, *keys)) < 0.5

    # ------------------------------------------------------------------ faulty answers
    def quote(self, contract: Contract) -> Quote | None:
        now = self._sync()
        q = self.inner.quote(contract)
        if not self._stale:
            return q
        faulty, missing = self._decide(now, *contract_key(contract))
        if not faulty:
            if q is not None:
                self._last_quote[contract] = q
            return q
        self._count_once(Fault.STALE_QUOTES, ("quote", contract))
        old = self._last_quote.get(contract)
        if missing or old is None or old.time >= now:
            return None
        return old

    def price(self, root: str) -> PricePoint | None:
        now = self._sync()
        p = self.inner.price(root)
        if not self._stale:
            return p
        faulty, missing = self._decide(now, _PRICE_KEY, _root_key(root))
        if not faulty:
            if p is not None:
                self._last_price[root] = p
            return p
        self._count_once(Fault.STALE_QUOTES, ("price", root))
        old = self._last_price.get(root)
        if missing or old is None or old.time >= now:
            return None
        return old

    def vix(self) -> PricePoint | None:
        now = self._sync()
        v = self.inner.vix()
        if not self._gaps:
            return v
        faulty, missing = self._decide(now, _VIX_KEY)
        if not faulty:
            if v is not None:
                self._last_vix = v
            return v
        self._count_once(Fault.VIX_GAPS, ("vix", block_of(now)))
        old = self._last_vix
        if missing or old is None or old.time >= now:
            return None
        return old

    def chain(self, root: str, min_dte: int, max_dte: int) -> RawChain | None:
        now = self._sync()
        key = (root, min_dte, max_dte)
        if key in self._chains:
            return self._chains[key]
        raw = self.inner.chain(root, min_dte, max_dte)
        if self._stale and raw is not None and len(raw):
            raw = self._fault_chain(now, raw)
        self._chains[key] = raw
        return raw

    def _fault_chain(self, now: datetime, raw: RawChain) -> RawChain:
        expiry = raw.expiry.astype("datetime64[D]").astype(np.int64) + _EPOCH_ORDINAL
        strike = np.rint(raw.strike * 1000.0).astype(np.int64)
        right = np.where(raw.is_call, 1, 2).astype(np.int64)
        block = block_of(now)
        root = _root_key(raw.root)
        u = hashed_uniform(self._seed, block, root, expiry, strike, right)
        faulty = u < self._rate
        n = int(np.count_nonzero(faulty))
        if n == 0:
            return raw
        self.injector.count(Fault.STALE_QUOTES, n)
        choice = hashed_uniform(self._seed, block, _CHOICE_KEY, root, expiry, strike, right)
        missing = faulty & (choice < 0.5)
        stale = faulty & ~missing
        bid = np.where(missing, np.nan, raw.bid)
        ask = np.where(missing, np.nan, raw.ask)
        old = np.datetime64(block_start(now) - STALE_AGE, "s")
        qtime = np.where(stale, old, raw.quote_time.astype("datetime64[s]"))
        return replace(raw, bid=bid, ask=ask, quote_time=qtime)

    # ------------------------------------------------------------------ pass-through
    def now(self) -> datetime:
        return self.inner.now()

    def session_open(self, root: str) -> float | None:
        return self.inner.session_open(root)

    def underlying_price(self, contract: Contract) -> float | None:
        return self.inner.underlying_price(contract)

    def account(self) -> Account:
        return self.inner.account()

    def daily_history(self, root: str, days: int) -> FloatArray:
        return self.inner.daily_history(root, days)

    def atm_iv_history(self, root: str, days: int) -> FloatArray:
        return self.inner.atm_iv_history(root, days)
