"""Builders for the reliability tests: short offline runs and a recording trading system."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from config import load_config
from config.enums import BreakerLevel, Engine
from config.model import Config
from execution.types import FillEvent, Position
from sim.broker import SimBroker
from sim.calendar import TradingCalendar
from sim.engine import RunResult, RunSpec, build_environment, calendar_for, run
from sim.faults import Fault
from sim.store import FileStore
from system.ports import Market
from system.trading_system import TradingSystem

# Risk settings that let the system carry a book into a shock (the defaults keep it so small that
# no breaker fires): larger risk budget, stress limit and caps. Set through the same parameter
# overlay as LEAN parameters / ``python -m sim --param``.
AGGRESSIVE: Mapping[str, str] = {
    "sizing.max_risk_fraction": "0.25",
    "sizing.kelly_fraction": "0.99",
    "stress.max_loss_nlv": "0.95",
    "stress.max_strategy_share": "1.0",
    "friday_0dte.caps": "4,4,8,8",
    "leap_put_ladder.caps": "10,10,10,10",
    "lt112.caps": "4,4,4,4",
}


@dataclass(frozen=True, slots=True)
class BarRecord:
    """What the recording system saw after one ``on_bar``."""

    now: datetime
    level: BreakerLevel
    drawdown: float | None
    vix: float | None
    open_ids: tuple[str, ...]
    working_ids: tuple[str, ...]
    flatten_requested_before: bool


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """A position that appeared in the book, with the group count and limit at that moment."""

    now: datetime
    position: Position
    vix: float | None
    group: str
    trades_in_group: int
    limit: int


@dataclass(slots=True)
class Recorder:
    """Shared by every :class:`RecordingSystem` of a run (restarts build new ones)."""

    bars: list[BarRecord] = field(default_factory=list)
    entries: list[EntryRecord] = field(default_factory=list)
    systems: int = 0


class RecordingSystem(TradingSystem):
    """:class:`TradingSystem` that records breaker levels, positions and working orders after
    every bar, and each new position's correlation-group count, for assertions."""

    def __init__(self, config: Config, market: Market, broker: SimBroker, store: FileStore,
                 log: Callable[[str], None], recorder: Recorder) -> None:
        super().__init__(config, market, broker, store, engine=Engine.OFFLINE, log=log)
        self.recorder = recorder
        recorder.systems += 1
        self._known: set[str] = set()

    def on_bar(self, now: datetime) -> None:
        flatten = self.breakers.flatten_requested
        super().on_bar(now)
        self._record_entries(now)
        self.recorder.bars.append(BarRecord(
            now, self.breakers.level, self.breakers.drawdown, self.vix.value(now),
            tuple(p.position_id for p in self.positions()),
            tuple(p.position_id for p in self.positions()
                  if self.executor.is_working(p.position_id)), flatten))

    def on_fill(self, event: FillEvent) -> None:
        super().on_fill(event)
        self._record_entries(self.market.now())

    def _record_entries(self, now: datetime) -> None:
        book = self.positions()
        for p in book:
            if p.position_id in self._known or p.structure == "legged_remainder":
                continue
            self._known.add(p.position_id)
            if p.parent_id is not None:
                continue
            group = self.correlation.group_of(p.root)
            if group is None:
                continue
            trades = {f"{q.key.value}:{q.root}" if self.config.strategies.common(q.key).scales_in
                      else q.position_id for q in book
                      if q.parent_id is None and q.structure != "legged_remainder"
                      and self.correlation.group_of(q.root) == group}
            vix = self.vix.value(now)
            self.recorder.entries.append(EntryRecord(
                now, p, vix, group.name, len(trades),
                self.correlation.limit(group, self.phases.phase, vix)))


def recording_factory(recorder: Recorder) -> Callable[..., RecordingSystem]:
    def make(config: Config, market: Market, broker: SimBroker, store: FileStore,
             log: Callable[[str], None]) -> RecordingSystem:
        return RecordingSystem(config, market, broker, store, log, recorder)

    return make


YEAR_START = date(2022, 1, 3)
YEAR_END = date(2022, 12, 30)


@functools.cache
def calendar_2022() -> TradingCalendar:
    """One calendar for every run inside 2022 (building one takes a while)."""
    return calendar_for(RunSpec(YEAR_START, YEAR_END))


def short_run(tmp: Path, start: date, end: date, *, scenario: str = "normal", seed: int = 1,
              step: int = 15, faults: frozenset[Fault] = frozenset(), rate: float = 0.0,
              restart_every_days: int = 0, params: Mapping[str, str] | None = None,
              recorder: Recorder | None = None) -> RunResult:
    """One offline run of the real trading system (``recorder``: a recording one)."""
    spec = RunSpec(start, end, seed=seed, step_minutes=step, scenario=scenario, faults=faults,
                   fault_rate=rate, restart_every_days=restart_every_days)
    cal = calendar_2022() if start >= YEAR_START and end <= YEAR_END else None
    env = build_environment(spec, config=load_config(dict(params or {})), cal=cal)
    factory = recording_factory(recorder) if recorder is not None else None
    return run(spec, tmp / "state", env=env, system_factory=factory, progress=False)
