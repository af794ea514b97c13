"""The quotes and trades tables: live recording in batches, and trade-to-bar aggregation."""

from __future__ import annotations

from typing import Any

import duckdb

from bifrost.market.timeframes import timeframe_ns
from bifrost.store.database import load_rows, query_frame

QUOTE_COLUMNS = {
    "symbol": "VARCHAR",
    "ts": "BIGINT",
    "bid": "DOUBLE",
    "ask": "DOUBLE",
    "bid_size": "DOUBLE",
    "ask_size": "DOUBLE",
}
TRADE_COLUMNS = {
    "symbol": "VARCHAR",
    "ts": "BIGINT",
    "price": "DOUBLE",
    "size": "DOUBLE",
    "side": "VARCHAR",
    "trade_id": "VARCHAR",
}


def append_rows(
    connection: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]
) -> int:
    """Append a batch of quote or trade bodies in one statement; returns the count."""
    if not rows:
        return 0
    columns = {"quotes": QUOTE_COLUMNS, "trades": TRADE_COLUMNS}[table]
    load_rows(connection, "incoming_ticks", columns, rows)
    try:
        names = ", ".join(columns)
        connection.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM incoming_ticks")
    finally:
        connection.execute("DROP TABLE incoming_ticks")
    return len(rows)


def trades_to_bars(
    connection: duckdb.DuckDBPyConnection,
    symbol: str,
    timeframe: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> Any:
    """OHLCV bars (a Polars frame) built in SQL from recorded trades of one symbol."""
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


QUOTE_FIELDS = "ts, bid, ask, bid_size, ask_size"
TRADE_FIELDS = "ts, price, size, side"


def trades_between(
    connection: duckdb.DuckDBPyConnection,
    symbol: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> Any:
    """Recorded trades of `symbol` with start <= ts < end, in time order (may be empty)."""
    return query_frame(
        connection,
        f"SELECT {TRADE_FIELDS} FROM trades WHERE symbol = ? AND ts >= ? AND ts < ? ORDER BY ts",
        [symbol, start_ns or -(2**62), end_ns or 2**62],
    )


def latest_rows(
    connection: duckdb.DuckDBPyConnection, table: str, symbol: str, window_ns: int
) -> Any:
    """The `quotes` or `trades` of `symbol` in the `window_ns` before its latest one."""
    fields = {"quotes": QUOTE_FIELDS, "trades": TRADE_FIELDS}[table]
    return query_frame(
        connection,
        f"""
        SELECT {fields} FROM {table}
        WHERE symbol = ? AND ts >= (SELECT max(ts) FROM {table} WHERE symbol = ?) - ?
        ORDER BY ts
        """,
        [symbol, symbol, window_ns],
    )
