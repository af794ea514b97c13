"""The micro_metrics table of micro.duckdb: periodic metric rows of each symbol."""

from __future__ import annotations

from typing import Any

import duckdb

from bifrost.store.database import load_rows, query_frame

METRIC_COLUMNS = {
    "ts_ns": "BIGINT",
    "symbol": "VARCHAR",
    "best_bid": "DOUBLE",
    "best_ask": "DOUBLE",
    "mid": "DOUBLE",
    "spread": "DOUBLE",
    "spread_bps": "DOUBLE",
    "microprice": "DOUBLE",
    "bid_depth": "DOUBLE",
    "ask_depth": "DOUBLE",
    "imbalance": "DOUBLE",
    "top_imbalance": "DOUBLE",
    "realized_vol": "DOUBLE",
    "trade_sign_autocorr": "DOUBLE",
    "kyle_lambda": "DOUBLE",
    "amihud": "DOUBLE",
    "vpin": "DOUBLE",
    "quotes": "BIGINT",
    "trades": "BIGINT",
}


def append_metric_rows(connection: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> int:
    """Append metric maps (as `compute_metrics` makes them) in one statement; the count."""
    if not rows:
        return 0
    shaped = [{**row, "ts_ns": row["ts"]} for row in rows]
    load_rows(connection, "incoming_metrics", METRIC_COLUMNS, shaped)
    try:
        names = ", ".join(METRIC_COLUMNS)
        connection.execute(
            f"INSERT INTO micro_metrics ({names}) SELECT {names} FROM incoming_metrics"
        )
    finally:
        connection.execute("DROP TABLE incoming_metrics")
    return len(rows)


def metric_history(
    connection: duckdb.DuckDBPyConnection, symbol: str, limit: int = 100
) -> list[dict[str, Any]]:
    """The latest `limit` stored rows of a symbol, oldest first."""
    frame = query_frame(
        connection,
        "SELECT * FROM (SELECT * FROM micro_metrics WHERE symbol = ? "
        "ORDER BY ts_ns DESC LIMIT ?) ORDER BY ts_ns",
        [symbol, limit],
    )
    return list(frame.to_dicts())
