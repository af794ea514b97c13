"""`bifrost data import|fetch|list|bars|chart|validate|replay|sample|quarantine`: the bar
store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.commands.data_fetch import fetch
from cli.commands.data_quarantine import app as quarantine_app
from cli.output import JSON_HELP, emit_json, literal, print_table, say
from cli.state import CliState, state_of

if TYPE_CHECKING:
    from bifrost.market.gateway import DataGateway

app = typer.Typer(
    help="Market data: import, query, validate, chart and replay bars.", no_args_is_help=True
)
app.add_typer(quarantine_app, name="quarantine")
app.command("fetch")(fetch)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
TimeframeOption = Annotated[str, typer.Option("--timeframe", "-t", help="1m, 5m, 1h, 1d, ...")]
StartOption = Annotated[str | None, typer.Option(help="First date/time (ISO, UTC), inclusive.")]
EndOption = Annotated[str | None, typer.Option(help="Last date/time (ISO, UTC), exclusive.")]


def gateway(state: CliState) -> DataGateway:
    """The data gateway (daemon when it runs, else the file)."""
    from bifrost.market.gateway import DataGateway

    return DataGateway(state.client(timeout_ms=3000), state.home)


def instants(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """--start/--end as int ns; a bad value is a usage error naming the option."""
    from bifrost.clock import parse_instant

    out = []
    for name, text in (("--start", start), ("--end", end)):
        try:
            out.append(parse_instant(text) if text else None)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=name) from None
    return out[0], out[1]


@app.command("import")
def import_(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(help="CSV or Parquet files.", exists=True, dir_okay=False, readable=True),
    ],
    symbol: Annotated[
        str | None, typer.Option(help="Symbol (default: file column or name).")
    ] = None,
    timeframe: TimeframeOption = "1d",
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or parquet (default: suffix).")
    ] = None,
    tz: Annotated[str, typer.Option(help="Zone of naive timestamps.")] = "UTC",
    strict: Annotated[
        bool, typer.Option("--strict", help="Quarantine surprising jumps instead of warning.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Import OHLCV bars with validation.

    Provably invalid rows go to quarantine with their reason; surprising jumps are kept
    and listed as warnings (quarantined with --strict).
    """
    if fmt is not None and fmt not in ("csv", "parquet"):
        raise typer.BadParameter("must be csv or parquet", param_hint="--format")
    data = gateway(state_of(ctx))
    report = data.import_files(
        paths, symbol=symbol, timeframe=timeframe, fmt=fmt, tz=tz, strict=strict
    )
    if json:
        emit_json(report)
        return
    show_import_report(report, data.via)


def show_import_report(report: dict[str, Any], via: str) -> None:
    """Print an import report as a table per file plus totals."""
    rows = []
    for item in report["files"]:
        reasons = ", ".join(f"{k} {v}" for k, v in item["rejected_by_reason"].items() if v)
        rows.append(
            [
                literal(Path(item["file"]).name),
                literal(item["symbol"]),
                item["timeframe"],
                item["rows_read"],
                item["inserted"],
                item["updated"],
                item["unchanged"],
                item["rejected"],
                reasons or "-",
                item.get("warned", 0),
                item["missing_sessions"]["count"],
            ]
        )
    print_table(
        f"import {report['import_id']} (via {via})",
        [
            "file",
            "symbol",
            "tf",
            "read",
            "new",
            "updated",
            "same",
            "rejected",
            "reasons",
            "warned",
            "missing sessions",
        ],
        rows,
    )
    show_warnings(report)


def show_warnings(report: dict[str, Any]) -> None:
    """Print the kept rows that look surprising: file, line, time, rule and size of move."""
    from bifrost.clock import format_instant

    rows = [
        [
            literal(Path(item["file"]).name),
            w["line"],
            format_instant(w["ts"]),
            w["rule"],
            f"{w['move']:+.2%}",
        ]
        for item in report["files"]
        for w in item.get("warnings", [])
    ]
    if rows:
        print_table("warnings (kept)", ["file", "line", "time", "rule", "move"], rows)


@app.command("list")
def list_(ctx: typer.Context, json: JsonOption = False) -> None:
    """Stored series: symbol, timeframe, first and last bar, rows."""
    series = gateway(state_of(ctx)).series()
    if json:
        emit_json({"series": series})
    else:
        show_series(series)


def show_series(series: list[dict[str, Any]]) -> None:
    """Print stored series as a table."""
    from bifrost.clock import format_instant

    rows = [
        [
            literal(s["symbol"]),
            s["timeframe"],
            format_instant(s["first"]),
            format_instant(s["last"]),
            s["rows"],
        ]
        for s in series
    ]
    print_table("stored bars", ["symbol", "timeframe", "first", "last", "rows"], rows)


@app.command("bars")
def bars(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Symbol.")],
    timeframe: TimeframeOption = "1d",
    start: StartOption = None,
    end: EndOption = None,
    json: JsonOption = False,
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV on stdout.")] = False,
    limit: Annotated[int, typer.Option(help="Rows shown in the table (0: all).")] = 20,
) -> None:
    """Bars of one symbol; resampled from a finer timeframe when needed."""
    import sys

    frame = gateway(state_of(ctx)).bars(symbol, timeframe, *instants(start, end))
    if json:
        emit_json(
            {
                "symbol": symbol,
                "timeframe": timeframe,
                "rows": frame.height,
                "bars": frame.to_dicts(),
            }
        )
    elif csv:
        sys.stdout.write(frame.write_csv())
    else:
        from bifrost.clock import format_instant

        shown = frame.tail(limit) if limit else frame
        rows = [
            [
                format_instant(r["ts"], timeframe.endswith("d")),
                r["open"],
                r["high"],
                r["low"],
                r["close"],
                f"{r['volume']:.0f}",
            ]
            for r in shown.iter_rows(named=True)
        ]
        title = f"{literal(symbol)} {timeframe}: {frame.height} bars" + (
            f" (last {len(rows)})" if frame.height > len(rows) else ""
        )
        print_table(title, ["time", "open", "high", "low", "close", "volume"], rows)


@app.command("validate")
def validate(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Symbol.")],
    timeframe: TimeframeOption = "1d",
    json: JsonOption = False,
) -> None:
    """Re-check stored bars of one series against the import rules and its calendar."""
    report = gateway(state_of(ctx)).validate(symbol, timeframe)
    if json:
        emit_json(report)
        return
    from bifrost.clock import format_instant

    rows = [
        [reason, found["count"], ", ".join(format_instant(ts) for ts in found["ts"][:3])]
        for reason, found in report["problems"].items()
    ]
    title = f"{literal(symbol)} {timeframe}: {report['rows']} bars"
    print_table(title, ["problem", "count", "first"], rows)
    missing = report["missing_sessions"]
    say(f"missing sessions: {missing['count']} {', '.join(missing['first'][:5])}")


@app.command("chart")
def chart(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Symbol.")],
    timeframe: TimeframeOption = "1d",
    start: StartOption = None,
    end: EndOption = None,
    line: Annotated[bool, typer.Option("--line", help="Close line instead of candles.")] = False,
    last: Annotated[int, typer.Option(help="Bars to draw (the most recent).")] = 120,
) -> None:
    """Candlestick (or line) chart with volume, drawn in the terminal."""
    from cli.chart import draw_chart

    frame = gateway(state_of(ctx)).bars(symbol, timeframe, *instants(start, end))
    draw_chart(frame.tail(last), f"{symbol} {timeframe}", line=line)


@app.command("replay")
def replay(
    ctx: typer.Context,
    symbols: Annotated[list[str], typer.Argument(help="Symbols to replay.")],
    timeframe: TimeframeOption = "1d",
    start: StartOption = None,
    end: EndOption = None,
    speed: Annotated[str, typer.Option(help="10x, 0.5x, or max.")] = "max",
    json: JsonOption = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Stream each bar as one JSON line as it arrives.")
    ] = False,
) -> None:
    """Republish stored bars on the bus (`replay.bar.<tf>.<SYM>`) in time order.

    `--json` prints one document when the replay ends: its id, bar count and `events`
    (every replayed bar in order); `--jsonl` streams the bars as JSON lines instead.
    """
    from cli.replay import run_replay

    first, last = instants(start, end)
    state = state_of(ctx)
    result = run_replay(state, symbols, timeframe, first, last, speed, stream=jsonl)
    if json and not jsonl:
        emit_json(result)
    elif not jsonl:
        say(f"replayed {result['bars']} bars (replay {result['replay_id']})")


@app.command("sample")
def sample(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the CSVs (default: <home>/sample).")
    ] = None,
    load: Annotated[bool, typer.Option("--import/--no-import", help="Import them too.")] = True,
    json: JsonOption = False,
) -> None:
    """Write the built-in daily sample (seeded GBM on XNYS days) and import it."""
    from bifrost.market.sample import write_sample

    state = state_of(ctx)
    paths = write_sample(out or state.home / "sample")
    data = gateway(state)
    report = data.import_files(paths, timeframe="1d") if load else None
    if json:
        emit_json({"files": [str(p) for p in paths], "import": report})
    elif report is not None:
        show_import_report(report, data.via)
    else:
        say("wrote " + ", ".join(str(p) for p in paths))
