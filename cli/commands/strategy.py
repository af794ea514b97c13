"""`bifrost strategy start|list|stop`: strategies trading live on the paper broker."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bifrost.bus import methods
from cli.commands.backtest import parse_params
from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import state_of

app = typer.Typer(help="Run strategies live (orders go through risk).", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def call(ctx: typer.Context, method: str, params: dict[str, Any] | None = None) -> Any:
    """Call the strategy service (exit 3 when it is not running)."""
    with state_of(ctx).client() as client:
        client.require("strategy")
        return client.call("strategy", method, params or {})


def show(rows: list[dict[str, Any]]) -> None:
    """Live strategies as a table."""
    print_table(
        "live strategies",
        [
            "id",
            "symbols",
            "tf",
            "params",
            "state",
            "positions",
            "P&L",
            "bars",
            "orders",
            "last error",
        ],
        [
            [
                r["id"],
                " ".join(r["symbols"]),
                r["timeframe"],
                r["params"],
                r["state"],
                r["positions"] or "-",
                f"{r['pnl']:,.2f}",
                r["bars"],
                r["orders"],
                r["last_error"] or "",
            ]
            for r in rows
        ],
    )


@app.command("start")
def start(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Strategy name, e.g. sma_cross.")],
    symbols: Annotated[list[str], typer.Argument(help="Symbols to trade.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="name=value")] = None,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Live bar timeframe.")] = "1m",
    capital: Annotated[
        float, typer.Option(help="Money the strategy sizes orders from.")
    ] = 10_000.0,
    file: Annotated[
        str | None, typer.Option("--file", help="Python file with the strategy.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Start a strategy on live bars of the synthetic feed."""
    reply = call(
        ctx,
        methods.STRATEGY_START,
        {
            "name": name,
            "symbols": symbols,
            "params": parse_params(param),
            "timeframe": timeframe,
            "capital": capital,
            "file": file,
        },
    )
    if json:
        emit_json(reply)
    else:
        say(
            f"[green]started[/] {reply['id']} on {' '.join(symbols)} ({timeframe} bars); "
            f"stop it with `bifrost strategy stop {reply['id']}`"
        )


@app.command("list")
def list_(ctx: typer.Context, json: JsonOption = False) -> None:
    """Live strategies with their state, positions and P&L."""
    rows = call(ctx, methods.STRATEGY_LIST)["strategies"]
    if json:
        emit_json({"strategies": rows})
    else:
        show(rows)


@app.command("stop")
def stop(
    ctx: typer.Context,
    strategy_id: Annotated[str, typer.Argument(help="The id `strategy list` shows.")],
    json: JsonOption = False,
) -> None:
    """Stop a live strategy and cancel its open orders."""
    reply = call(ctx, methods.STRATEGY_STOP, {"strategy_id": strategy_id})
    if json:
        emit_json(reply)
    else:
        say(f"[yellow]stopped[/] {reply['id']}")
