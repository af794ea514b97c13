"""Many rows into DuckDB in one statement, the rows travelling as one Arrow table.

A statement per row costs far more than its row, and so does a parameter per value:
1,200 journal rows take about 200 ms as one multi-row INSERT with parameters and about
6 ms as one Arrow table (bench/journal.py's neighbour measurements, docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb


@contextlib.contextmanager
def rows_as_table(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> Iterator[None]:
    """`rows` (values in `columns` order) readable as the view `name` inside the block."""
    import pyarrow as pa

    transposed = zip(*rows, strict=True)
    table = pa.table(
        {column: list(values) for column, values in zip(columns, transposed, strict=True)}
    )
    connection.register(name, table)
    try:
        yield
    finally:
        connection.unregister(name)


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
    with rows_as_table(connection, "incoming_rows", columns, rows):
        connection.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM incoming_rows")
