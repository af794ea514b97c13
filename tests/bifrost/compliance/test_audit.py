"""The hash chain of the audit trail: appends, idempotent keys, restarts and every kind of
tampering `verify` must name (changed content, changed hash, a removed record)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from bifrost.compliance.audit import GENESIS, AuditTrail, canonical_body, record_hash, verify
from bifrost.store.database import open_store
from bifrost.store.schema import COMPLIANCE


@pytest.fixture
def db(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = open_store(tmp_path / "compliance.duckdb", migrations=COMPLIANCE)
    yield connection
    connection.close()


def trail_of(db: duckdb.DuckDBPyConnection) -> AuditTrail:
    """The trail of `db`, with its write-ahead log beside the store file."""
    store_file = db.execute("PRAGMA database_list").fetchall()[0][2]
    return AuditTrail(db, Path(store_file).with_suffix(".wal"))


def fill_trail(db: duckdb.DuckDBPyConnection, count: int = 3) -> AuditTrail:
    trail = trail_of(db)
    for i in range(count):
        trail.append("order", "execution", {"id": f"o{i}", "px": 1.5 * i}, 1_000 + i, "c", f"k{i}")
    trail.sync()
    return trail


def test_chain_links_each_record_to_the_previous_hash(db: duckdb.DuckDBPyConnection) -> None:
    fill_trail(db)
    rows = db.execute("SELECT record_id, prev_hash, hash FROM audit ORDER BY record_id").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]
    assert rows[0][1] == GENESIS
    assert [r[1] for r in rows[1:]] == [r[2] for r in rows[:-1]]
    assert verify(db) == {"ok": True, "records": 3, "head": rows[-1][2], "broken": None}


def test_hash_is_sha256_of_the_canonical_array() -> None:
    body = canonical_body({"b": 1, "a": "é"})
    assert body == '{"a":"é","b":1}'
    encoded = '[1,5,"fill","execution","k","c","{\\"a\\":\\"é\\",\\"b\\":1}","' + GENESIS + '"]'
    expected = hashlib.sha256(encoded.encode("utf-8")).hexdigest()
    assert record_hash(1, 5, "fill", "execution", "k", "c", body, GENESIS) == expected


def test_an_event_key_is_recorded_once(db: duckdb.DuckDBPyConnection) -> None:
    trail = fill_trail(db, 1)
    assert trail.append("order", "execution", {"again": True}, 2_000, "c", "k0") is None
    assert trail.append("rule", "compliance", {"x": 1}, 2_000) is not None
    assert trail.flush() == 1
    trail.apply()
    assert verify(db)["records"] == 2


def test_chain_continues_after_a_restart(db: duckdb.DuckDBPyConnection) -> None:
    fill_trail(db, 2)
    reopened = trail_of(db)
    assert reopened.seen("k1")
    reopened.append("rule", "compliance", {"x": 1}, 3_000)
    reopened.sync()
    assert verify(db)["ok"] and verify(db)["records"] == 3


def test_verify_names_a_record_whose_content_changed(db: duckdb.DuckDBPyConnection) -> None:
    fill_trail(db)
    db.execute("""UPDATE audit SET body = '{"id":"o1","px":999}' WHERE record_id = 2""")
    report = verify(db)
    assert not report["ok"] and report["records"] == 1
    assert report["broken"]["record_id"] == 2
    assert "content does not match its hash" in report["broken"]["problem"]


def test_verify_names_the_next_record_when_a_hash_was_recomputed_too(
    db: duckdb.DuckDBPyConnection,
) -> None:
    fill_trail(db)
    prev = db.execute("SELECT prev_hash FROM audit WHERE record_id = 2").fetchall()[0][0]
    forged = '{"id":"o1","px":999}'
    digest = record_hash(2, 1_001, "order", "execution", "k1", "c", forged, prev)
    db.execute("UPDATE audit SET body = ?, hash = ? WHERE record_id = 2", [forged, digest])
    broken = verify(db)["broken"]
    assert broken["record_id"] == 3
    assert "does not match the hash of record 2" in broken["problem"]


def test_verify_names_a_removed_record(db: duckdb.DuckDBPyConnection) -> None:
    fill_trail(db)
    db.execute("DELETE FROM audit WHERE record_id = 2")
    broken = verify(db)["broken"]
    assert broken["record_id"] == 3
    assert "2 was expected" in broken["problem"]


def test_verify_of_an_empty_trail_is_ok(db: duckdb.DuckDBPyConnection) -> None:
    assert verify(db) == {"ok": True, "records": 0, "head": GENESIS, "broken": None}


def test_records_reach_the_table_only_when_applied(db: duckdb.DuckDBPyConnection) -> None:
    trail = trail_of(db)
    for i in range(1_200):  # more than one INSERT batch
        trail.append("fill", "execution", {"n": i}, i, "", f"fill:{i}")
    assert trail.flush() == 1_200
    assert verify(db)["records"] == 0
    assert trail.apply() == 1_200
    assert verify(db) == {"ok": True, "records": 1_200, "head": trail.head, "broken": None}


def test_flushed_records_survive_a_crash_before_they_reach_the_table(tmp_path: Path) -> None:
    path = tmp_path / "compliance.duckdb"
    db = open_store(path, migrations=COMPLIANCE)
    trail = AuditTrail(db, tmp_path / "compliance.wal")
    trail.append("decision", "compliance", {"n": 1}, 1, "c1")
    trail.sync()
    trail.append("decision", "compliance", {"n": 2}, 2, "c2")
    trail.append("fill", "execution", {"n": 3}, 3, "c3", "fill:3")
    trail.flush()  # durable in the log only; then the process dies
    head = trail.head
    db.close()
    again = open_store(path, migrations=COMPLIANCE)
    reopened = AuditTrail(again, tmp_path / "compliance.wal")
    assert reopened.last_id == 3 and reopened.head == head and reopened.seen("fill:3")
    assert verify(again) == {"ok": True, "records": 3, "head": head, "broken": None}
    reopened.append("rule", "compliance", {"x": 1}, 4)
    reopened.close()
    assert verify(again)["records"] == 4
    again.close()
