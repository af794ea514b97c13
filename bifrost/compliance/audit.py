"""The append-only audit trail of compliance.duckdb: each record holds the previous one's hash.

A record is (record_id, ts_ns, kind, source, event_key, cid, body, prev_hash, hash).
Its canonical encoding is the compact JSON array

    [record_id, ts_ns, kind, source, event_key, cid, body, prev_hash]

(UTF-8, no spaces; `body` is itself the canonical JSON text of the event: sorted keys,
no spaces) and `hash` is the hex sha256 of those bytes. The first record's prev_hash
is 64 zeros. Changing, removing or reordering any record breaks the chain at that
record or the next, and `verify` names the first broken one.

`event_key` makes recording idempotent: an event seen twice (a replay, a
reconciliation from execution's journal) is kept once. Own decisions and rule
changes have an empty key and are always recorded.

`append` links a record into the chain in memory; `flush` makes what is pending
durable with one append and one fdatasync to the write-ahead log beside the store
(`compliance.wal`): a DuckDB commit costs milliseconds, far more than its rows, so the
owner flushes once per loop turn for every decision of the turn (group commit) and
the rest on a short timer. The durable records reach the `audit` table in one
transaction, on a timer on a worker thread (`apply_soon`) and before anything reads
the table (`apply`); at start the log's
records beyond the table's last record_id are applied first, so a crash loses none.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from bifrost.store.bulk_rows import insert_rows
from bifrost.store.store_feed import StoreFeed
from bifrost.store.write_ahead_log import WriteAheadLog

GENESIS = "0" * 64
COLUMNS = (
    "record_id",
    "ts_ns",
    "kind",
    "source",
    "event_key",
    "cid",
    "body",
    "prev_hash",
    "hash",
)
VERIFY_BATCH = 10_000
LOG_RESET_BYTES = 4 * 1024 * 1024
"""The log is emptied after an apply once it holds more than this (it is all in the table)."""


def canonical_body(body: Any) -> str:
    """The one JSON text of an event body: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(
    record_id: int,
    ts_ns: int,
    kind: str,
    source: str,
    event_key: str,
    cid: str,
    body: str,
    prev_hash: str,
) -> str:
    """The hex sha256 of a record's canonical encoding (which includes prev_hash)."""
    fields = [record_id, ts_ns, kind, source, event_key, cid, body, prev_hash]
    encoded = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One link of the chain."""

    record_id: int
    ts_ns: int
    kind: str
    source: str
    event_key: str
    cid: str
    body: str
    prev_hash: str
    hash: str

    def row(self) -> tuple[int, int, str, str, str, str, str, str, str]:
        """The record's values in `COLUMNS` order."""
        return (
            self.record_id,
            self.ts_ns,
            self.kind,
            self.source,
            self.event_key,
            self.cid,
            self.body,
            self.prev_hash,
            self.hash,
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain map, with the body parsed back into data."""
        return {
            "record_id": self.record_id,
            "ts_ns": self.ts_ns,
            "kind": self.kind,
            "source": self.source,
            "event_key": self.event_key,
            "cid": self.cid,
            "body": json.loads(self.body),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class AuditTrail:
    """Appends hash-chained records; the only writer of the `audit` table and its log."""

    def __init__(self, db: duckdb.DuckDBPyConnection, log_path: Path) -> None:
        self.db = db
        self.log = WriteAheadLog(log_path)
        last = db.execute(
            "SELECT record_id, hash FROM audit ORDER BY record_id DESC LIMIT 1"
        ).fetchall()
        self.last_id, self.head = (int(last[0][0]), str(last[0][1])) if last else (0, GENESIS)
        keys = db.execute("SELECT event_key FROM audit WHERE event_key <> ''").fetchall()
        self.keys = {row[0] for row in keys}
        self.pending: list[AuditRecord] = []
        """Linked into the chain, not yet durable."""
        self._feed: StoreFeed[AuditRecord] = StoreFeed("audit-feed", _write, self._applied)
        """Durable in the log, on their way to the table."""
        self._recover()

    def _recover(self) -> None:
        """Records the log holds beyond the table's last one (a crash before `apply`)."""
        for row in self.log.records():
            record = AuditRecord(*row)
            if record.record_id == self.last_id + 1 and record.prev_hash == self.head:
                self._feed.add([record])
                self.last_id, self.head = record.record_id, record.hash
                if record.event_key:
                    self.keys.add(record.event_key)
        self.apply()
        self.log.reset()

    def seen(self, event_key: str) -> bool:
        """True when an event with this key is recorded already."""
        return event_key in self.keys

    def append(
        self,
        kind: str,
        source: str,
        body: Any,
        ts_ns: int,
        cid: str = "",
        event_key: str = "",
    ) -> AuditRecord | None:
        """Link one event into the chain (None when its key was recorded before); it is
        made durable by the next `flush`."""
        if event_key and event_key in self.keys:
            return None
        text = canonical_body(body)
        record_id = self.last_id + 1
        digest = record_hash(record_id, ts_ns, kind, source, event_key, cid, text, self.head)
        record = AuditRecord(
            record_id, ts_ns, kind, source, event_key, cid, text, self.head, digest
        )
        self.pending.append(record)
        self.last_id, self.head = record_id, digest
        if event_key:
            self.keys.add(event_key)
        return record

    def flush(self) -> int:
        """Make the pending records durable (one write, one fdatasync); returns how many.

        On failure the records stay pending for the next flush, so the chain on disk
        never has a hole.
        """
        if not self.pending:
            return 0
        records = self.pending
        self.log.append([record.row() for record in records])
        self.pending = []
        self._feed.add(records)
        return len(records)

    def apply(self) -> int:
        """Write the durable records the table lacks, now, in one transaction (before a
        read); returns how many. A feed under way on the worker is finished first."""
        return self._feed.feed_now(self.db)

    def apply_soon(self) -> None:
        """Timer: feed the table the durable records on the worker thread."""
        self._feed.feed_soon(self.db)

    def _applied(self, _: None) -> None:
        """On the owner's thread, once a feed committed."""
        if not self._feed.waiting and not self._feed.feeding and self.log.size > LOG_RESET_BYTES:
            self.log.reset()

    def sync(self) -> None:
        """Everything appended so far durable and in the table (before reading the table)."""
        self.flush()
        self.apply()

    def close(self) -> None:
        """Sync, empty the log and close it."""
        self.flush()
        self._feed.close(self.db)
        self.log.reset()
        self.log.close()


def _write(connection: duckdb.DuckDBPyConnection, records: list[AuditRecord]) -> None:
    """The records into the `audit` table in one transaction."""
    connection.execute("BEGIN TRANSACTION")
    try:
        insert_rows(connection, "audit", COLUMNS, [record.row() for record in records])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def verify(db: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Re-walk the chain; report how many records hold and the first broken link."""
    cursor = db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit ORDER BY record_id")
    expected_id, prev = 1, GENESIS
    checked = 0
    while batch := cursor.fetchmany(VERIFY_BATCH):
        for row in batch:
            record = AuditRecord(*row)
            problem = _problem(record, expected_id, prev)
            if problem:
                return {
                    "ok": False,
                    "records": checked,
                    "head": prev,
                    "broken": {"record_id": record.record_id, "problem": problem},
                }
            checked += 1
            expected_id, prev = record.record_id + 1, record.hash
    return {"ok": True, "records": checked, "head": prev, "broken": None}


def _problem(record: AuditRecord, expected_id: int, prev: str) -> str:
    """What is wrong with one record given the one before it ('' when nothing)."""
    if record.record_id != expected_id:
        return (
            f"record id {record.record_id} where {expected_id} was expected "
            "(a record is missing or repeated)"
        )
    if record.prev_hash != prev:
        return (
            f"prev_hash {record.prev_hash[:12]}… does not match the hash of record "
            f"{expected_id - 1} ({prev[:12]}…)"
        )
    recomputed = record_hash(
        record.record_id,
        record.ts_ns,
        record.kind,
        record.source,
        record.event_key,
        record.cid,
        record.body,
        record.prev_hash,
    )
    if recomputed != record.hash:
        return (
            f"content does not match its hash (stored {record.hash[:12]}…, "
            f"recomputed {recomputed[:12]}…): the record was changed"
        )
    return ""


def records_between(
    db: duckdb.DuckDBPyConnection,
    start_ns: int,
    end_ns: int,
    kinds: tuple[str, ...] = (),
) -> list[AuditRecord]:
    """Records with start_ns <= ts_ns < end_ns (of some kinds, when given), oldest first."""
    where = "ts_ns >= ? AND ts_ns < ?"
    params: list[Any] = [start_ns, end_ns]
    if kinds:
        where += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params += list(kinds)
    rows = db.execute(
        f"SELECT {', '.join(COLUMNS)} FROM audit WHERE {where} ORDER BY record_id", params
    ).fetchall()
    return [AuditRecord(*row) for row in rows]


def last_body(db: duckdb.DuckDBPyConnection, kind: str) -> Any:
    """The body of the newest record of `kind` (None when there is none)."""
    rows = db.execute(
        "SELECT body FROM audit WHERE kind = ? ORDER BY record_id DESC LIMIT 1", [kind]
    ).fetchall()
    return json.loads(rows[0][0]) if rows else None
