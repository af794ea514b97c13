"""`bifrost analytics report|list|show`: tearsheets of a backtest run or of the live account."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.output import JSON_HELP, emit_json, print_table, say, say_error
from cli.state import CliState, state_of

app = typer.Typer(help="Tearsheets of backtest runs and of the live account.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def make_report(state: CliState, subject: str, benchmark: str | None) -> dict[str, Any]:
    """Build (and store) a report: in the analytics daemon when it runs, else in-process."""
    from bifrost.analytics.gateway import AnalyticsGateway

    with state.client(retries=0) as client:
        return AnalyticsGateway(state.config, client, state.home).report(subject, benchmark)


HtmlOption = Annotated[
    Path | None, typer.Option("--html", help="Also write a self-contained HTML report.")
]


@app.command("report")
def report(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="A backtest run id (or prefix), or `live`.")],
    benchmark: Annotated[
        str | None, typer.Option("--benchmark", help="Benchmark symbol (default SPY).")
    ] = None,
    html: HtmlOption = None,
    json: JsonOption = False,
) -> None:
    """Returns, drawdowns, rolling Sharpe/volatility/beta, monthly table, trades, costs."""
    output(make_report(state_of(ctx), subject, benchmark), html, json)


@app.command("show")
def show(
    ctx: typer.Context,
    report_id: Annotated[str, typer.Argument(help="A stored report's id (see `list`).")],
    html: HtmlOption = None,
    json: JsonOption = False,
) -> None:
    """A stored report, as it was built."""
    from bifrost.analytics.gateway import AnalyticsGateway

    state = state_of(ctx)
    with state.client(retries=0) as client:
        document = AnalyticsGateway(state.config, client, state.home).show(report_id)
    output(document, html, json)


def output(document: dict[str, Any], html: Path | None, json: bool) -> None:
    """Write the HTML file if asked, then print the report (JSON or tables and charts)."""
    if html is not None:
        from bifrost.analytics.html import render_html
        from bifrost.errors import BadRequest

        try:
            html.write_text(render_html(document), encoding="utf-8")
        except OSError as exc:
            raise BadRequest(f"cannot write {html}: {exc.strerror}") from None
        say(f"wrote {html}")
    if json:
        emit_json(document)
        return
    show_report(document)


@app.command("list")
def list_reports(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    json: JsonOption = False,
) -> None:
    """Stored reports, newest first."""
    from bifrost.analytics.gateway import AnalyticsGateway

    state = state_of(ctx)
    with state.client(retries=0) as client:
        rows = AnalyticsGateway(state.config, client, state.home).list(limit)
    if json:
        emit_json({"reports": rows})
        return
    from bifrost.analytics.html import day

    print_table(
        "reports",
        ["id", "kind", "subject", "created"],
        [[r["report_id"], r["kind"], r["subject"], day(r["created_ns"])] for r in rows],
    )


def show_report(report: dict[str, Any]) -> None:
    """A report in the terminal: tables and an equity / drawdown chart."""
    from bifrost.analytics.html import (
        ATTRIBUTION_BY,
        SUMMARY_ROWS,
        attribution_rows,
        day,
        drawdown_rows,
        monthly_grid,
        number,
        tca_rows,
        trade_rows,
    )

    summary = report["summary"]
    bench = report["benchmark"]
    note = f" ({bench['error']})" if bench.get("error") else ""
    say(
        f"[bold]{report['title']}[/]: {day(summary['start_ns'])} to {day(summary['end_ns'])}, "
        f"benchmark {bench['symbol']}{note}; report {report.get('report_id', '-')}"
    )
    rows = [[name, number(summary.get(key))] for name, key in SUMMARY_ROWS]
    print_table("summary", ["measure", "value"], rows)
    if summary.get("too_short"):
        say_error("[yellow]annualised figures:[/]", summary["too_short"])
    draw_report_chart(report)
    print_table("monthly returns %", *monthly_grid(report))
    print_table("deepest drawdowns", *drawdown_rows(report["drawdowns"]["periods"]))
    print_table("trades", ["measure", "value"], trade_rows(report["trades"]))
    for by in ATTRIBUTION_BY:
        print_table(f"attribution by {by}", *attribution_rows(report["attribution"], by))
    if report.get("tca"):
        print_table("transaction costs (bps; positive is a cost)", *tca_rows(report["tca"]))


def draw_report_chart(report: dict[str, Any]) -> None:
    """Equity above drawdown, as plotext line charts sized to the terminal."""
    import plotext as plt

    from bifrost.clock import format_instant
    from tui.plot_figure import clear_whole_figure

    series = report["series"]
    if len(series["ts"]) < 2:
        say("[dim]not enough points for a chart yet[/]")
        return
    daily = report["summary"]["days"] > 5
    form = "Y-m-d" if daily else "Y-m-d H:M:S"
    dates = [format_instant(ts, date_only=daily) for ts in series["ts"]]
    clear_whole_figure(plt)
    plt.subplots(2, 1)
    for row, key, title in ((1, "equity", "equity"), (2, "drawdown_pct", "drawdown %")):
        plt.subplot(row, 1)
        plt.date_form(form)
        plt.plot(dates, series[key], marker="braille")
        plt.title(title)
    width, height = plt.terminal_size()
    plt.subplot(1, 1).plotsize(width, max(10, int((height or 30) * 0.4)))
    plt.subplot(2, 1).plotsize(width, max(6, int((height or 30) * 0.25)))
    plt.show()


def show_analytics(state: CliState) -> None:
    """The demo's line from the service: the live account's tearsheet and trading costs."""
    import time

    from bifrost.analytics.html import number
    from bifrost.errors import BifrostError

    time.sleep(1.2)  # the data service writes recorded quotes once a second
    try:
        report = make_report(state, "live", None)
    except BifrostError as exc:  # the demo goes on; the reason is shown
        say_error("[yellow]analytics[/]: no live report:", exc.message)
        return
    summary, tca = report["summary"], report.get("tca") or {}
    costs = tca.get("summary") or {}
    say(
        f"[bold]analytics[/]: live equity {number(summary['equity_final'])}, "
        f"{report['trades']['trades']} round trips, {costs.get('fills', 0)} fills; "
        f"shortfall {number(costs.get('shortfall_bps'))} bps vs arrival mid, "
        f"slippage {number(costs.get('slippage_bps'))} bps vs mid, "
        f"fees {number(costs.get('fees_bps'))} bps (report {report['report_id']}; "
        "try `bifrost analytics report live`)"
    )
