"""The order journal's feed of DuckDB: on a worker thread, before reads, after a crash."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bifrost.store.database import open_store
from bifrost.store.orders import OrderJournal
from bifrost.store.schema import EXECUTION

pytestmark = pytest.mark.timeout(30)


def order_rows(client_id: str, ts: int) -> list[list]:
    base = [client_id, "paper", "", "AAPL", "BUY", 1.0, "MARKET", None, None, "GTC", None, None]
    return [
        [*base, "ACCEPTED", 0.0, 0.0, ts, ts, "", "cid"],
        [*base, "FILLED", 1.0, 100.25, ts, ts + 1, "", "cid"],
    ]


def fill_rows(client_id: str, ts: int) -> list[list]:
    return [[f"t-{client_id}", client_id, "paper", "", "AAPL", "BUY", 1.0, 100.25, 0.0, ts, "c"]]


def test_a_feed_on_the_worker_lands_and_groups_committed_meanwhile_follow(tmp_path: Path):
    db = open_store(tmp_path / "execution.duckdb", migrations=EXECUTION)
    journal = OrderJournal(db, tmp_path / "execution.wal")
    for i in range(50):
        journal.commit(order_rows(f"o{i}", i), fill_rows(f"o{i}", i))
    journal.apply_soon()  # on the worker; the loop goes on committing
    for i in range(50, 60):
        journal.commit(order_rows(f"o{i}", i), fill_rows(f"o{i}", i))
    deadline = time.monotonic() + 10
    while journal.feeding:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    rows = journal.orders(limit=1000)  # a read feeds the rest first
    assert len(rows) == 60 and {r["status"] for r in rows} == {"FILLED"}
    assert len(journal.fills(limit=1000)) == 60
    assert [e["status"] for e in journal.events("o55")] == ["ACCEPTED", "FILLED"]
    assert db.execute("SELECT seq FROM journal_applied").fetchall() == [(60,)]
    journal.close()
    db.close()


def test_groups_only_in_the_log_reach_duckdb_at_the_next_start(tmp_path: Path):
    path, log = tmp_path / "execution.duckdb", tmp_path / "execution.wal"
    db = open_store(path, migrations=EXECUTION)
    journal = OrderJournal(db, log)
    journal.commit(order_rows("a", 1), fill_rows("a", 1))
    journal.apply()
    journal.commit(order_rows("b", 2), fill_rows("b", 2))  # durable in the log only
    db.close()  # a crash: no feed, no close
    journal.log.close()
    again = open_store(path, migrations=EXECUTION)
    reopened = OrderJournal(again, log)
    assert {r["client_order_id"] for r in reopened.orders()} == {"a", "b"}
    assert reopened.has_fill("t-b") and reopened.find("b") is not None
    assert again.execute("SELECT count(*) FROM order_events").fetchall() == [(4,)]
    reopened.close()
    again.close()
