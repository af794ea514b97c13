"""`bifrost watch SYM...`: live quotes as a table, or one JSON object per line."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from cli.output import emit_json
from cli.state import CliState, state_of

REFRESH_PER_SECOND = 10


def register(app: typer.Typer) -> None:
    """Mount `watch` at the top level of `app`."""
    app.command("watch")(watch)


def watch(
    ctx: typer.Context,
    symbols: Annotated[list[str], typer.Argument(help="Symbols to watch, e.g. AAPL MSFT.")],
    json: Annotated[
        bool, typer.Option("--json", help="One JSON object per quote on stdout.")
    ] = False,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after this many quotes.")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option("--seconds", min=0.1, help="Stop after this long.")
    ] = None,
) -> None:
    """Stream live quotes from the data service."""
    watch_quotes(state_of(ctx), symbols, as_json=json, count=count, seconds=seconds)


def watch_quotes(
    state: CliState,
    symbols: list[str],
    *,
    as_json: bool,
    count: int | None,
    seconds: float | None,
) -> None:
    """Subscribe to the quotes (and trades) of `symbols` until the count or time is reached."""
    from bifrost.bus import topics
    from bifrost.errors import NotFound

    symbols = list(dict.fromkeys(symbols))
    with state.client(timeout_ms=1000) as client:
        health = client.require("data")
        known = health.get("details", {}).get("symbols", [])
        unknown = [s for s in symbols if known and s not in known]
        if unknown:
            raise NotFound(
                f"the data service publishes no quotes for {', '.join(unknown)} "
                f"(it publishes: {', '.join(known)})"
            )
        prefixes = [topics.quote(s) for s in symbols] + [topics.trade(s) for s in symbols]
        subscriber = client.subscribe("data", prefixes)
        wanted = set(prefixes)
        deadline = time.monotonic() + seconds if seconds else None
        board = QuoteBoard(symbols)
        try:
            if as_json:
                _stream_json(subscriber, wanted, count, deadline)
            else:
                _stream_table(subscriber, wanted, board, count, deadline)
        finally:
            subscriber.close()


def _finished(seen: int, count: int | None, deadline: float | None) -> bool:
    return (count is not None and seen >= count) or (
        deadline is not None and time.monotonic() >= deadline
    )


def _stream_json(
    subscriber: Any, wanted: set[str], count: int | None, deadline: float | None
) -> None:
    seen = 0
    while not _finished(seen, count, deadline):
        for event in subscriber.poll(100):
            if event.type != "quote" or event.topic not in wanted:
                continue
            emit_json({**event.body, "seq": event.seq, "src": event.src})
            seen += 1
            if _finished(seen, count, None):
                return


def _stream_table(
    subscriber: Any, wanted: set[str], board: QuoteBoard, count: int | None, deadline: float | None
) -> None:
    from rich.live import Live

    seen = 0
    with Live(board.render(), refresh_per_second=REFRESH_PER_SECOND, transient=False) as live:
        while not _finished(seen, count, deadline):
            for event in subscriber.poll(1000 // REFRESH_PER_SECOND):
                if event.topic not in wanted:
                    continue
                board.apply(event.type, event.body)
                seen += event.type == "quote"
            live.update(board.render())


class QuoteBoard:
    """The latest quote and trade per symbol, with the tick direction of the mid."""

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = symbols
        self.quotes: dict[str, dict[str, Any]] = {}
        self.last: dict[str, float] = {}
        self.first_mid: dict[str, float] = {}
        self.direction: dict[str, int] = {}
        self.updates: dict[str, int] = dict.fromkeys(symbols, 0)

    def apply(self, kind: str, body: dict[str, Any]) -> None:
        """Fold one quote or trade into the board."""
        symbol = body["symbol"]
        if kind == "trade":
            self.last[symbol] = body["price"]
            return
        mid = (body["bid"] + body["ask"]) / 2
        previous = self.quotes.get(symbol)
        if previous is not None:
            old = (previous["bid"] + previous["ask"]) / 2
            self.direction[symbol] = (mid > old) - (mid < old)
        self.first_mid.setdefault(symbol, mid)
        self.quotes[symbol] = body
        self.updates[symbol] += 1

    def render(self) -> Any:
        """A rich table of the board."""
        from rich.table import Table

        table = Table(title="live quotes", title_justify="left")
        for column in ("symbol", "bid", "ask", "spread", "last", "change", "updates"):
            table.add_column(column, justify="left" if column == "symbol" else "right")
        for symbol in self.symbols:
            quote = self.quotes.get(symbol)
            if quote is None:
                table.add_row(symbol, "…", "…", "", "", "", "0")
                continue
            style = {1: "green", -1: "red"}.get(self.direction.get(symbol, 0), "")
            mid = (quote["bid"] + quote["ask"]) / 2
            change = mid / self.first_mid[symbol] - 1
            last = self.last.get(symbol)
            table.add_row(
                symbol,
                f"[{style}]{quote['bid']:.2f}[/]" if style else f"{quote['bid']:.2f}",
                f"[{style}]{quote['ask']:.2f}[/]" if style else f"{quote['ask']:.2f}",
                f"{quote['ask'] - quote['bid']:.2f}",
                "" if last is None else f"{last:.2f}",
                f"{change:+.3%}",
                str(self.updates[symbol]),
            )
        return table
