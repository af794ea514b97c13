"""`bifrost sql "SELECT ..."`: read-only SQL across every service's store."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import state_of

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def register(root: typer.Typer) -> None:
    """Mount `sql` at the top level."""
    root.command("sql")(sql)


def sql(
    ctx: typer.Context,
    query: Annotated[
        str | None,
        typer.Argument(help="One SELECT; name tables as <service>.<table>, e.g. data.bars."),
    ] = None,
    tables: Annotated[bool, typer.Option("--tables", help="List the tables instead.")] = False,
    limit: Annotated[int, typer.Option(help="Most rows to print.")] = 1000,
    json: JsonOption = False,
) -> None:
    """Query the stores (data, portfolio, execution, ...) read-only; joins across services."""
    from bifrost.sql.console import SqlConsole

    state = state_of(ctx)
    with state.client(retries=0) as client:
        console = SqlConsole(state.home, client)
        if tables or query is None:
            listed = console.tables()
            if json:
                emit_json({"tables": listed})
            else:
                print_table(
                    "tables",
                    ["table", "source", "rows", "columns"],
                    [
                        [
                            f"{t['schema']}.{t['name']}",
                            t["source"],
                            t["rows"],
                            ", ".join(c["name"] for c in t["columns"]),
                        ]
                        for t in listed
                    ],
                )
            return
        result = console.query(query)
    document = result.to_dict(limit)
    if json:
        emit_json(document)
        return
    print_table(query, document["columns"], document["rows"])
    shown = len(document["rows"])
    more = f" (first {shown} shown; --limit)" if shown < document["row_count"] else ""
    sources = ", ".join(f"{k} ({v})" for k, v in document["sources"].items())
    say(f"{document['row_count']} rows{more}; stores: {sources or 'none'}")
