"""Live market data into data.duckdb: one batch of quotes, trades and closed bars at a time."""

from __future__ import annotations

from typing import Any

import duckdb

from bifrost.store.bars import upsert_bar_rows
from bifrost.store.ticks import append_rows


def record_batch(
    connection: duckdb.DuckDBPyConnection, batch: dict[str, list[dict[str, Any]]]
) -> dict[str, int]:
    """Write queued `quotes`, `trades` and `bars` (event bodies) in one transaction.

    Returns the rows written per kind; on any failure nothing of the batch is kept.
    """
    written = {"quotes": 0, "trades": 0, "bars": 0}
    connection.execute("BEGIN TRANSACTION")
    try:
        for table in ("quotes", "trades"):
            written[table] = append_rows(connection, table, batch.get(table, []))
        bars = batch.get("bars", [])
        if bars:
            upsert_bar_rows(connection, bars)
            written["bars"] = len(bars)
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise
    return written
