"""Many rows into DuckDB in one statement, the rows travelling as one list per column.

A statement per row costs far more than its row, and so does a parameter per value:
1,200 journal rows take about 200 ms as one multi-row INSERT with parameters and about
3 ms as one list parameter per column, unnested side by side (bench/journal.py's
neighbour measurements, docs/ARCHITECTURE.md). Arrow tables were as fast, but handing
DuckDB an Arrow table makes it import pyarrow and pandas, about 90 MB in every daemon
that writes a row; lists are converted by DuckDB itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb


def unnested(columns: Sequence[str]) -> str:
    """The select list that turns parameters $1..$n (one list each) into rows of `columns`."""
    return ", ".join(f'unnest(${i}) AS "{column}"' for i, column in enumerate(columns, 1))


def column_lists(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """`rows` turned into one list of values per column."""
    if not rows:
        return [[] for _ in columns]
    lists = [list(values) for values in zip(*rows, strict=True)]
    if len(lists) != len(columns):
        raise ValueError(f"rows have {len(lists)} values, columns name {len(columns)}")
    return lists


@contextlib.contextmanager
def rows_as_table(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> Iterator[None]:
    """`rows` (values in `columns` order) readable as the temporary table `name` inside
    the block."""
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {unnested(columns)}",
        column_lists(columns, rows),
    )
    try:
        yield
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {name}")


def insert_rows(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Append `rows` (values in `columns` order) to `table` in one statement."""
    if not rows:
        return
    names = ", ".join(columns)
    connection.execute(
        f"INSERT INTO {table} ({names}) SELECT {unnested(columns)}",
        column_lists(columns, rows),
    )
