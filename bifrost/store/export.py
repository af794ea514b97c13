"""Read-only exports of a store's tables: what the SQL console loads from a running owner.

A daemon's DuckDB file cannot be opened by another process while the daemon runs, so
the owner hands out whole tables as frames instead. Only table names that the store
lists are accepted, and the one statement built here is a quoted `SELECT *`: nothing a
caller sends ever runs as SQL on the owner's (writable) connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb

from bifrost.errors import BadRequest, NotFound
from bifrost.store.database import query_frame

if TYPE_CHECKING:
    import polars as pl

MAX_EXPORT_ROWS = 1_000_000
"""Most rows one export carries: about 70 MB and half a second of the owner's loop for quotes."""


def list_tables(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The store's own tables (main schema of its file) with their columns and row counts."""
    rows = connection.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main' "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, list[dict[str, str]]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, []).append({"name": column, "type": kind})
    return [
        {"name": name, "columns": columns, "rows": _count(connection, name)}
        for name, columns in tables.items()
    ]


def export_table(connection: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """Every row of one listed table as a frame; NotFound for a name the store lacks."""
    known = {t["name"]: t for t in list_tables(connection)}
    if table not in known:
        names = ", ".join(sorted(known)) or "none"
        raise NotFound(f"no table '{table}' here (tables: {names})", {"table": table})
    rows = known[table]["rows"]
    if rows > MAX_EXPORT_ROWS:
        raise BadRequest(
            f"table '{table}' has {rows:,} rows, more than one export carries "
            f"({MAX_EXPORT_ROWS:,}); query the file itself while its service is stopped",
            {"table": table, "rows": rows},
        )
    return query_frame(connection, f"SELECT * FROM {_quoted(table)}")


def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(connection.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchall()[0][0])


def _quoted(name: str) -> str:
    """A DuckDB identifier in double quotes (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'
