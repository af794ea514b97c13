"""Table exports for the SQL console: listed tables only, whole tables, a size cap."""

from __future__ import annotations

import duckdb
import pytest

from bifrost.errors import BadRequest, NotFound
from bifrost.store.export import MAX_EXPORT_ROWS, export_table, list_tables


@pytest.fixture
def db() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE fills (symbol VARCHAR, quantity DOUBLE)")
    connection.execute("INSERT INTO fills VALUES ('AAPL', 10), ('MSFT', 5)")
    return connection


def test_list_tables_gives_columns_and_rows(db: duckdb.DuckDBPyConnection) -> None:
    assert list_tables(db) == [
        {
            "name": "fills",
            "columns": [
                {"name": "symbol", "type": "VARCHAR"},
                {"name": "quantity", "type": "DOUBLE"},
            ],
            "rows": 2,
        }
    ]


def test_export_returns_the_whole_table(db: duckdb.DuckDBPyConnection) -> None:
    assert export_table(db, "fills").rows() == [("AAPL", 10.0), ("MSFT", 5.0)]


def test_a_name_the_store_does_not_list_is_not_found(db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(NotFound, match="tables: fills"):
        export_table(db, 'fills"; DROP TABLE fills; --')
    assert db.execute("SELECT count(*) FROM fills").fetchall() == [(2,)]


def test_a_table_over_the_cap_is_refused(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(f"CREATE TABLE big AS SELECT range AS x FROM range({MAX_EXPORT_ROWS + 1})")
    with pytest.raises(BadRequest, match="more than one export carries"):
        export_table(db, "big")
