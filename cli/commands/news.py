"""`bifrost news latest|sentiment|import`: headlines, rolling sentiment, news files.

Through the news daemon when it runs; otherwise from news.duckdb directly (or an empty
view when nothing has been stored yet), so every command also works offline.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import CliState, state_of

if TYPE_CHECKING:
    from bifrost.news.gateway import NewsGateway

app = typer.Typer(help="News headlines and sentiment.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
DEMO_WAIT_S = 5.0


def gateway(state: CliState) -> NewsGateway:
    """The news gateway (daemon when it runs, else the file)."""
    from bifrost.news.gateway import NewsGateway

    return NewsGateway(state.client(timeout_ms=3000), state.home)


def coloured(score: float) -> str:
    """A score in green (positive), red (negative) or plain (neutral)."""
    colour = "green" if score > 0 else "red" if score < 0 else "white"
    return f"[{colour}]{score:+.2f}[/]"


@app.command("latest")
def latest(
    ctx: typer.Context,
    symbol: Annotated[str | None, typer.Argument(help="Only this symbol's news.")] = None,
    limit: Annotated[int, typer.Option(help="How many articles (1-500).")] = 20,
    json: JsonOption = False,
) -> None:
    """The newest headlines with their sentiment scores."""
    if not 1 <= limit <= 500:
        raise typer.BadParameter("must be between 1 and 500", param_hint="--limit")
    news = gateway(state_of(ctx))
    articles = news.latest(symbol.upper() if symbol else None, limit)
    if json:
        emit_json({"articles": articles})
        return
    show_articles(
        articles, f"latest news{' on ' + symbol.upper() if symbol else ''} (via {news.via})"
    )


def show_articles(articles: list[dict[str, Any]], title: str) -> None:
    """Articles as a table, newest first."""
    from bifrost.clock import format_instant

    rows = [
        [
            format_instant(a["ts"]),
            ",".join(a["symbols"]) or "-",
            coloured(a["score"]),
            a["title"][:90],
            a["source"],
        ]
        for a in articles
    ]
    print_table(title, ["time (UTC)", "symbols", "score", "headline", "source"], rows)


@app.command("sentiment")
def sentiment(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Symbol.")],
    window: Annotated[str | None, typer.Option(help="Look-back, e.g. 6h, 1d, 3d.")] = "1d",
    at: Annotated[str | None, typer.Option(help="As of this ISO date/time (default: now).")] = None,
    json: JsonOption = False,
) -> None:
    """The rolling (decayed) sentiment of one symbol and its window's article counts."""
    from bifrost.clock import parse_instant
    from bifrost.errors import BadRequest
    from bifrost.market.timeframes import timeframe_ns

    try:
        timeframe_ns(window or "1d")
    except BadRequest as exc:
        raise typer.BadParameter(exc.message, param_hint="--window") from None
    try:
        as_of = parse_instant(at) if at else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--at") from None
    reply = gateway(state_of(ctx)).sentiment(symbol.upper(), window, as_of)
    if json:
        emit_json(reply)
        return
    mean = "-" if reply["mean"] is None else f"{reply['mean']:+.2f}"
    say(
        f"[bold]{reply['symbol']}[/] sentiment {coloured(reply['score'])} over {window}: "
        f"{reply['articles']} articles ({reply['positive']} positive, {reply['negative']} "
        f"negative, {reply['neutral']} neutral), plain mean {mean}"
    )


@app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            help="JSON-lines or CSV file of articles.", exists=True, dir_okay=False, readable=True
        ),
    ],
    json: JsonOption = False,
) -> None:
    """Import articles from a file; already stored ones are skipped (safe to repeat)."""
    news = gateway(state_of(ctx))
    report = news.import_file(path)
    if json:
        emit_json(report)
        return
    say(
        f"{Path(report['file']).name} (via {news.via}): {report['read']} read, "
        f"[green]{report['new']} new[/], {report['duplicates']} already stored, "
        f"{report['rejected']} rejected"
    )
    for reject in report["rejects"]:
        say(f"  line {reject['line']}: {reject['reason']}")
    if report["symbols"]:
        say("  symbols: " + ", ".join(f"{s} {n}" for s, n in report["symbols"].items()))


def show_news(state: CliState) -> None:
    """For `demo`: the newest headlines and each symbol's rolling sentiment."""
    if "news" not in state.config.services:
        return
    news = gateway(state)
    deadline = time.monotonic() + DEMO_WAIT_S
    articles = news.latest(limit=5)
    while not articles and time.monotonic() < deadline:
        time.sleep(0.25)
        articles = news.latest(limit=5)
    if not articles:
        say("[bold]news[/]: no articles yet")
        return
    say("[bold]news[/]: headlines scored with the finance lexicon (synthetic stories offline)")
    show_articles(articles, f"latest news (via {news.via})")
    symbols = sorted({s for a in articles for s in a["symbols"]})
    rolling = [f"{s} {coloured(news.sentiment(s)['score'])}" for s in symbols]
    say("rolling sentiment: " + ", ".join(rolling))
