"""A tearsheet as one self-contained HTML page: tables and inline SVG charts, no scripts,
no fonts or styles from elsewhere, so it opens offline and can be mailed as one file."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

WIDTH, HEIGHT, PAD = 860, 220, 44
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 920px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; }
td, th { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
svg { display: block; margin: .5em 0; }
.neg { color: #b00020; } .muted { color: #777; }
"""
ATTRIBUTION_BY = ("strategy", "symbol")
"""The ways a report's P&L is attributed."""
SUMMARY_ROWS = (
    ("total return %", "total_return_pct"),
    ("annual return %", "annual_return_pct"),
    ("annual volatility %", "annual_volatility_pct"),
    ("Sharpe", "sharpe"),
    ("Sortino", "sortino"),
    ("max drawdown %", "max_drawdown_pct"),
    ("max drawdown days", "max_drawdown_duration_days"),
    ("Calmar", "calmar"),
    ("beta", "beta"),
    ("alpha % (annual)", "alpha_pct"),
    ("correlation", "correlation"),
    ("exposure %", "exposure_pct"),
    ("turnover (x mean equity)", "turnover"),
    ("final equity", "equity_final"),
)


def number(value: Any, digits: int = 2) -> str:
    """A number for people: thousands separated, `-` when undefined."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def day(ts_ns: int | None) -> str:
    """The UTC date of an instant (`-` for None)."""
    if ts_ns is None:
        return "-"
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).strftime("%Y-%m-%d")


def svg_line(
    ts: list[int], values: list[float | None], title: str, colour: str, *, area: bool = False
) -> str:
    """A line chart (gaps where a value is None) with its range and dates as labels."""
    points = [(t, v) for t, v in zip(ts, values, strict=True) if v is not None]
    head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
    head += f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(title)}">'
    label = f'<text x="{PAD}" y="16" font-size="13">{html.escape(title)}</text>'
    if len(points) < 2:
        return f'{head}{label}<text x="{PAD}" y="60" fill="#777">not enough data</text></svg>'
    t0, t1 = points[0][0], points[-1][0]
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span_t, span_v = (t1 - t0) or 1, (high - low) or 1.0

    def x(t: int) -> float:
        return PAD + (t - t0) / span_t * (WIDTH - 2 * PAD)

    def y(v: float) -> float:
        return HEIGHT - PAD + 10 - (v - low) / span_v * (HEIGHT - PAD - 20)

    path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
    shape = f'<polyline fill="none" stroke="{colour}" stroke-width="1.4" points="{path}"/>'
    if area:
        base = y(min(max(0.0, low), high))
        polygon = f"{x(t0):.1f},{base:.1f} {path} {x(t1):.1f},{base:.1f}"
        shape = (
            f'<polygon fill="{colour}" fill-opacity="0.25" stroke="{colour}" points="{polygon}"/>'
        )
    axis = (
        f'<line x1="{PAD}" y1="{HEIGHT - PAD + 10}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD + 10}" '
        'stroke="#bbb"/>'
        f'<text x="{PAD}" y="{HEIGHT - 12}" font-size="11" fill="#555">{day(t0)}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 12}" font-size="11" fill="#555" '
        f'text-anchor="end">{day(t1)}</text>'
        f'<text x="{PAD - 4}" y="{y(high) + 4:.1f}" font-size="11" fill="#555" '
        f'text-anchor="end">{number(high)}</text>'
        f'<text x="{PAD - 4}" y="{y(low) + 4:.1f}" font-size="11" fill="#555" '
        f'text-anchor="end">{number(low)}</text>'
    )
    return f"{head}{label}{axis}{shape}</svg>"


def table(columns: list[str], rows: list[list[Any]]) -> str:
    """An HTML table of already formatted cells (negative numbers in red)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = ""
    for row in rows:
        cells = ""
        for cell in row:
            text = html.escape(str(cell))
            css = ' class="neg"' if text.startswith("-") and text != "-" else ""
            cells += f"<td{css}>{text}</td>"
        body += f"<tr>{cells}</tr>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def monthly_grid(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Monthly returns as a year x month grid with the year's return at the end."""
    years: dict[int, dict[int, float | None]] = {}
    for row in report["monthly"]:
        years.setdefault(row["year"], {})[row["month"]] = row["return_pct"]
    totals = {row["year"]: row["return_pct"] for row in report["yearly"]}
    rows = [
        [
            str(year),
            *(number(months.get(m)) if m in months else "" for m in range(1, 13)),
            number(totals.get(year)),
        ]
        for year, months in sorted(years.items())
    ]
    return ["year", *MONTHS, "year %"], rows


def render_html(report: dict[str, Any]) -> str:
    """The whole page of one report."""
    summary, series = report["summary"], report["series"]
    bench = report["benchmark"]
    parts = [
        f"<h1>{html.escape(report['title'])}</h1>",
        f'<p class="muted">{day(summary["start_ns"])} to {day(summary["end_ns"])}, '
        f"{summary['points']:,} points; benchmark {html.escape(bench['symbol'])}"
        f"{' (' + html.escape(bench['error']) + ')' if bench.get('error') else ''}</p>",
        f'<p class="muted">{html.escape(summary["too_short"])}</p>'
        if summary.get("too_short")
        else "",
        table(
            ["measure", "value"], [[name, number(summary.get(key))] for name, key in SUMMARY_ROWS]
        ),
        svg_line(series["ts"], series["equity"], "equity", "#1f5fbf"),
        svg_line(series["ts"], series["drawdown_pct"], "drawdown %", "#b00020", area=True),
        svg_line(
            series["ts"],
            series["rolling_sharpe"],
            f"rolling Sharpe ({series['window']} periods)",
            "#2e7d32",
        ),
        svg_line(series["ts"], series["rolling_volatility_pct"], "rolling volatility %", "#6a1b9a"),
        svg_line(
            series["ts"], series["rolling_beta"], f"rolling beta vs {bench['symbol']}", "#ef6c00"
        ),
        "<h2>Monthly returns %</h2>",
        table(*monthly_grid(report)),
        "<h2>Drawdowns</h2>",
        table(*drawdown_rows(report["drawdowns"]["periods"])),
        "<h2>Trades</h2>",
        table(["measure", "value"], trade_rows(report["trades"])),
        "<h2>Attribution</h2>",
        *(table(*attribution_rows(report["attribution"], by)) for by in ATTRIBUTION_BY),
    ]
    if report.get("tca"):
        parts += ["<h2>Transaction costs (bps)</h2>", table(*tca_rows(report["tca"]))]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(report['title'])}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def drawdown_rows(periods: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The drawdown periods, one row each: peak, trough, recovery, depth and length."""
    columns = ["peak", "trough", "recovery", "depth %", "days"]
    rows = [
        [
            day(p["peak_ts"]),
            day(p["trough_ts"]),
            day(p["recovery_ts"]),
            number(p["depth_pct"]),
            number(p["days"], 0),
        ]
        for p in periods
    ]
    return columns, rows


def attribution_rows(attribution: dict[str, Any], by: str) -> tuple[list[str], list[list[Any]]]:
    """P&L attribution by strategy or by symbol (`by`, one of ATTRIBUTION_BY)."""
    columns = [by, "realized", "unrealized", "commission", "trades", "total"]
    rows = [
        [
            r[by],
            number(r["realized"]),
            number(r["unrealized"]),
            number(r["commission"]),
            r["trades"],
            number(r["total"]),
        ]
        for r in attribution[f"by_{by}"]
    ]
    return columns, rows


def trade_rows(trades: dict[str, Any]) -> list[list[Any]]:
    """The trade analysis as (measure, value) rows."""
    rows = [
        ["round trips", trades["trades"]],
        ["win rate %", number(trades["win_rate_pct"])],
        ["profit factor", number(trades["profit_factor"])],
        ["average win", number(trades["avg_win"])],
        ["average loss", number(trades["avg_loss"])],
        ["average holding (days)", number(trades["avg_holding_days"])],
        ["commission", number(trades["commission"])],
    ]
    for name in ("best", "worst"):
        trade = trades.get(name)
        if trade:
            rows.append([f"{name} trade", f"{trade['symbol']} {number(trade['pnl'])}"])
    return rows


def tca_rows(tca: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Costs in bps by symbol and in total."""
    columns = ["", "fills", "notional", "shortfall", "slippage", "fees", "total"]
    rows = [
        [
            row["symbol"],
            row["fills"],
            number(row["notional"]),
            number(row["shortfall_bps"]),
            number(row["slippage_bps"]),
            number(row["fees_bps"]),
            number(row["total_cost_bps"]),
        ]
        for row in tca["by_symbol"]
    ]
    total = tca["summary"]
    rows.append(
        [
            "all",
            total["fills"],
            number(total["notional"]),
            number(total["shortfall_bps"]),
            number(total["slippage_bps"]),
            number(total["fees_bps"]),
            number(total["total_cost_bps"]),
        ]
    )
    return columns, rows
