"""Quarantined rows: listing them, and releasing the ones the hard rules let through.

A release re-reads each row from the original values kept in `quarantine` (through
the reader, in the zone its import used) and runs the hard rules again: the
row-local ones, and `duplicate_timestamp` against the bars already stored. A row
that passes is upserted into `bars` and leaves quarantine; a row that fails stays,
and the answer names its reason. `out_of_order` and the warning rules are not
re-run: they judge a row by its neighbours in the file, and whoever releases a row
has looked at it. Each release that admits rows is recorded in `imports` (kind
`release`) in the same transaction as its upsert, so the store says where every bar
came from.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import duckdb
import polars as pl

from bifrost.clock import Clock, LiveClock
from bifrost.errors import NotFound
from bifrost.market.ingest.reader import parse_table
from bifrost.market.ingest.validate import REASON_TEXT, row_reason
from bifrost.store.bars import BAR_COLUMNS, upsert_bars

STORED_DUPLICATE = "a bar at this time is already stored"
_COLUMNS = "import_id, file, line, symbol, timeframe, ts, reason, CAST(row AS VARCHAR) AS row"


def list_quarantine(
    connection: duckdb.DuckDBPyConnection, import_id: str | None = None
) -> dict[str, Any]:
    """Rows in quarantine (of one import, or all), oldest import first, in file order.

    NotFound when `import_id` names no import.
    """
    if import_id is not None:
        import_options(connection, import_id)  # NotFound for an unknown import
    where, params = ("WHERE q.import_id = ?", [import_id]) if import_id else ("", [])
    found = connection.execute(
        f"""
        SELECT q.import_id, q.file, q.line, q.symbol, q.timeframe, q.ts, q.reason,
               CAST(q.row AS VARCHAR) AS row
        FROM quarantine q JOIN imports i USING (import_id)
        {where}
        ORDER BY i.started_ns, q.import_id, q.file, q.line
        """,
        params,
    )
    names = [d[0] for d in found.description]
    rows = [dict(zip(names, values, strict=True)) for values in found.fetchall()]
    for row in rows:
        row["row"] = json.loads(row["row"])
        row["detail"] = REASON_TEXT.get(row["reason"], row["reason"])
    return {"import_id": import_id, "count": len(rows), "rows": rows}


def import_options(connection: duckdb.DuckDBPyConnection, import_id: str) -> dict[str, Any]:
    """The stored report of an import (its `tz` and `strict`); NotFound when unknown."""
    found = connection.execute(
        "SELECT CAST(report AS VARCHAR) FROM imports WHERE import_id = ?", [import_id]
    ).fetchall()
    if not found:
        raise NotFound(f"no import {import_id}", {"import_id": import_id})
    return dict(json.loads(found[0][0]))


def release_rows(
    connection: duckdb.DuckDBPyConnection,
    import_id: str,
    line: int | None = None,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Release the quarantined rows of an import (or its rows at `line`) that pass again.

    Returns {release_id, import_id, line, released: [...], refused: [...]}; NotFound
    when the import is unknown or holds no quarantined row at `line`.
    """
    tz = str(import_options(connection, import_id).get("tz") or "UTC")
    held = quarantine_frame(connection, import_id, line)
    if held.is_empty():
        where = f" at line {line}" if line is not None else ""
        raise NotFound(f"import {import_id} has no quarantined row{where}", {"line": line})
    judged = recheck(connection, held, tz)
    passes = pl.col("recheck").is_null()
    passed = judged.filter(passes)
    release_id = str(uuid.uuid4())
    result = {
        "release_id": release_id,
        "import_id": import_id,
        "line": line,
        "released": [released_entry(r) for r in passed.iter_rows(named=True)],
        "refused": [refused_entry(r) for r in judged.filter(~passes).iter_rows(named=True)],
    }
    if passed.is_empty():
        return result  # nothing changes: nothing to record
    started_ns = (clock or LiveClock()).now_ns()
    connection.execute("BEGIN TRANSACTION")
    try:
        store_release(connection, import_id, passed)
        connection.execute(
            "INSERT INTO imports (import_id, started_ns, files, report) VALUES (?, ?, ?, ?)",
            [
                release_id,
                started_ns,
                sorted(set(passed["file"].to_list())),
                json.dumps({"kind": "release", **result}),
            ],
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return result


def quarantine_frame(
    connection: duckdb.DuckDBPyConnection, import_id: str, line: int | None
) -> pl.DataFrame:
    """The quarantined rows of one import (at one line when given), in file order."""
    sql = f"SELECT {_COLUMNS} FROM quarantine WHERE import_id = ?"
    params: list[object] = [import_id]
    if line is not None:
        sql += " AND line = ?"
        params.append(line)
    return connection.sql(sql + " ORDER BY file, line", params=params).pl()


def recheck(connection: duckdb.DuckDBPyConnection, held: pl.DataFrame, tz: str) -> pl.DataFrame:
    """`held` re-parsed, with `recheck` (the hard reason a row still breaks, else null)."""
    parsed = pl.concat(
        [reparse(group, tz) for group in held.partition_by("file", maintain_order=True)]
    )
    frames = []
    for group in parsed.partition_by("symbol", "timeframe", maintain_order=True):
        checked = group.with_columns(recheck=row_reason())
        stored = stored_times(connection, group)
        taken = pl.col("recheck").is_null() & pl.col("ts").is_in(stored.implode())
        frames.append(
            checked.with_columns(
                recheck=pl.when(taken).then(pl.lit("duplicate_timestamp")).otherwise("recheck"),
                stored_duplicate=taken,
            )
        )
    return pl.concat(frames).sort("file", "line")


def reparse(held: pl.DataFrame, tz: str) -> pl.DataFrame:
    """One file's quarantined rows read again from their original values."""
    from pathlib import Path

    records = [json.loads(text) for text in held["row"]]
    table = pl.DataFrame(records, infer_schema_length=None)
    table = table.with_columns(pl.col(pl.Null).cast(pl.String))
    rows = parse_table(Path(held["file"][0]), table, held["line"], tz)
    return rows.with_columns(
        file=pl.lit(held["file"][0]),
        symbol=held["symbol"],
        timeframe=held["timeframe"],
        quarantined_for=held["reason"],
    )


def stored_times(connection: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> pl.Series:
    """The times of `rows` that already hold a stored bar of their symbol and timeframe."""
    times = [int(t) for t in rows["ts"].drop_nulls()]
    if not times:
        return pl.Series("ts", [], dtype=pl.Int64)
    found = connection.execute(
        "SELECT ts FROM bars WHERE symbol = ? AND timeframe = ? AND list_contains(?, ts)",
        [rows["symbol"][0], rows["timeframe"][0], times],
    ).fetchall()
    return pl.Series("ts", [t for (t,) in found], dtype=pl.Int64)


def store_release(
    connection: duckdb.DuckDBPyConnection, import_id: str, passed: pl.DataFrame
) -> None:
    """Upsert the released bars and take their rows out of quarantine (caller's transaction)."""
    upsert_bars(connection, passed.select(BAR_COLUMNS))
    connection.register("released_rows", passed.select("file", "line").to_arrow())
    try:
        connection.execute(
            """
            DELETE FROM quarantine
            WHERE import_id = ? AND (file, line) IN (SELECT (file, line) FROM released_rows)
            """,
            [import_id],
        )
    finally:
        connection.unregister("released_rows")


def released_entry(row: dict[str, Any]) -> dict[str, Any]:
    """A released row as the answer lists it."""
    keys = ("file", "line", "symbol", "timeframe", "ts", "quarantined_for")
    return {key: row[key] for key in keys}


def refused_entry(row: dict[str, Any]) -> dict[str, Any]:
    """A row that stays quarantined, with the rule it still breaks and what that means."""
    reason = row["recheck"]
    detail = STORED_DUPLICATE if row["stored_duplicate"] else REASON_TEXT[reason]
    return {
        "file": row["file"],
        "line": row["line"],
        "symbol": row["symbol"],
        "ts": row["ts"],
        "reason": reason,
        "detail": detail,
    }
