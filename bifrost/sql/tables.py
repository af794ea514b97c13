"""One table of another service's store as a frame: from its owner when it runs, else its file.

The owner's `sql.export` and the file route share `bifrost.store.export`, so both give
the same frame. Used by the SQL console and by analytics, which read other services'
tables without owning them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from bifrost.bus import methods
from bifrost.bus.arrow import ipc_to_frame
from bifrost.errors import NotFound, Unavailable

if TYPE_CHECKING:
    import polars as pl

    from bifrost.client import BifrostClient

EXPORT_TIMEOUT_MS = 60_000


def fetch_export(client: BifrostClient, service: str, table: str) -> pl.DataFrame:
    """A whole table exported by its running owner (NotFound names the tables it has)."""
    reply = client.call(
        service, methods.SQL_EXPORT, {"table": table}, idempotent=True, timeout_ms=EXPORT_TIMEOUT_MS
    )
    return ipc_to_frame(reply["arrow"])


def read_file_table(path: Path, table: str) -> pl.DataFrame:
    """A whole table of a store file opened read-only (its owner must be down)."""
    from bifrost.store.export import export_table

    if not path.exists():
        raise NotFound(f"no store at {path}: its service has not run here yet", {"path": str(path)})
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise Unavailable(f"cannot read {path}: {message}", {"path": str(path)}) from None
    try:
        return export_table(connection, table)
    finally:
        connection.close()


def read_table(
    client: BifrostClient | None, home: Path, service: str, file_stem: str, table: str
) -> pl.DataFrame:
    """`table` of `service`: through the owner when it answers, else from `<home>/<stem>.duckdb`."""
    if client is not None and client.answers(service):
        return fetch_export(client, service, table)
    return read_file_table(home / f"{file_stem}.duckdb", table)
