"""The backtest report: ``summary.json``, ``trades.csv``, ``equity.png``, ``report.html``.

Portfolio metrics come from empyrical-reloaded over the daily equity series (the broker's net
liquidation value after each session, starting from the starting cash); everything else from the
trading system's :class:`system.results.SystemResults`. :func:`publish` writes into a temporary
directory next to the target and moves it into place, so a failed run leaves no partial results.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import empyrical
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from config.enums import StrategyKey
from execution.ledger import ClosedTrade
from sim.calendar import TIMEZONE
from sim.engine import RunResult
from system.results import StrategyStats

TRADE_COLUMNS: Final = ("position_id", "strategy", "root", "structure", "entry_time", "exit_time",
                        "expiry", "dte_at_entry", "contracts", "legs", "deltas", "entry_price",
                        "exit_price", "pnl", "fees", "slippage", "exit_reason")
SUMMARY_KEYS: Final = ("start", "end", "starting_equity", "final_equity", "total_return", "cagr",
                       "max_drawdown", "sharpe", "sortino", "trades", "win_rate", "strategies",
                       "skips", "rejections", "risk_events", "invariants", "runtime_seconds",
                       "steps")
OUTPUT_FILES: Final = ("summary.json", "trades.csv", "equity.png", "report.html", "run.log")
_TZ: Final = ZoneInfo(TIMEZONE)


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def equity_series(result: RunResult) -> pd.Series:
    """Daily equity (dollars) indexed by session date."""
    days = pd.DatetimeIndex([pd.Timestamp(d) for d, _ in result.equity])
    return pd.Series([v for _, v in result.equity], index=days, dtype=float)


def daily_returns(result: RunResult) -> pd.Series:
    """Simple daily returns; the first is measured from the starting equity."""
    eq = equity_series(result)
    prev = eq.shift(1)
    if len(eq):
        prev.iloc[0] = result.starting_equity
    return (eq / prev - 1.0).astype(float)


def _strategy_row(stats: StrategyStats) -> dict[str, float | int]:
    return {"entries": stats.entries, "exits": stats.exits, "wins": stats.wins,
            "losses": stats.losses, "win_rate": stats.win_rate, "pnl": round(stats.pnl, 2),
            "avg_days_held": round(stats.avg_days_held, 3), "fees": round(stats.fees, 2),
            "slippage": round(stats.slippage, 2)}


def summary(result: RunResult) -> dict[str, object]:
    """The ``summary.json`` mapping (all :data:`SUMMARY_KEYS`, plus ``run``)."""
    res = result.results
    rets = daily_returns(result)
    has = len(rets) > 0
    total = result.final_equity / result.starting_equity - 1.0
    strategies: dict[str, dict[str, float | int]] = {}
    for key in [k.value for k in StrategyKey] + sorted(set(res.strategies) - set(StrategyKey)):
        strategies[key] = _strategy_row(res.strategies.get(key, StrategyStats()))
    wins = sum(1 for t in res.trades if t.pnl > 0)
    inv = res.invariants
    return {
        "start": result.spec.start.isoformat(),
        "end": result.spec.end.isoformat(),
        "starting_equity": round(result.starting_equity, 2),
        "final_equity": round(result.final_equity, 2),
        "total_return": total,
        "cagr": _finite(empyrical.cagr(rets)) if has else None,
        "max_drawdown": _finite(-empyrical.max_drawdown(rets)) if has else None,
        "sharpe": _finite(empyrical.sharpe_ratio(rets)) if has else None,
        "sortino": _finite(empyrical.sortino_ratio(rets)) if has else None,
        "trades": len(res.trades),
        "win_rate": wins / len(res.trades) if res.trades else 0.0,
        "strategies": strategies,
        "skips": {k: dict(v) for k, v in sorted(res.skips.items())},
        "rejections": {k: dict(v) for k, v in sorted(res.rejections.items())},
        "rejections_by_strategy": {k: dict(sorted(v.items()))
                                   for k, v in sorted(res.rejections_by_strategy.items())},
        "risk_events": dict(sorted(res.risk_events.items())),
        "invariants": {
            "naked_short_legs_opened": inv.naked_short_legs_opened,
            "orders_legged": inv.orders_legged,
            "max_bp_utilization": inv.max_bp_utilization,
            "max_positions_per_group": dict(sorted(inv.max_positions_per_group.items())),
            "bp_cap_breaches": inv.bp_cap_breaches,
            "group_limit_breaches": inv.group_limit_breaches,
        },
        "runtime_seconds": round(result.runtime_seconds, 3),
        "steps": result.steps,
        "run": {
            "source": result.spec.label,
            "seed": result.spec.seed,
            "step_minutes": result.spec.step_minutes,
            "sessions": result.sessions,
            "fees_paid": round(result.fees_paid, 2),
            "faults": sorted(f.value for f in result.spec.faults),
            "fault_rate": result.spec.fault_rate if result.spec.faults else 0.0,
            "restart_every_days": result.spec.restart_every_days,
            "shock_days": [d.isoformat() for d in result.shock_days],
        },
    }


def _iso(t: datetime) -> str:
    """ISO 8601 in exchange time with its UTC offset (naive times are exchange time)."""
    aware = t.replace(tzinfo=_TZ) if t.tzinfo is None else t.astimezone(_TZ)
    return aware.isoformat()


def _num(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else ""


def trade_row(t: ClosedTrade) -> list[str]:
    """One ``trades.csv`` row in :data:`TRADE_COLUMNS` order."""
    return [t.position_id, t.strategy, t.root, t.structure, _iso(t.entry_time), _iso(t.exit_time),
            t.expiry.isoformat(), str(t.dte_at_entry), str(t.contracts), ";".join(t.legs),
            ";".join(f"{d:.4f}" for d in t.deltas), _num(t.entry_price), _num(t.exit_price),
            f"{t.pnl:.2f}", f"{t.fees:.2f}", f"{t.slippage:.2f}", t.exit_reason]


def write_trades(trades: Iterable[ClosedTrade], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(TRADE_COLUMNS)
        for t in trades:
            w.writerow(trade_row(t))


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def equity_chart(result: RunResult) -> bytes:
    """PNG: equity (top) and drawdown from the running peak (bottom)."""
    eq = equity_series(result)
    fig = Figure(figsize=(10, 6), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    if len(eq):
        peak = np.maximum.accumulate(np.maximum(eq.to_numpy(), result.starting_equity))
        dd = eq.to_numpy() / peak - 1.0
        ax1.plot(eq.index, eq.to_numpy(), color="#1f4e79", lw=1.2)
        ax2.fill_between(eq.index, dd * 100.0, 0.0, color="#b03a2e", alpha=0.6, lw=0)
    ax1.axhline(result.starting_equity, color="grey", lw=0.8, ls="--")
    ax1.set_ylabel("equity (USD)")
    ax1.set_title(f"Equity and drawdown - {result.spec.label}")
    ax1.grid(alpha=0.3)
    ax2.set_ylabel("drawdown (%)")
    ax2.grid(alpha=0.3)
    return _png(fig)


def market_chart(result: RunResult) -> bytes:
    """PNG: S&P 500 close and VIX close per session."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1 = fig.subplots()
    if result.market:
        days = pd.DatetimeIndex([pd.Timestamp(d) for d, _, _ in result.market])
        ax1.plot(days, [s for _, s, _ in result.market], color="#1f4e79", lw=1.0)
        ax2 = ax1.twinx()
        ax2.plot(days, [v for _, _, v in result.market], color="#b03a2e", lw=0.8)
        ax2.set_ylabel("VIX", color="#b03a2e")
    ax1.set_ylabel("S&P 500", color="#1f4e79")
    ax1.set_title("Market")
    ax1.grid(alpha=0.3)
    return _png(fig)


def risk_chart(result: RunResult) -> bytes:
    """PNG: BP utilisation and the morning's predicted stress loss against the realised change."""
    fig = Figure(figsize=(10, 5), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    daily = result.results.daily
    if daily:
        days = pd.DatetimeIndex([pd.Timestamp(r.day) for r in daily])
        ax1.plot(days, [r.bp_utilization * 100 for r in daily], color="#1f4e79", lw=1.0)
        ax2.plot(days, [-r.stress_worst_loss for r in daily], color="#b03a2e", lw=1.0,
                 label="predicted worst stress P&L (morning)")
        ax2.plot(days, [r.realized_change for r in daily], color="#1f4e79", lw=0.8,
                 label="realised equity change")
        ax2.legend(loc="lower left", fontsize=8)
    ax1.set_ylabel("BP used / NLV (%)")
    ax1.grid(alpha=0.3)
    ax2.set_ylabel("USD")
    ax2.grid(alpha=0.3)
    return _png(fig)


def _fmt(v: object) -> str:
    if isinstance(v, bool) or v is None:
        return "-" if v is None else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return "-" if not math.isfinite(v) else f"{v:,.4f}" if abs(v) < 10 else f"{v:,.2f}"
    return str(v)


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _nested(counts: Mapping[str, Mapping[str, int]], first: str) -> str:
    rows = [(k, reason, n) for k, by in sorted(counts.items()) for reason, n in
            sorted(by.items(), key=lambda kv: -kv[1])]
    if not rows:
        return "<p>None.</p>"
    return _table((first, "reason", "count"), rows)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#222;
max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:0.5em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
img{max-width:100%}.note{color:#555;font-size:0.9em}
.daily{max-height:480px;overflow-y:auto;display:inline-block}
"""


def render_html(result: RunResult, summ: Mapping[str, object], charts: Mapping[str, bytes]) -> str:
    """The self-contained ``report.html``."""
    res = result.results
    pct = ("total_return", "cagr", "max_drawdown", "win_rate")
    def shown(k: str) -> object:
        v = summ[k]
        if k in pct:
            return f"{v * 100:.2f}%" if isinstance(v, float) else "-"
        return v

    headline = [(k, shown(k))
                for k in ("start", "end", "starting_equity", "final_equity", "total_return",
                          "cagr", "max_drawdown", "sharpe", "sortino", "trades", "win_rate",
                          "steps", "runtime_seconds")]
    strat = summ["strategies"]
    assert isinstance(strat, dict)
    srows = [(k, v["entries"], v["exits"], v["wins"], v["losses"],
              f"{v['win_rate'] * 100:.1f}%", v["pnl"],
              (v["pnl"] / v["exits"]) if v["exits"] else 0.0, v["avg_days_held"], v["fees"],
              v["slippage"]) for k, v in strat.items()]
    inv = summ["invariants"]
    assert isinstance(inv, dict)
    inv_rows = [(k, json.dumps(v) if isinstance(v, dict) else v) for k, v in inv.items()]
    events = sorted(res.risk_events.items())
    daily_rows = [(r.day.isoformat(), r.regime.name, r.equity, f"{r.bp_utilization * 100:.1f}%",
                   r.stress_worst_loss, r.stress_scenario, r.realized_change, r.open_positions)
                  for r in res.daily]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Backtest report - {html.escape(result.spec.label)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Backtest report - {html.escape(result.spec.label)}</h1>",
        f"<p class='note'>{result.spec.start} to {result.spec.end}, seed {result.spec.seed}, "
        f"{result.spec.step_minutes}-minute bars, {result.sessions} sessions. "
        + (f"Scripted shock days: {', '.join(d.isoformat() for d in result.shock_days)}. "
           if result.shock_days else "")
        + "Synthetic market: see docs/SIM.md for the model and its approximations.</p>",
        "<h2>Summary</h2>", _table(("metric", "value"), headline),
        "<h2>Equity and drawdown</h2>", _img(charts["equity"], "equity and drawdown"),
        "<h2>Market</h2>", _img(charts["market"], "S&P 500 and VIX"),
        "<h2>Strategies</h2>",
        _table(("strategy", "entries", "exits", "wins", "losses", "win rate", "P&L",
                "avg P&L", "avg days held", "fees", "slippage"), srows),
        "<h2>Risk events</h2>",
        _table(("event", "count"), events) if events else "<p>None.</p>",
        "<h2>Skips (strategy, reason)</h2>", _nested(res.skips, "strategy"),
        "<h2>Rejections (check, reason)</h2>", _nested(res.rejections, "check"),
        "<h2>Rejections by strategy (strategy, check/reason)</h2>",
        _nested(res.rejections_by_strategy, "strategy"),
        "<h2>Invariants</h2>", _table(("invariant", "value"), inv_rows),
        "<h2>Buying power and stress</h2>", _img(charts["risk"], "BP utilisation and stress"),
        "<h2>Daily stress check</h2>",
        "<p class='note'>The morning's predicted worst stress-scenario loss of the book "
        "(positive = loss) beside the day's realised equity change.</p>",
        "<div class='daily'>",
        _table(("day", "regime", "equity", "BP used", "predicted worst loss", "scenario",
                "realised change", "open positions"), daily_rows) if daily_rows
        else "<p>No daily records.</p>",
        "</div></body></html>",
    ]
    return "\n".join(parts)


def write_report(result: RunResult, directory: Path) -> dict[str, object]:
    """Write every output file into ``directory`` (which must exist); returns the summary."""
    summ = summary(result)
    (directory / "summary.json").write_text(json.dumps(summ, indent=2, allow_nan=False) + "\n",
                                            encoding="utf-8")
    write_trades(result.results.trades, directory / "trades.csv")
    charts = {"equity": equity_chart(result), "market": market_chart(result),
              "risk": risk_chart(result)}
    (directory / "equity.png").write_bytes(charts["equity"])
    (directory / "report.html").write_text(render_html(result, summ, charts), encoding="utf-8")
    (directory / "run.log").write_text("\n".join(result.log) + ("\n" if result.log else ""),
                                       encoding="utf-8")
    return summ


def staging_dir(out: Path) -> Path:
    """A fresh temporary directory next to ``out`` (same file system, so moves are renames)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))


def publish(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging`` (the old directory is removed only after the move)."""
    old: Path | None = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        old.rmdir()
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_outputs(out: Path, produce: Callable[[Path], RunResult]) -> tuple[RunResult,
                                                                           dict[str, object]]:
    """Run ``produce(staging)`` and write the report into a staging directory, then move it to
    ``out``; on any failure the staging directory is removed and ``out`` is left untouched."""
    staging = staging_dir(out)
    try:
        result = produce(staging)
        summ = write_report(result, staging)
        publish(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result, summ


def text_summary(summ: Mapping[str, object]) -> str:
    """A plain-text table of the headline figures and the per-strategy results."""

    def pct(key: str) -> str:
        v = summ.get(key)
        return f"{v * 100:.2f}%" if isinstance(v, float) else "-"

    def num(key: str, fmt: str = ",.2f") -> str:
        v = summ.get(key)
        return format(v, fmt) if isinstance(v, int | float) else "-"

    run = summ.get("run")
    label = run.get("source", "") if isinstance(run, dict) else ""
    lines = [
        f"Backtest {label}: {summ['start']} .. {summ['end']}",
        f"  starting equity  {num('starting_equity'):>14}",
        f"  final equity     {num('final_equity'):>14}",
        f"  total return     {pct('total_return'):>14}",
        f"  CAGR             {pct('cagr'):>14}",
        f"  max drawdown     {pct('max_drawdown'):>14}",
        f"  Sharpe           {num('sharpe', '.2f'):>14}",
        f"  Sortino          {num('sortino', '.2f'):>14}",
        f"  trades           {num('trades', ',d'):>14}",
        f"  win rate         {pct('win_rate'):>14}",
        f"  steps            {num('steps', ',d'):>14}",
        f"  runtime (s)      {num('runtime_seconds', ',.1f'):>14}",
        "",
        f"  {'strategy':<18}{'entries':>8}{'exits':>7}{'wins':>6}{'losses':>7}{'win%':>7}"
        f"{'P&L':>13}{'days':>7}{'fees':>10}",
    ]
    strat = summ.get("strategies")
    if isinstance(strat, dict):
        for key, v in strat.items():
            lines.append(f"  {key:<18}{v['entries']:>8}{v['exits']:>7}{v['wins']:>6}"
                         f"{v['losses']:>7}{v['win_rate'] * 100:>6.1f}%{v['pnl']:>13,.2f}"
                         f"{v['avg_days_held']:>7.1f}{v['fees']:>10,.2f}")
    lines.extend(_why_not_lines(summ))
    events = summ.get("risk_events")
    if isinstance(events, dict) and events:
        lines.append("")
        lines.append("  risk events: " + ", ".join(f"{k} {v}" for k, v in events.items()))
    return "\n".join(lines)


def _why_not_lines(summ: Mapping[str, object]) -> list[str]:
    """For every strategy with fewer than three entries, its most frequent skip and rejection
    reasons, so a strategy that did not trade says why."""
    strat, skips = summ.get("strategies"), summ.get("skips")
    rejections = summ.get("rejections_by_strategy")
    if not isinstance(strat, dict):
        return []
    out: list[str] = []
    for key, v in strat.items():
        if not isinstance(v, dict) or v.get("entries", 0) >= 3:
            continue
        reasons: dict[str, int] = {}
        for source in (skips, rejections):
            got = source.get(key) if isinstance(source, dict) else None
            if isinstance(got, dict):
                reasons.update({str(r): int(n) for r, n in got.items()})
        top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        text = ", ".join(f"{r} {n}" for r, n in top) if top else "no rule fired"
        out.append(f"  {key} entered {v.get('entries', 0)}x; most frequent reasons: {text}")
    if out:
        out.insert(0, "")
    return out
