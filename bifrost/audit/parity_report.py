"""A parity report for people: the summary rows, the divergence rows and a self-contained
HTML page (no scripts, no external files; every value escaped)."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from bifrost.audit.parity import ParityReport


def when(ts_ns: int | None) -> str:
    """UTC time of `ts_ns` to the second ("" for none)."""
    if ts_ns is None:
        return ""
    return dt.datetime.fromtimestamp(ts_ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def summary_rows(report: ParityReport) -> list[tuple[str, str]]:
    """The audit in a few label-value rows."""
    causes = ", ".join(f"{cause} {n}" for cause, n in sorted(report.causes().items()))
    return [
        ("strategy", f"{report.strategy_id} ({report.strategy} {report.params})"),
        ("symbols", f"{', '.join(report.symbols)} {report.timeframe}, {report.bars} bars"),
        (
            "orders",
            f"{report.live_orders} live, {report.backtest_orders} backtest, "
            f"{report.matched_orders} paired",
        ),
        ("fills", f"{report.live_fills} live, {report.backtest_fills} backtest"),
        (
            "P&L",
            f"{report.live_pnl:,.2f} live, {report.backtest_pnl:,.2f} backtest, "
            f"difference {report.live_pnl - report.backtest_pnl:,.2f}",
        ),
        ("verdict", "parity" if report.parity else f"{len(report.divergences)} divergences"),
        ("causes", causes or "none"),
    ]


def divergence_rows(report: ParityReport) -> list[list[Any]]:
    """One row per divergence: time, kind, cause, symbol, detail."""
    return [[when(d.ts), d.kind, d.cause, d.symbol, d.detail] for d in report.divergences]


def render_html(report: ParityReport) -> str:
    """The report as one HTML page."""
    summary = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in summary_rows(report)
    )
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in divergence_rows(report)
    )
    verdict = "Parity" if report.parity else "Divergences found"
    body = (
        f"<table><tr><th>time (UTC)</th><th>kind</th><th>cause</th><th>symbol</th>"
        f"<th>detail</th></tr>{rows}</table>"
        if rows
        else "<p>Live matched the backtest within the cost model.</p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Parity audit {escape(report.strategy_id)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>Parity audit: {escape(report.strategy_id)}</h1><h2>{verdict}</h2>"
        f"<table>{summary}</table><h2>Divergences</h2>{body}</body></html>"
    )
