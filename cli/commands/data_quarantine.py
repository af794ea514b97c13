"""`bifrost data quarantine list|release`: inspect and re-admit rows an import held back."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.output import JSON_HELP, emit_json, literal, print_table, say
from cli.state import state_of

app = typer.Typer(
    help="Rows an import quarantined: list them, release the ones that pass again.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


@app.command("list")
def list_(
    ctx: typer.Context,
    import_id: Annotated[str | None, typer.Argument(help="Import id (default: all).")] = None,
    json: JsonOption = False,
) -> None:
    """Quarantined rows with their file, line, time, reason and original values."""
    from cli.commands.data import gateway

    found = gateway(state_of(ctx)).quarantine(import_id)
    if json:
        emit_json(found)
        return
    from bifrost.clock import format_instant

    rows = [
        [
            r["import_id"][:8],
            literal(r["file"].rsplit("/", 1)[-1]),
            r["line"],
            literal(r["symbol"]),
            format_instant(r["ts"]) if r["ts"] is not None else "-",
            r["reason"],
            literal(",".join("" if v is None else str(v) for v in r["row"].values())),
        ]
        for r in found["rows"]
    ]
    columns = ["import", "file", "line", "symbol", "time", "reason", "row"]
    print_table(f"quarantine: {found['count']} rows", columns, rows)


@app.command("release")
def release(
    ctx: typer.Context,
    import_id: Annotated[str, typer.Argument(help="Import id (see `data quarantine list`).")],
    line: Annotated[
        int | None, typer.Option(help="Release only the row at this line.", min=1)
    ] = None,
    json: JsonOption = False,
) -> None:
    """Re-check quarantined rows and store the ones that pass; exit 1 when none does."""
    from cli.commands.data import gateway

    result = gateway(state_of(ctx)).release(import_id, line)
    if json:
        emit_json(result)
    else:
        show_release(result)
    if result["refused"] and not result["released"]:
        raise typer.Exit(1)


def show_release(result: dict[str, Any]) -> None:
    """Say what was released and print why each refused row stays."""
    say(f"released {len(result['released'])} rows of import {result['import_id']}")
    if result["refused"]:
        rows = [
            [literal(r["file"].rsplit("/", 1)[-1]), r["line"], r["reason"], r["detail"]]
            for r in result["refused"]
        ]
        print_table("still quarantined", ["file", "line", "reason", "why"], rows)
