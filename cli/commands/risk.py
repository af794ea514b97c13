"""`bifrost risk limits|state|kill|resume|reduce|var`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bifrost.bus import methods
from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import state_of

app = typer.Typer(help="Risk limits, trading state, kill switch and VaR.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
STATE_COLOURS = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "red"}
ReasonOption = Annotated[str | None, typer.Option(help="Why (goes to the alert and the log).")]


def call(ctx: typer.Context, method: str, params: dict[str, Any]) -> Any:
    """Call the risk service (exit 3 when it is not running)."""
    with state_of(ctx).client() as client:
        client.require("risk")
        return client.call("risk", method, params)


@app.command("limits")
def limits(
    ctx: typer.Context,
    set_: Annotated[list[str] | None, typer.Option("--set", help="name=value (admin).")] = None,
    json: JsonOption = False,
) -> None:
    """Show the limits, or change some with --set name=value."""
    changes = {}
    for pair in set_ or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"'{pair}' is not name=value", param_hint="--set")
        changes[name.strip()] = value.strip()
    reply = call(ctx, methods.RISK_LIMITS, {"set": changes or None})
    if json:
        emit_json(reply)
        return
    usage = call(ctx, methods.RISK_STATE, {}).get("usage", {})
    rows = [[k, v, "" if usage.get(k) is None else f"{usage[k]:,.2f}"] for k, v in reply.items()]
    print_table("risk limits", ["limit", "value", "in use"], rows)


@app.command("state")
def state(ctx: typer.Context, json: JsonOption = False) -> None:
    """Trading state, day P&L, positions and open orders as risk sees them."""
    reply = call(ctx, methods.RISK_STATE, {})
    if json:
        emit_json(reply)
        return
    colour = STATE_COLOURS[reply["state"]]
    say(
        f"trading [{colour}]{reply['state']}[/]; day P&L {reply['day_pnl']:,.2f}; "
        f"{reply['open_orders']} open orders; positions {reply['positions']}"
    )


@app.command("kill")
def kill(ctx: typer.Context, reason: ReasonOption = None, json: JsonOption = False) -> None:
    """HALT trading: cancel every open order and stop every strategy."""
    reply = call(ctx, methods.RISK_KILL, {"reason": reason})
    if json:
        emit_json(reply)
    else:
        say(
            f"[red]HALTED[/] in {reply['seconds'] * 1000:.1f} ms: {len(reply['canceled'])} "
            f"orders canceled, {len(reply['strategies_stopped'])} strategies stopped"
        )


def change_state(ctx: typer.Context, method: str, reason: str | None, as_json: bool) -> None:
    """Ask risk for a new trading state and print the one it reports."""
    reply = call(ctx, method, {"reason": reason})
    if as_json:
        emit_json(reply)
    else:
        say(f"trading [{STATE_COLOURS[reply['state']]}]{reply['state']}[/]")


@app.command("resume")
def resume(ctx: typer.Context, reason: ReasonOption = None, json: JsonOption = False) -> None:
    """Back to ACTIVE trading."""
    change_state(ctx, methods.RISK_RESUME, reason, json)


@app.command("reduce")
def reduce(ctx: typer.Context, reason: ReasonOption = None, json: JsonOption = False) -> None:
    """Only risk-reducing orders from now on."""
    change_state(ctx, methods.RISK_REDUCE, reason, json)


@app.command("var")
def var(
    ctx: typer.Context,
    confidence: Annotated[float, typer.Option(help="e.g. 0.99")] = 0.99,
    lookback: Annotated[int, typer.Option(help="Days of history.")] = 250,
    json: JsonOption = False,
) -> None:
    """VaR and CVaR (historical and parametric) of the current positions."""
    reply = call(ctx, methods.RISK_VAR, {"confidence": confidence, "lookback": lookback})
    if json:
        emit_json(reply)
        return
    rows = [
        [k, f"{reply[k]:,.2f}"]
        for k in (
            "historical_var",
            "historical_cvar",
            "parametric_var",
            "parametric_cvar",
            "gross",
            "net",
        )
    ]
    rows += [[f"exposure {s}", f"{v:,.2f}"] for s, v in reply["exposure"].items()]
    rows += [[f"exposure {c}", f"{v:,.2f}"] for c, v in reply["exposure_by_asset_class"].items()]
    print_table(
        f"1-day VaR at {reply['confidence']:.0%} ({reply['scenarios']} scenarios)",
        ["measure", "value"],
        rows,
    )
