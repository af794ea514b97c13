"""The SQL console: joins across two services' stores from their files and through their
running owners, and refusal of anything that writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bifrost.config import load_config
from bifrost.errors import BadRequest, NotFound
from bifrost.sql.console import SqlConsole
from bifrost.store.database import open_store
from bifrost.store.schema import DATA, EXECUTION
from tests.bifrost.conftest import services_running
from tests.conftest import write_config

JOIN = (
    "SELECT f.trade_id, f.symbol, i.currency FROM execution.fills f "
    "JOIN data.instruments i USING (symbol) ORDER BY f.trade_id"
)
WRITES = [
    "INSERT INTO execution.fills SELECT * FROM execution.fills",
    "UPDATE data.instruments SET currency = 'EUR'",
    "DELETE FROM execution.fills",
    "CREATE TABLE data.evil AS SELECT 1",
    "DROP TABLE data.instruments",
    "ATTACH '/tmp/other.duckdb' AS other",
    "COPY data.instruments TO '/tmp/out.csv'",
    "PRAGMA enable_profiling",
    "CHECKPOINT",
    "SET threads = 1",
    "SELECT 1; DELETE FROM execution.fills",
]
HIDDEN_WRITES = [
    "WITH gone AS (DELETE FROM execution.fills RETURNING *) SELECT * FROM gone",
    "WITH added AS (INSERT INTO execution.fills SELECT * FROM execution.fills RETURNING *) "
    "SELECT count(*) FROM added",
    "WITH moved AS (UPDATE data.instruments SET currency = 'EUR' RETURNING *) FROM moved",
    "SELECT nextval('some_sequence')",
    "SELECT setseed(0.5)",
    "FROM checkpoint()",
    "FROM query('DELETE FROM execution.fills RETURNING *')",
]
FILE_READS = [
    "SELECT * FROM read_csv('/etc/hostname')",
    "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM '/etc/hostname'",
    "SELECT * FROM 'prices.csv'",
    "SELECT count(*) FROM execution.fills WHERE symbol IN (SELECT * FROM read_text('/etc/hosts'))",
]
READS = [
    "DESCRIBE execution.fills",
    "SHOW ALL TABLES",
    "SELECT symbol FROM execution.fills UNION SELECT symbol FROM data.instruments",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) FROM n",
    "SELECT * FROM range(3)",
]


def make_stores(home: Path) -> None:
    """data.duckdb with two instruments, execution.duckdb with two fills."""
    with open_store(home / "data.duckdb", migrations=DATA) as db:
        db.execute(
            "INSERT INTO instruments VALUES "
            "('AAPL', 'XNAS', 'equity', 'USD', 0.01, 1, 1, 'XNYS', 0, 0), "
            "('SAP', 'XETR', 'equity', 'EUR', 0.01, 1, 1, 'XETR', 0, 0)"
        )
    with open_store(home / "execution.duckdb", migrations=EXECUTION) as db:
        db.execute(
            "INSERT INTO fills VALUES "
            "('t1', 'o1', 'paper', '', 'AAPL', 'BUY', 10, 190.0, 0, 1, 'c1'), "
            "('t2', 'o2', 'paper', '', 'SAP', 'SELL', 5, 120.0, 0, 2, 'c2')"
        )


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with both stores, shared by the tests that only read it."""
    home = tmp_path_factory.mktemp("stores")
    make_stores(home)
    return home


def digest(home: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(home.glob("*.duckdb"))
    }


def test_join_across_two_files_offline(stores: Path) -> None:
    result = SqlConsole(stores, None).query(JOIN)
    assert result.frame.rows() == [("t1", "AAPL", "USD"), ("t2", "SAP", "EUR")]
    assert result.sources == {"data": "file", "execution": "file"}


@pytest.mark.parametrize("statement", WRITES)
def test_writing_statements_are_refused_and_files_unchanged(stores: Path, statement: str) -> None:
    before = digest(stores)
    with pytest.raises(BadRequest, match=r"read-only|exactly one statement"):
        SqlConsole(stores, None).query(statement)
    assert digest(stores) == before


@pytest.mark.parametrize("statement", HIDDEN_WRITES)
def test_writes_hidden_in_a_select_are_refused_and_files_unchanged(
    stores: Path, statement: str
) -> None:
    before = digest(stores)
    with pytest.raises(BadRequest, match="read-only"):
        SqlConsole(stores, None).query(statement)
    assert digest(stores) == before


@pytest.mark.parametrize("statement", FILE_READS)
def test_reads_of_other_files_are_refused(stores: Path, statement: str) -> None:
    with pytest.raises(BadRequest, match="reading files is disabled"):
        SqlConsole(stores, None).query(statement)


@pytest.mark.parametrize("statement", READS)
def test_read_forms_still_run(stores: Path, statement: str) -> None:
    assert SqlConsole(stores, None).query(statement).frame.height > 0


def test_query_cannot_reach_other_files(stores: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(BadRequest, match="disabled"):
        SqlConsole(stores, None).query(f"SELECT * FROM read_csv('{secret}')")


def test_a_store_that_does_not_exist_is_named(stores: Path) -> None:
    with pytest.raises(NotFound, match="no store for news"):
        SqlConsole(stores, None).query("SELECT * FROM news.articles")


def test_join_through_running_owners(tmp_path: Path, home: Path) -> None:
    make_stores(home)
    config = load_config(write_config(tmp_path, services=("data", "execution")))
    with services_running(config, home, ("data", "execution")) as client:
        console = SqlConsole(home, client)
        result = console.query(JOIN)
        assert result.sources == {"data": "daemon", "execution": "daemon"}
        assert result.frame.rows() == [("t1", "AAPL", "USD"), ("t2", "SAP", "EUR")]
        with pytest.raises(NotFound, match="no table 'nope'"):
            console.query("SELECT * FROM data.nope")
        with pytest.raises(BadRequest, match="read-only"):
            console.query("DELETE FROM execution.fills")
        for statement in HIDDEN_WRITES:  # the copies fetched from the owners are not writable
            with pytest.raises(BadRequest, match="read-only"):
                console.query(statement)
        with pytest.raises(BadRequest, match="reading files is disabled"):
            console.query(FILE_READS[0])
        assert console.query("SELECT count(*) FROM execution.fills").frame.rows() == [(2,)]
        listed = {(t["schema"], t["name"]) for t in console.tables()}
        assert {("data", "instruments"), ("execution", "fills")} <= listed
    rows = SqlConsole(home, None).query("SELECT count(*) FROM execution.fills").frame.rows()
    assert rows == [(2,)]
