"""Article sentiment scores read from the news service's file (news.duckdb), when it has them.

When the news service is down, the ml service reads this file, and only when it
exists and holds an article table with a time, a score and a symbol (or symbols)
column; otherwise there is no sentiment and the models train without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from bifrost.store.database import query_frame

if TYPE_CHECKING:
    import polars as pl

TABLES = ("article_symbols", "articles")
TIME_COLUMNS = ("ts", "ts_ns", "published_ns")
SCORE_COLUMNS = ("score", "sentiment")
SYMBOL_COLUMNS = ("symbols", "symbol")


def article_scores(
    path: Path, symbols: list[str], start_ns: int | None = None
) -> dict[str, pl.DataFrame]:
    """Per symbol, (ts, score) of its articles from `start_ns` on; empty when the file or
    table is not there or the news service holds the file."""
    if not path.exists():
        return {}
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return {}  # held by the running news service, or not a DuckDB file
    try:
        found = _find_columns(connection)
        if found is None:
            return {}
        table, ts, score, symbol = found
        member = f"list_contains({symbol}, ?)" if symbol == "symbols" else f"{symbol} = ?"
        return {
            name: query_frame(
                connection,
                f"SELECT {ts}::BIGINT AS ts, {score}::DOUBLE AS score FROM {table} "
                f"WHERE {member} AND {score} IS NOT NULL AND {ts} >= ? ORDER BY ts",
                [name, start_ns if start_ns is not None else -(2**62)],
            )
            for name in symbols
        }
    finally:
        connection.close()


def _find_columns(connection: duckdb.DuckDBPyConnection) -> tuple[str, str, str, str] | None:
    rows = connection.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    for table in TABLES:
        have = columns.get(table, set())
        picks = [next((c for c in options if c in have), None) for options in (
            TIME_COLUMNS, SCORE_COLUMNS, SYMBOL_COLUMNS
        )]
        if all(picks):
            return table, picks[0], picks[1], picks[2]  # type: ignore[return-value]
    return None
