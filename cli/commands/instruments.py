"""`bifrost instruments add|list`: what each symbol is and how it trades."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import state_of

app = typer.Typer(
    help="Instruments: venue, asset class, increments, calendar.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


@app.command("list")
def list_(ctx: typer.Context, json: JsonOption = False) -> None:
    """Every stored instrument."""
    from bifrost.market.gateway import DataGateway

    state = state_of(ctx)
    instruments = DataGateway(state.client(), state.home).instruments()
    if json:
        emit_json({"instruments": instruments})
        return
    columns = [
        "symbol",
        "venue",
        "asset_class",
        "currency",
        "tick_size",
        "lot_size",
        "multiplier",
        "calendar",
    ]
    print_table("instruments", columns, [[i[c] for c in columns] for i in instruments])


@app.command("add")
def add(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Symbol, e.g. AAPL or ETH-USD.")],
    venue: Annotated[str | None, typer.Option(help="Venue, e.g. XNYS.")] = None,
    asset_class: Annotated[
        str | None, typer.Option(help="equity, etf, crypto, future, fx.")
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Quote currency.")] = None,
    tick: Annotated[float | None, typer.Option(help="Tick size.")] = None,
    lot: Annotated[float | None, typer.Option(help="Lot size.")] = None,
    multiplier: Annotated[float | None, typer.Option(help="Contract multiplier.")] = None,
    calendar: Annotated[str | None, typer.Option(help="Exchange calendar or 24/7.")] = None,
    json: JsonOption = False,
) -> None:
    """Add or replace an instrument; unset options take the symbol's defaults."""
    from bifrost.market.gateway import DataGateway

    state = state_of(ctx)
    values = {
        "symbol": symbol,
        "venue": venue,
        "asset_class": asset_class,
        "currency": currency,
        "tick_size": tick,
        "lot_size": lot,
        "multiplier": multiplier,
        "calendar": calendar,
    }
    instrument = DataGateway(state.client(), state.home).add_instrument(values)
    if json:
        emit_json(instrument)
    else:
        say(f"[green]saved[/] {instrument}")
