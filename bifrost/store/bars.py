"""The bars table: set-based upserts from Polars frames, range queries, resampling.

Everything here is one SQL statement over whole frames; nothing inserts row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

from bifrost.market.timeframes import check_resample, timeframe_ns
from bifrost.store.database import load_rows, query_frame

if TYPE_CHECKING:
    import polars as pl

BAR_COLUMNS = ("symbol", "timeframe", "ts", "open", "high", "low", "close", "volume")
_VALUES = ("open", "high", "low", "close", "volume")
BAR_SQL_TYPES = {
    "symbol": "VARCHAR",
    "timeframe": "VARCHAR",
    "ts": "BIGINT",
    **dict.fromkeys(_VALUES, "DOUBLE"),
}


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What an upsert did: rows new to the store, rows that changed, rows already there."""

    inserted: int
    updated: int
    unchanged: int


def upsert_bars(connection: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> UpsertCounts:
    """Insert new bars and overwrite changed ones; identical bars are left alone.

    Runs inside the caller's transaction. `frame` must hold BAR_COLUMNS with unique keys.
    """
    import polars as pl

    schema: dict[Any, Any] = {"symbol": pl.String, "timeframe": pl.String, "ts": pl.Int64}
    schema.update(dict.fromkeys(_VALUES, pl.Float64))
    incoming = frame.select(BAR_COLUMNS).cast(schema)
    connection.register("incoming_bars", incoming.to_arrow())
    try:
        return _upsert_incoming(connection)
    finally:
        connection.unregister("incoming_bars")


def upsert_bar_rows(
    connection: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]
) -> UpsertCounts:
    """`upsert_bars` for a few bars given as plain maps (the live path: no Arrow needed)."""
    load_rows(connection, "incoming_bars", BAR_SQL_TYPES, rows)
    try:
        return _upsert_incoming(connection)
    finally:
        connection.execute("DROP TABLE incoming_bars")


def _upsert_incoming(connection: duckdb.DuckDBPyConnection) -> UpsertCounts:
    differs = " OR ".join(f"b.{c} IS DISTINCT FROM n.{c}" for c in _VALUES)
    counts = connection.execute(
        f"""
        SELECT count(*) FILTER (WHERE b.ts IS NULL),
               count(*) FILTER (WHERE b.ts IS NOT NULL AND ({differs})),
               count(*) FILTER (WHERE b.ts IS NOT NULL AND NOT ({differs}))
        FROM incoming_bars n
        LEFT JOIN bars b USING (symbol, timeframe, ts)
        """
    ).fetchall()
    inserted, updated, unchanged = (int(x) for x in counts[0])
    if inserted and not (updated or unchanged):
        # No incoming key is stored yet (a new series or a later range: the usual
        # import), so nothing can conflict. A plain INSERT skips ON CONFLICT's
        # per-row conflict handling: 15-20% less insert + commit time on 10M 1m bars.
        connection.execute(f"INSERT INTO bars SELECT {', '.join(BAR_COLUMNS)} FROM incoming_bars")
    elif inserted or updated:
        connection.execute(
            f"""
            INSERT INTO bars SELECT {", ".join(BAR_COLUMNS)} FROM incoming_bars
            ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET
                {", ".join(f"{c} = excluded.{c}" for c in _VALUES)}
            """
        )
    return UpsertCounts(inserted, updated, unchanged)


def list_series(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per stored (symbol, timeframe): first and last bar time and row count."""
    return query_frame(
        connection,
        """
        SELECT symbol, timeframe, min(ts) AS first, max(ts) AS last, count(*) AS rows
        FROM bars GROUP BY symbol, timeframe ORDER BY symbol, timeframe
        """,
    )


def last_closes(connection: duckdb.DuckDBPyConnection, symbols: list[str]) -> dict[str, float]:
    """The close of each symbol's latest stored bar (the one that ends last, whatever its
    timeframe); a symbol without bars is left out."""
    rows = connection.execute(
        """
        SELECT symbol, timeframe, max(ts), arg_max(close, ts) FROM bars
        WHERE list_contains(?, symbol) GROUP BY symbol, timeframe
        """,
        [symbols],
    ).fetchall()
    latest: dict[str, tuple[int, float]] = {}
    for symbol, timeframe, ts, close in rows:
        end = int(ts) + timeframe_ns(timeframe)
        if close and close > 0 and (symbol not in latest or end > latest[symbol][0]):
            latest[symbol] = (end, float(close))
    return {symbol: close for symbol, (_, close) in latest.items()}


def bars_between(
    connection: duckdb.DuckDBPyConnection,
    symbol: str,
    timeframe: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> pl.DataFrame:
    """Stored bars of one series with start <= ts < end, in time order."""
    return bars_of_symbols(connection, [symbol], timeframe, start_ns, end_ns)


def bars_of_symbols(
    connection: duckdb.DuckDBPyConnection,
    symbols: Sequence[str],
    timeframe: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> pl.DataFrame:
    """Stored `timeframe` bars of every symbol in `symbols` with start <= ts < end, in one
    query; ordered by symbol, then time."""
    return query_frame(
        connection,
        """
        SELECT symbol, timeframe, ts, open, high, low, close, volume FROM bars
        WHERE list_contains(?, symbol) AND timeframe = ? AND ts >= ? AND ts < ?
        ORDER BY symbol, ts
        """,
        [list(symbols), timeframe, start_ns or -(2**62), end_ns or 2**62],
    )


def resample_bars(
    connection: duckdb.DuckDBPyConnection,
    symbol: str,
    source: str,
    target: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> pl.DataFrame:
    """Build `target` bars from stored `source` bars in SQL (first open, max high, ...)."""
    return resample_symbols(connection, [symbol], source, target, start_ns, end_ns)


def resample_symbols(
    connection: duckdb.DuckDBPyConnection,
    symbols: Sequence[str],
    source: str,
    target: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> pl.DataFrame:
    """`target` bars of every symbol in `symbols` from their stored `source` bars in one
    query (first open, max high, ...); ordered by symbol, then time. One query for 20
    symbols takes about a tenth of the time of 20 queries of one symbol each."""
    bucket = check_resample(source, target)
    return query_frame(
        connection,
        f"""
        SELECT symbol, ? AS timeframe, ts - ts % {bucket} AS ts,
               arg_min(open, ts) AS open, max(high) AS high, min(low) AS low,
               arg_max(close, ts) AS close, sum(volume) AS volume
        FROM bars
        WHERE list_contains(?, symbol) AND timeframe = ? AND ts >= ? AND ts < ?
        GROUP BY symbol, ts - ts % {bucket}
        ORDER BY symbol, ts
        """,
        [target, list(symbols), source, start_ns or -(2**62), end_ns or 2**62],
    )
