"""Shared fixtures: one trading calendar per session, a fresh market environment per test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from sim.calendar import TradingCalendar
from sim.engine import Environment, RunSpec, build_environment, calendar_for

SPEC = RunSpec(date(2022, 1, 3), date(2022, 12, 30))


@pytest.fixture(scope="session")
def calendar() -> TradingCalendar:
    return calendar_for(SPEC)


@pytest.fixture()
def make_env(calendar: TradingCalendar) -> Callable[..., Environment]:
    def make(scenario: str = "normal", seed: int = 1, cash: float = 100_000.0) -> Environment:
        spec = RunSpec(SPEC.start, SPEC.end, cash=cash, seed=seed, scenario=scenario)
        return build_environment(spec, cal=calendar)

    return make


def advance_to(env: Environment, when: datetime) -> None:
    """Advance the market bar by bar from where it is (or the first session) up to ``when``."""
    try:
        current: datetime | None = env.market.now()
    except RuntimeError:
        current = None
    for day in env.sessions:
        if day > when.date():
            break
        if current is not None and day < current.date():
            continue
        for t in env.cal.bar_times(day, env.spec.step_minutes):
            if t > when:
                return
            if current is None or t > current:
                env.market.advance(t)
