"""`bifrost micro book|metrics|history`: the L2 ladder and microstructure metrics of a symbol."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from bifrost.bus import methods
from bifrost.micro.labels import METRIC_LABELS
from bifrost.micro.labels import metric_text as fmt
from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import CliState, state_of

app = typer.Typer(help="L2 book ladder and microstructure metrics.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
SymbolArgument = Annotated[str, typer.Argument(help="Symbol, e.g. AAPL.")]
SERVICE = "microstructure"
REFRESH_PER_SECOND = 10


def ask(client: Any, method: str, params: dict[str, Any]) -> Any:
    """A read from the microstructure service (safe to retry)."""
    return client.call(SERVICE, method, params, idempotent=True)


def metrics_document(state: CliState, symbol: str) -> dict[str, Any]:
    """Live metrics from the microstructure daemon when it runs, else from stored ticks."""
    from bifrost.micro.history import stored_metrics

    with state.client(timeout_ms=5000) as client:
        if client.answers(SERVICE):
            return dict(ask(client, methods.MICRO_METRICS, {"symbol": symbol}))
        return stored_metrics(client, state.home, symbol)


@app.command("metrics")
def metrics(ctx: typer.Context, symbol: SymbolArgument, json: JsonOption = False) -> None:
    """Spread, depth, imbalance, microprice, volatility, autocorrelation, lambda, Amihud, VPIN.

    Through the microstructure service when it runs; otherwise computed from the recorded
    quotes and trades of the five minutes before the symbol's last recorded tick.
    """
    document = metrics_document(state_of(ctx), symbol)
    if json:
        emit_json(document)
        return
    rows = [[m.label, fmt(document.get(m.key), m.pattern)] for m in METRIC_LABELS]
    source = "live" if document["source"] == "live" else "from stored quotes and trades"
    print_table(f"{symbol} microstructure ({source})", ["measure", "value"], rows)


def show_micro(state: CliState) -> None:
    """One line from the microstructure service for the first feed symbol (for the demo)."""
    symbol = state.config.feed.symbols[0]
    with state.client() as client:
        if not client.answers(SERVICE):
            say("microstructure: the service is not running here")
            return
        document: dict[str, Any] = {}
        for _ in range(60):  # a just-started service needs a few seconds of trades
            document = ask(client, methods.MICRO_METRICS, {"symbol": symbol})
            if document["vpin"] is not None and document["kyle_lambda"] is not None:
                break
            time.sleep(0.1)
    say(
        f"[bold]microstructure[/] {symbol}: spread {fmt(document['spread'], '{:.2f}')} "
        f"({fmt(document['spread_bps'], '{:.1f}')} bps), microprice "
        f"{fmt(document['microprice'], '{:,.3f}')}, book imbalance "
        f"{fmt(document['imbalance'], '{:+.2f}')}, VPIN {fmt(document['vpin'], '{:.2f}')}, "
        f"Kyle's lambda {fmt(document['kyle_lambda'], '{:.2e}')} "
        f"({document['trades']} trades); ladder: `bifrost micro book {symbol}`"
    )


# -- the book ---------------------------------------------------------------------------------


def book_once(state: CliState, symbol: str, levels: int) -> dict[str, Any]:
    """One book: from the microstructure service, else from the data service's snapshot."""
    with state.client(timeout_ms=3000) as client:
        if client.answers(SERVICE):
            return dict(ask(client, methods.MICRO_BOOK, {"symbol": symbol, "levels": levels}))
        from bifrost.errors import Unavailable
        from bifrost.micro.engine import book_document

        if not client.answers("data"):
            raise Unavailable(
                f"no live book of {symbol}: neither the microstructure nor the data service "
                "is running here; start them with `bifrost up`"
            )
        follower = follow_book(client, symbol)
        book = follower.books[symbol]
        bids, asks = book.depth(levels)
        return book_document(symbol, bids, asks, book.ts, "book", follower.seqs[symbol])


def follow_book(client: Any, symbol: str) -> Any:
    """A BookFollower holding `symbol`'s book from the data service's snapshot."""
    from bifrost.bus import topics
    from bifrost.errors import NotFound
    from bifrost.micro.follower import BookFollower, snapshot_entry

    def fetch(topic: str) -> Any:
        return snapshot_entry(client.call("data", methods.SNAPSHOT, {"prefix": topic}), topic)

    follower = BookFollower(fetch)
    if not follower.resync(topics.book(symbol)):
        raise NotFound(
            f"the data service publishes no book for {symbol} "
            "(is it a feed symbol, and is [feed] book_levels above 0?)"
        )
    return follower


@app.command("book")
def book(
    ctx: typer.Context,
    symbol: SymbolArgument,
    levels: Annotated[int, typer.Option("--levels", min=1, max=1000, help="Levels a side.")] = 10,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after this many book updates.")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option("--seconds", min=0.1, help="Stop after this long.")
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print one book snapshot as JSON and exit.")
    ] = False,
) -> None:
    """A live L2 ladder (Ctrl-C to stop), or one snapshot with --json."""
    state = state_of(ctx)
    if json:
        emit_json(book_once(state, symbol, levels))
        return
    live_ladder(state, symbol, levels, count, seconds)


def live_ladder(
    state: CliState, symbol: str, levels: int, count: int | None, seconds: float | None
) -> None:
    """Redraw the ladder from `book.<SYM>` deltas until the count, the time or Ctrl-C."""
    from rich.live import Live

    from bifrost.bus import topics

    topic = topics.book(symbol)
    deadline = time.monotonic() + seconds if seconds else None

    def finished(updates: int) -> bool:
        return (count is not None and updates >= count) or (
            deadline is not None and time.monotonic() >= deadline
        )

    with state.client(timeout_ms=3000) as client:
        client.require("data")
        subscriber = client.subscribe("data", [topic])
        try:
            follower = follow_book(client, symbol)  # subscribed first: no delta is missed
            updates = 0
            first = ladder(follower, symbol, levels)
            with Live(first, refresh_per_second=REFRESH_PER_SECOND) as live:
                while not finished(updates):
                    for event in subscriber.poll(1000 // REFRESH_PER_SECOND):
                        if event.topic != topic:
                            continue  # a longer symbol with the same prefix
                        changed = follower.on_event(event.topic, event.type, event.seq, event.body)
                        updates += changed is not None
                    live.update(ladder(follower, symbol, levels))
        except KeyboardInterrupt:
            pass
        finally:
            subscriber.close()


def ladder(follower: Any, symbol: str, levels: int) -> Any:
    """The followed book's ladder as a rich table."""
    from tui.widgets.ladder import ladder_table

    bids, asks = follower.books[symbol].depth(levels)
    title = f"{symbol} book (seq {follower.seqs.get(symbol, 0)})"
    return ladder_table(bids, asks, title)


@app.command("history")
def history(
    ctx: typer.Context,
    symbol: SymbolArgument,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Rows.")] = 20,
    json: JsonOption = False,
) -> None:
    """The latest metric rows the microstructure service stored (one per published update)."""
    state = state_of(ctx)
    with state.client(timeout_ms=5000) as client:
        if client.answers(SERVICE):
            params = {"symbol": symbol, "limit": limit}
            rows = ask(client, methods.MICRO_HISTORY, params)["rows"]
        else:
            from bifrost.micro.history import stored_history

            followed = state.config.live_symbols()
            rows = stored_history(state.home / "micro.duckdb", followed, symbol, limit)
    if json:
        emit_json({"symbol": symbol, "rows": rows})
        return
    from bifrost.clock import format_instant

    columns = ["time", "mid", "spread", "imbalance", "realized_vol", "kyle_lambda", "vpin"]
    table = [
        [format_instant(r["ts_ns"]), fmt(r["mid"], "{:,.2f}"), fmt(r["spread"], "{:.4f}"),
         fmt(r["imbalance"], "{:+.3f}"), fmt(r["realized_vol"], "{:.6f}"),
         fmt(r["kyle_lambda"], "{:.3e}"), fmt(r["vpin"], "{:.3f}")]
        for r in rows
    ]  # fmt: skip
    print_table(f"{symbol} stored microstructure rows", columns, table)
