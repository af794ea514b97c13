"""Opening a DuckDB store file: migrations on write, read-only access for readers.

Only the owning daemon writes its file (DuckDB allows one writing process); the CLI
opens it read-only when the daemon is down, or writes it itself only when no daemon
holds it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from bifrost.errors import BifrostError, Unavailable
from bifrost.store.schema import DATA, SCHEMA_VERSION_DDL, Migrations

if TYPE_CHECKING:
    import polars as pl


class StoreError(BifrostError):
    """The store file is unreadable, from a newer version, or otherwise unusable."""


def open_store(
    path: Path, *, read_only: bool = False, migrations: Migrations = DATA
) -> duckdb.DuckDBPyConnection:
    """Open (and, when writable, create and migrate) the store at `path`.

    `migrations` names which store the file is (the data store by default).
    """
    if read_only and not path.exists():
        raise StoreError(f"no store at {path}: nothing has been stored yet")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise Unavailable(
                f"{path} is held by another process (a running daemon owns it); "
                "ask the daemon instead",
                {"path": str(path)},
            ) from None
        raise StoreError(f"cannot open {path}: {exc}") from None
    except duckdb.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        if read_only:
            check_version(connection, path, migrations)
        else:
            migrate(connection, migrations)
    except BaseException:
        connection.close()
        raise
    return connection


def open_for_reading(path: Path, migrations: Migrations = DATA) -> duckdb.DuckDBPyConnection:
    """The store at `path` read-only; while no file exists yet, an empty in-memory store
    with the same tables, so an offline reader gets the answer of an empty store (as the
    owning daemon gives on a fresh data dir), not an error."""
    if path.exists():
        return open_store(path, read_only=True, migrations=migrations)
    connection = duckdb.connect(":memory:")
    migrate(connection, migrations)
    return connection


def applied_version(connection: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to this store (0 for a new file)."""
    exists = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()
    if not exists[0][0]:
        return 0
    rows = connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()
    return int(rows[0][0])


def migrate(connection: duckdb.DuckDBPyConnection, migrations: Migrations = DATA) -> int:
    """Apply missing migrations, each in its own transaction; returns the version."""
    connection.execute(SCHEMA_VERSION_DDL)
    current = applied_version(connection)
    latest = migrations[-1][0]
    if current > latest:
        raise StoreError(f"store is at schema {current}, newer than this build ({latest})")
    for version, description, ddl in migrations:
        if version <= current:
            continue
        connection.execute("BEGIN TRANSACTION")
        try:
            connection.execute(ddl)
            connection.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                [version, description, time.time_ns()],
            )
            connection.execute("COMMIT")
        except duckdb.Error:
            connection.execute("ROLLBACK")
            raise
    return latest


def check_version(
    connection: duckdb.DuckDBPyConnection, path: Path, migrations: Migrations = DATA
) -> None:
    """Refuse a read-only store whose schema differs from this build's."""
    version = applied_version(connection)
    latest = migrations[-1][0]
    if version != latest:
        raise StoreError(
            f"{path} is at schema {version}, this build reads {latest}; "
            "start its daemon once to migrate it"
        )


def query_frame(
    connection: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
) -> pl.DataFrame:
    """Run a query and return its rows as a Polars frame (through Arrow, without copies)."""
    return connection.sql(sql, params=params).pl()


def load_rows(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    columns: dict[str, str],
    rows: list[dict[str, Any]],
) -> None:
    """Create temp table `table` from plain maps in one statement (lists UNNESTed in SQL).

    For small live batches: it needs neither Polars nor Arrow, so an idle daemon stays
    light, and it is still one set-based insert, never a row at a time.
    """
    selects = ", ".join(
        f"UNNEST(${i}::{kind}[]) AS {name}" for i, (name, kind) in enumerate(columns.items(), 1)
    )
    values = [[row[name] for row in rows] for name in columns]
    connection.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {selects}", values)
