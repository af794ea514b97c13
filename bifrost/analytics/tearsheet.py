"""A tearsheet: one JSON-ready report of an equity curve, its trades, costs and benchmark.

`build_report` is pure: `sources` gathers a `TearsheetInput` for a backtest run or the
live account, this turns it into the stored, printed and charted report. Numbers that
are undefined (too few points, no losses, no benchmark) are None. Series are thinned
to at most `MAX_POINTS` evenly spaced points; every statistic uses the full curve.

    annual_return_pct  CAGR over calendar days, as in backtests (None when too short)
    turnover         traded notional / mean equity over the whole period
    annual_turnover  turnover / years (calendar days / 365.25; None when too short)
    exposure_pct     share of points with a position held (`exposed`)
    too_short        why the annualised figures are None, or None when they are given

Annualised figures (annual return and turnover, volatility, Sharpe, Sortino, alpha, Calmar
and the rolling Sharpe and volatility) need a curve of at least MIN_ANNUALIZED_DAYS
calendar days and MIN_ANNUALIZED_RETURNS returns. Scaling a few minutes of a live account
to a year turns noise into a Sharpe of -126; a month of daily returns is the least over
which a yearly figure says anything (a Sharpe ratio from n returns has a standard error
of about sqrt(1/n) per period: from 20 daily returns about 3.5 a year, already larger
than any plausible Sharpe).
Under that span the report gives the total return, drawdowns, beta and correlation, and
says in `too_short` that the span is too short for the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bifrost.analytics.returns import (
    align_benchmark,
    benchmark_stats,
    calendar_returns,
    drawdowns,
    risk_stats,
    rolling_stats,
    rolling_window,
    simple_returns,
)
from bifrost.analytics.trades import Lot, attribution, trade_analysis
from bifrost.backtest.stats import DAYS_PER_YEAR, NS_PER_DAY, infer_periods_per_year
from bifrost.errors import NotFound

MAX_POINTS = 1500
"""Most points of each series in a report (enough for any chart a terminal or page draws)."""
MIN_ANNUALIZED_DAYS = 30.0
"""A shorter curve has no annualised figure: compounding minutes to a year is noise."""
MIN_ANNUALIZED_RETURNS = 20
"""Nor has a curve of fewer returns, however long (a few points a month apart)."""
ANNUALISED_RISK = ("annual_volatility_pct", "sharpe", "sortino")


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A benchmark's closes (int ns UTC, increasing) or why there are none."""

    symbol: str
    ts: np.ndarray | None = None
    close: np.ndarray | None = None
    error: str | None = None


@dataclass(frozen=True)
class TearsheetInput:
    """Everything a report is made from, whatever its subject."""

    kind: str
    """"run" (a backtest) or "live" (the account)."""
    subject: str
    title: str
    ts: np.ndarray
    equity: np.ndarray
    exposed: np.ndarray
    trades: list[dict[str, Any]]
    traded_notional: float
    benchmark: Benchmark
    lots: list[Lot] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    tca: dict[str, Any] | None = None
    periods_per_year: float | None = None


def build_report(source: TearsheetInput, created_ns: int) -> dict[str, Any]:
    """The report of `source` (see the module doc); NotFound when it has no equity."""
    ts = np.asarray(source.ts, dtype=np.int64)
    equity = np.asarray(source.equity, dtype=np.float64)
    if len(ts) == 0:
        raise NotFound(f"{source.title}: no equity recorded yet, nothing to report")
    ppy = source.periods_per_year or infer_periods_per_year(ts)
    returns = simple_returns(equity)
    bench_close, bench_info = _benchmark(source.benchmark, ts)
    bench_returns = simple_returns(bench_close) if bench_close is not None else None
    window = rolling_window(len(returns))
    rolling = rolling_stats(returns, bench_returns, window, ppy)
    too_short = span_too_short(ts, returns)
    if too_short:
        rolling = {k: np.full(len(v), math.nan) if k != "beta" else v for k, v in rolling.items()}
    down = drawdowns(ts, equity)
    summary = _summary(source, ts, equity, ppy, returns, bench_returns, down, too_short)
    points = _thin(len(ts))
    report = {
        "kind": source.kind,
        "subject": source.subject,
        "title": source.title,
        "created_ns": created_ns,
        "benchmark": bench_info,
        "summary": summary,
        "drawdowns": {k: v for k, v in down.items() if k != "underwater_pct"},
        **calendar_returns(ts, equity),
        "trades": trade_analysis(source.trades),
        "attribution": attribution(source.trades, source.lots, source.marks),
        "exposure": _exposure(source),
        "tca": source.tca,
        "series": {
            "window": window,
            "ts": ts[points],
            "equity": equity[points],
            "drawdown_pct": down["underwater_pct"][points],
            # returns start at the second point: pad so every series lines up with ts
            **{
                f"rolling_{name}": np.concatenate(([math.nan], values))[points]
                for name, values in rolling.items()
            },
        },
    }
    return jsonable(report)


def _benchmark(bench: Benchmark, ts: np.ndarray) -> tuple[np.ndarray | None, dict[str, Any]]:
    info: dict[str, Any] = {"symbol": bench.symbol, "error": bench.error}
    if bench.ts is None or bench.close is None or len(bench.ts) == 0:
        info["error"] = bench.error or f"no bars for {bench.symbol}"
        return None, info
    aligned = align_benchmark(ts, bench.ts, bench.close)
    known = aligned[np.isfinite(aligned)]
    info["return_pct"] = 100.0 * (known[-1] / known[0] - 1.0) if len(known) >= 2 else None
    return aligned, info


def span_too_short(ts: np.ndarray, returns: np.ndarray) -> str | None:
    """Why the curve is too short for annualised figures, or None when it is long enough."""
    days = (int(ts[-1]) - int(ts[0])) / NS_PER_DAY
    count = int(np.isfinite(returns).sum())
    if days >= MIN_ANNUALIZED_DAYS and count >= MIN_ANNUALIZED_RETURNS:
        return None
    span = f"{days:.1f} days" if days >= 1 else f"{days * 24 * 60:.0f} minutes"
    return (
        f"the span is too short to annualise: {span} and {count} returns "
        f"(at least {MIN_ANNUALIZED_DAYS:g} days and {MIN_ANNUALIZED_RETURNS} returns needed)"
    )


def _summary(
    source: TearsheetInput,
    ts: np.ndarray,
    equity: np.ndarray,
    ppy: float,
    returns: np.ndarray,
    bench_returns: np.ndarray | None,
    down: dict[str, Any],
    too_short: str | None,
) -> dict[str, Any]:
    days = (int(ts[-1]) - int(ts[0])) / NS_PER_DAY
    growth = equity[-1] / equity[0] if equity[0] else math.nan
    annualize = too_short is None
    cagr = 100.0 * (growth ** (DAYS_PER_YEAR / days) - 1.0) if annualize and growth > 0 else None
    mean_equity = float(np.mean(equity))
    turnover = source.traded_notional / mean_equity if mean_equity else math.nan
    exposed = np.asarray(source.exposed, dtype=bool)
    summary = {
        "start_ns": int(ts[0]),
        "end_ns": int(ts[-1]),
        "days": days,
        "points": len(ts),
        "periods_per_year": ppy,
        "equity_start": float(equity[0]),
        "equity_final": float(equity[-1]),
        "total_return_pct": 100.0 * (growth - 1.0),
        "annual_return_pct": cagr,
        **(risk_stats(returns, ppy) if annualize else dict.fromkeys(ANNUALISED_RISK)),
        "max_drawdown_pct": down["max_drawdown_pct"],
        "max_drawdown_duration_days": down["max_duration_days"],
        "calmar": cagr / abs(down["max_drawdown_pct"])
        if cagr and down["max_drawdown_pct"]
        else None,
        "exposure_pct": 100.0 * float(exposed.mean()) if len(exposed) else None,
        "traded_notional": source.traded_notional,
        "turnover": turnover,
        "annual_turnover": turnover / (days / DAYS_PER_YEAR) if annualize else None,
        "too_short": too_short,
    }
    if bench_returns is not None:
        summary.update(benchmark_stats(returns, bench_returns, ppy))
        if not annualize:
            summary["alpha_pct"] = None
    else:
        summary.update({"beta": None, "alpha_pct": None, "correlation": None})
    return summary


def _exposure(source: TearsheetInput) -> dict[str, Any]:
    """Open positions now (from the open lots, at the marks) with gross and net value."""
    held: dict[str, float] = {}
    for lot in source.lots:
        held[lot.symbol] = held.get(lot.symbol, 0.0) + lot.quantity
    rows: list[dict[str, Any]] = []
    for symbol, quantity in sorted(held.items()):
        mark = source.marks.get(symbol)
        value = None if mark is None else quantity * mark
        rows.append({"symbol": symbol, "quantity": quantity, "mark": mark, "value": value})
    values = [r["value"] for r in rows if r["value"] is not None]
    return {
        "positions": rows,
        "gross": float(sum(abs(v) for v in values)),
        "net": float(sum(values)),
    }


def _thin(n: int) -> np.ndarray:
    """Indices of at most MAX_POINTS evenly spaced points, first and last included."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(np.int64))


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays unwrapped, NaN and +-inf as None."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    return value
