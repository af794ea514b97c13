"""Printing for commands: data to stdout (one JSON document with --json), the rest to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

JSON_HELP = "Print one JSON document on stdout instead of a table."


def emit_json(document: Any) -> None:
    """Write one JSON document to stdout."""
    sys.stdout.write(json.dumps(document, default=str) + "\n")
    sys.stdout.flush()


def say(message: str) -> None:
    """A human message on stderr (never mixed into data on stdout).

    `message` is rich markup: a value put into it (an error's message, a symbol, a rule)
    goes through `literal` first, or its square brackets are read as markup and lost.
    """
    from rich.console import Console

    Console(stderr=True, highlight=False).print(message)


def literal(value: Any) -> str:
    """`value` as text that rich markup prints as it is: `[restricted]`, `[1, 2]`, `[/x]`."""
    from rich.markup import escape

    return escape(str(value))


def say_error(label: str, message: Any) -> None:
    """`label` (markup, say `[bold red]error:[/]`) then `message` printed exactly as given."""
    say(f"{label} {literal(message)}")


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    # A pipe gets the whole table rather than one cut at 80 columns.
    Console(width=None if sys.stdout.isatty() else 200).print(table)
