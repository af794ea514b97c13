"""`bifrost data fetch`: bar history from a venue into the store, resumable.

The pages come from the venue to this process and are imported through the data
gateway: by the data service when it runs, else straight into its file, with the same
validation and quarantine as `bifrost data import` either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import state_of

T = TypeVar("T")
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def fetch(
    ctx: typer.Context,
    symbols: Annotated[list[str], typer.Argument(help="Bifrost symbols (BTC-USDT, AAPL).")],
    venue: Annotated[
        str, typer.Option("--venue", help="The venue to fetch from (a venues.NAME table).")
    ],
    since: Annotated[str, typer.Option("--since", help="First date/time (ISO, UTC).")],
    until: Annotated[
        str | None, typer.Option("--until", help="End date/time (ISO, UTC), exclusive; now.")
    ] = None,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="1m, 5m, 1h, 1d, ...")] = "1d",
    json: JsonOption = False,
) -> None:
    """Download bars from a venue (paged, with progress); a second run fetches only what
    the store lacks."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from bifrost.clock import LiveClock, parse_instant
    from bifrost.market.gateway import DataGateway
    from bifrost.market.timeframes import timeframe_ns
    from bifrost.market.venue_history import fetch_history
    from bifrost.model.instrument import check_symbol
    from bifrost.venues.errors import VenueRejected
    from bifrost.venues.registry import open_venue

    state = state_of(ctx)
    config = state.config.venue(venue)
    if config.kind == "paper":
        raise typer.BadParameter(
            f"{venue} is the paper venue: it has no history (use `bifrost data import`)",
            param_hint="--venue",
        )
    _checked("--timeframe", timeframe_ns, timeframe)
    for symbol in symbols:
        _checked("SYMBOLS", check_symbol, symbol)
    since_ns = _checked("--since", parse_instant, since)
    until_ns = _checked("--until", parse_instant, until) if until else LiveClock().now_ns()
    if since_ns >= until_ns:
        raise typer.BadParameter("--since must be before --until", param_hint="--since")
    data = DataGateway(state.client(timeout_ms=3000), state.home)
    stored = {
        s["symbol"]: (int(s["first"]), int(s["last"]))
        for s in data.series()
        if s["timeframe"] == timeframe and s["symbol"] in symbols
    }
    source = open_venue(config, state.config.keys_dir(state.home))
    reports: list[dict[str, Any]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    try:
        with Progress(*columns, disable=json, transient=False) as progress:
            tasks: dict[str, Any] = {}

            def advance(symbol: str, done: int, total: int) -> None:
                if symbol not in tasks:
                    tasks[symbol] = progress.add_task(f"{symbol} {timeframe}", total=total)
                progress.update(tasks[symbol], completed=done, total=total)

            for symbol in symbols:
                try:
                    report = fetch_history(
                        source,
                        symbol,
                        timeframe,
                        since_ns,
                        until_ns,
                        stored.get(symbol),
                        lambda page, sym, tf: data.import_files([page], symbol=sym, timeframe=tf),
                        state.home / "fetch",
                        advance,
                    )
                except VenueRejected as exc:
                    raise typer.BadParameter(
                        f"{venue} gives no bars of {symbol}: {exc.reason}", param_hint="SYMBOLS"
                    ) from None
                reports.append(report.to_dict())
    finally:
        source.close()
    document = {"venue": venue, "via": data.via, "series": reports}
    if json:
        emit_json(document)
        return
    print_table(
        f"fetched from {venue} (stored via {data.via})",
        ["symbol", "timeframe", "pages", "received", "loaded", "quarantined", "warnings"],
        [
            [
                r["symbol"],
                r["timeframe"],
                r["pages"],
                r["bars_received"],
                r["rows_loaded"],
                r["rows_quarantined"],
                r["warnings"],
            ]
            for r in reports
        ],
    )
    if not any(r["ranges"] for r in reports):
        say("the store already holds that range: nothing to fetch")


def _checked(option: str, check: Callable[[str], T], value: str) -> T:
    """`check(value)`, or a usage error that names `option` and what is wrong with it."""
    from bifrost.errors import BadRequest

    try:
        return check(value)
    except (BadRequest, ValueError) as exc:
        message = getattr(exc, "message", str(exc))
        raise typer.BadParameter(message, param_hint=option) from None
