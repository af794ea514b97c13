"""The quotes and trades tables: live recording in batches, and trade-to-bar aggregation."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from bifrost.market.timeframes import timeframe_ns
from bifrost.store.database import query_frame

QUOTE_SCHEMA = {
    "symbol": pl.String,
    "ts": pl.Int64,
    "bid": pl.Float64,
    "ask": pl.Float64,
    "bid_size": pl.Float64,
    "ask_size": pl.Float64,
}
TRADE_SCHEMA = {
    "symbol": pl.String,
    "ts": pl.Int64,
    "price": pl.Float64,
    "size": pl.Float64,
    "side": pl.String,
    "trade_id": pl.String,
}


def append_rows(
    connection: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]
) -> int:
    """Append a batch of quote or trade bodies in one statement; returns the count."""
    if not rows:
        return 0
    schema = {"quotes": QUOTE_SCHEMA, "trades": TRADE_SCHEMA}[table]
    frame = pl.DataFrame(rows, schema=schema)  # keeps only the table's columns, in order
    connection.register("incoming_ticks", frame.to_arrow())
    try:
        connection.execute(
            f"INSERT INTO {table} ({', '.join(schema)}) "
            f"SELECT {', '.join(schema)} FROM incoming_ticks"
        )
    finally:
        connection.unregister("incoming_ticks")
    return frame.height


def trades_to_bars(
    connection: duckdb.DuckDBPyConnection,
    symbol: str,
    timeframe: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> pl.DataFrame:
    """OHLCV bars built in SQL from recorded trades of one symbol."""
    bucket = timeframe_ns(timeframe)
    return query_frame(
        connection,
        f"""
        SELECT symbol, ? AS timeframe, ts - ts % {bucket} AS ts,
               arg_min(price, ts) AS open, max(price) AS high, min(price) AS low,
               arg_max(price, ts) AS close, sum(size) AS volume
        FROM trades
        WHERE symbol = ? AND ts >= ? AND ts < ?
        GROUP BY symbol, ts - ts % {bucket}
        ORDER BY ts
        """,
        [timeframe, symbol, start_ns or -(2**62), end_ns or 2**62],
    )
