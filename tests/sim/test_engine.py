"""Run loop and command line: call order, rule timing, fills, outputs, argument errors."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path

import pytest

import sim.engine
from config.enums import ScheduleKind
from config.model import Schedule
from execution.types import EventKind
from sim.calendar import TradingCalendar
from sim.cli import main
from sim.engine import RunSpec, build_environment, due_rules, run
from sim.store import FileStore
from strategies.schedule import rule_fires
from system.ports import Broker, Market, Store
from tests.sim.builders import STUB_RULE, StubSystem, stub_factory


def _run(calendar: TradingCalendar, tmp_path: Path, start: date, end: date,
         step: int = 5) -> tuple[sim.engine.RunResult, StubSystem]:
    spec = RunSpec(start, end, step_minutes=step)
    env = build_environment(spec, cal=calendar)
    made: list[StubSystem] = []

    def factory(*args: object) -> StubSystem:
        system = stub_factory(*args)  # type: ignore[arg-type]
        made.append(system)
        return system

    result = run(spec, tmp_path / "state", env=env, system_factory=factory, fires=rule_fires,
                 progress=False)
    return result, made[0]


def test_run_when_two_weeks_then_every_bar_once_and_lifecycle_calls(
        calendar: TradingCalendar, tmp_path: Path) -> None:
    result, system = _run(calendar, tmp_path, date(2022, 4, 4), date(2022, 4, 19))
    sessions = calendar.sessions(date(2022, 4, 4), date(2022, 4, 19))
    bars = [t for d in sessions for t in calendar.bar_times(d, 5)]
    assert system.bars == bars
    assert result.steps == len(bars)
    assert [t.date() for t in system.session_ends] == list(sessions)
    assert system.started == 1 and system.ended == 1
    assert [d for d, _ in result.equity] == list(sessions)


def test_run_when_weekly_rule_then_fires_fridays_at_first_bar_at_or_after_time_with_roll(
        calendar: TradingCalendar, tmp_path: Path) -> None:
    _, system = _run(calendar, tmp_path, date(2022, 4, 4), date(2022, 4, 19), step=7)
    fired = [t for t, rule in system.rules if rule == STUB_RULE]
    # Good Friday 15 April is a holiday: the rule rolls to Monday 18 April
    assert fired == [datetime(2022, 4, 8, 10, 5), datetime(2022, 4, 18, 10, 5)]


def test_run_when_orders_submitted_then_fills_delivered_one_event_per_leg(
        calendar: TradingCalendar, tmp_path: Path) -> None:
    result, system = _run(calendar, tmp_path, date(2022, 1, 3), date(2022, 1, 21))
    fills = [e for e in system.events if e.kind is EventKind.FILL]
    assert system.orders and len(fills) == 2 * len(system.orders)
    assert len({e.event_id for e in system.events}) == len(system.events)
    assert result.fees_paid == pytest.approx(2.0 * len(system.orders))


def test_run_when_same_inputs_then_same_equity(calendar: TradingCalendar,
                                               tmp_path: Path) -> None:
    a, _ = _run(calendar, tmp_path / "a", date(2022, 1, 3), date(2022, 1, 21), step=15)
    b, _ = _run(calendar, tmp_path / "b", date(2022, 1, 3), date(2022, 1, 21), step=15)
    assert a.equity == b.equity


def test_due_rules_when_rule_after_early_close_then_not_fired(
        calendar: TradingCalendar) -> None:
    day = date(2022, 11, 25)
    rules = (Schedule("late", ScheduleKind.DAILY, time(15, 45)),
             Schedule("early", ScheduleKind.DAILY, time(10, 0)))
    due = due_rules(rules, day, calendar.bar_times(day, 5), calendar.is_trading_day, rule_fires)
    assert due == {6: ["early"]}


@pytest.mark.parametrize(("args", "names"), [
    (["--start", "2022-13-01"], ["--start", "2022-13-01"]),
    (["--cash", "-5"], ["--cash", "-5"]),
    (["--step-minutes", "0"], ["--step-minutes", "0"]),
    (["--seed", "x"], ["--seed", "x"]),
    (["--scenario", "bogus"], ["--scenario", "bogus"]),
    (["--start", "2022-05-01", "--end", "2022-04-01"], ["--end", "2022-04-01"]),
    (["--underlying-csv", "missing.csv", "--vix-csv", "missing.csv"],
     ["--underlying-csv", "missing.csv"]),
    (["--start", "2022-12-24", "--end", "2022-12-26"], ["--start", "2022-12-24"]),
])
def test_cli_when_argument_invalid_then_exit_2_naming_argument_and_value(
        args: list[str], names: list[str], capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*args, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert all(n in err for n in names), err
    assert not (tmp_path / "out").exists()


def test_cli_when_only_one_csv_then_exit_2(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "spx.csv"
    f.write_text("date,open,high,low,close\n")
    with pytest.raises(SystemExit) as exc:
        main(["--underlying-csv", str(f), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "--vix-csv" in capsys.readouterr().err


def test_cli_when_run_completes_then_outputs_and_printed_summary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sim.engine, "default_system_factory", stub_factory)
    out = tmp_path / "reports" / "latest"
    code = main(["--scenario", "calm", "--start", "2022-01-03", "--end", "2022-01-14",
                 "--step-minutes", "30", "--seed", "3", "--cash", "50000", "--out", str(out),
                 "--quiet"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["starting_equity"] == 50_000.0 and summary["start"] == "2022-01-03"
    assert summary["steps"] == 10 * 14
    printed = capsys.readouterr().out
    assert "final equity" in printed and str(out) in printed
    assert sorted(p.name for p in out.parent.iterdir()) == ["latest"]


def test_run_spec_when_invalid_then_value_error() -> None:
    with pytest.raises(ValueError, match="step_minutes"):
        RunSpec(date(2022, 1, 3), date(2022, 2, 1), step_minutes=90)
    with pytest.raises(ValueError, match="scenario"):
        RunSpec(date(2022, 1, 3), date(2022, 2, 1), scenario="nope")



def test_cli_when_user_data_then_runs_on_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            calendar: TradingCalendar) -> None:
    monkeypatch.setattr(sim.engine, "default_system_factory", stub_factory)
    days = calendar.sessions(date(2021, 12, 20), date(2022, 1, 14))
    spx = ["date,open,high,low,close"] + [
        f"{d},{4700 + i},{4720 + i},{4690 + i},{4705 + i}" for i, d in enumerate(days)]
    vix = ["date,close"] + [f"{d},{17 + 0.1 * i:.1f}" for i, d in enumerate(days)]
    (tmp_path / "spx.csv").write_text("\n".join(spx) + "\n")
    (tmp_path / "vix.csv").write_text("\n".join(vix) + "\n")
    out = tmp_path / "out"
    code = main(["--underlying-csv", str(tmp_path / "spx.csv"), "--vix-csv",
                 str(tmp_path / "vix.csv"), "--start", "2022-01-03", "--end", "2022-01-14",
                 "--step-minutes", "30", "--out", str(out), "--quiet"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert "user data" in summary["run"]["source"]


def test_ports_when_sim_objects_then_implement_market_broker_store(
        calendar: TradingCalendar, tmp_path: Path) -> None:
    env = build_environment(RunSpec(date(2022, 1, 3), date(2022, 1, 31)), cal=calendar)
    market: Market = env.market
    broker: Broker = env.broker
    store: Store = FileStore(tmp_path)
    assert broker.holdings() == {}
    store.save("k", "v")
    assert store.load("k") == "v"
    market_now = env.cal.bar_times(date(2022, 1, 3), 5)[0]
    env.market.advance(market_now)
    assert market.now() == market_now
    assert market.account().nlv == pytest.approx(100_000.0)


class _SavingStub(StubSystem):
    """Saves the bar time at every bar and records what the state directory holds on disk at
    each session's first bar."""

    on_disk: list[tuple[datetime, str | None]]

    def on_bar(self, now: datetime) -> None:
        if not self.bars or self.bars[-1].date() != now.date():
            disk = FileStore(self.store.directory).load("probe")
            self.on_disk.append((now, disk))
        super().on_bar(now)
        self.store.save("probe", now.isoformat())


def test_run_when_state_saved_every_bar_then_written_every_few_sessions_and_at_end(
        calendar: TradingCalendar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim.engine, "STORE_FLUSH_SESSIONS", 2)
    spec = RunSpec(date(2022, 4, 4), date(2022, 4, 8))
    made: list[_SavingStub] = []

    def factory(*args: object) -> _SavingStub:
        system = _SavingStub(*args)  # type: ignore[arg-type]
        system.on_disk = []
        made.append(system)
        return system

    run(spec, tmp_path / "state", env=build_environment(spec, cal=calendar),
        system_factory=factory, fires=rule_fires, progress=False)

    (system,) = made
    closes = [calendar.bar_times(d, 5)[-1].isoformat()
              for d in calendar.sessions(spec.start, spec.end)]
    assert len(closes) == 5
    assert [disk for _, disk in system.on_disk] == [None, None, closes[1], closes[1], closes[3]]
    assert FileStore(tmp_path / "state").load("probe") == closes[-1]
