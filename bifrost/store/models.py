"""The model registry and predictions of ml.duckdb: rows in, rows out (no unpickling here)."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from bifrost.errors import NotFound

MODEL_COLUMNS = (
    "name",
    "version",
    "kind",
    "params",
    "features",
    "symbols",
    "timeframe",
    "horizon",
    "train_start",
    "train_end",
    "rows",
    "metrics",
    "created_ns",
    "code_version",
)
"""Every column but the serialized model and its signature."""
PREDICTION_COLUMNS = (
    "ts_ns",
    "symbol",
    "model",
    "version",
    "bar_ts",
    "score",
    "probability",
    "source",
)


def next_version(connection: duckdb.DuckDBPyConnection, name: str) -> int:
    """1 for a new name, else one more than its latest version."""
    rows = connection.execute(
        "SELECT coalesce(max(version), 0) FROM models WHERE name = ?", [name]
    ).fetchall()
    return int(rows[0][0]) + 1


def insert_model(
    connection: duckdb.DuckDBPyConnection, record: dict[str, Any], blob: bytes, signature: str
) -> None:
    """Store one model version (a map with MODEL_COLUMNS) with its signed bytes."""
    values = [
        json.dumps(record[c]) if c in ("params", "metrics") else record[c] for c in MODEL_COLUMNS
    ]
    connection.execute(
        f"INSERT INTO models ({', '.join(MODEL_COLUMNS)}, model, signature) "
        f"VALUES ({', '.join('?' for _ in range(len(MODEL_COLUMNS) + 2))})",
        [*values, blob, signature],
    )


def model_rows(connection: duckdb.DuckDBPyConnection, latest_only: bool) -> list[dict[str, Any]]:
    """Every model version (or each name's latest), newest first, without the bytes."""
    where = (
        "WHERE (name, version) IN (SELECT name, max(version) FROM models GROUP BY name)"
        if latest_only
        else ""
    )
    rows = connection.execute(
        f"SELECT {', '.join(MODEL_COLUMNS)} FROM models {where} ORDER BY created_ns DESC"
    ).fetchall()
    return [_record(row) for row in rows]


def model_row(
    connection: duckdb.DuckDBPyConnection, name: str, version: int | None, with_bytes: bool
) -> dict[str, Any]:
    """One version of a model (the latest when `version` is None); NotFound names the known."""
    extra = ", model, signature" if with_bytes else ""
    if version is None:
        sql = (
            f"SELECT {', '.join(MODEL_COLUMNS)}{extra} FROM models WHERE name = ? "
            "ORDER BY version DESC LIMIT 1"
        )
        rows = connection.execute(sql, [name]).fetchall()
    else:
        sql = f"SELECT {', '.join(MODEL_COLUMNS)}{extra} FROM models WHERE name = ? AND version = ?"
        rows = connection.execute(sql, [name, version]).fetchall()
    if not rows:
        known = connection.execute("SELECT DISTINCT name FROM models ORDER BY name").fetchall()
        names = ", ".join(r[0] for r in known) or "none"
        which = name if version is None else f"{name} v{version}"
        raise NotFound(f"no model '{which}' in the registry (models: {names})")
    record = _record(rows[0][: len(MODEL_COLUMNS)])
    if with_bytes:
        record["model"], record["signature"] = bytes(rows[0][-2]), rows[0][-1]
    return record


def insert_predictions(
    connection: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]
) -> None:
    """Append predictions (maps with PREDICTION_COLUMNS) in one statement."""
    if not rows:
        return
    placeholders = ", ".join("?" for _ in PREDICTION_COLUMNS)
    connection.executemany(
        f"INSERT INTO predictions VALUES ({placeholders})",
        [[row[c] for c in PREDICTION_COLUMNS] for row in rows],
    )


def recent_predictions(
    connection: duckdb.DuckDBPyConnection, symbol: str | None, limit: int
) -> list[dict[str, Any]]:
    """The newest predictions (of one symbol, or all), newest first."""
    where, params = ("WHERE symbol = ?", [symbol]) if symbol else ("", [])
    rows = connection.execute(
        f"SELECT {', '.join(PREDICTION_COLUMNS)} FROM predictions {where} "
        "ORDER BY ts_ns DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [dict(zip(PREDICTION_COLUMNS, row, strict=True)) for row in rows]


def _record(row: tuple[Any, ...]) -> dict[str, Any]:
    record = dict(zip(MODEL_COLUMNS, row, strict=True))
    for key in ("params", "metrics"):
        record[key] = json.loads(record[key])
    record["features"] = list(record["features"])
    record["symbols"] = list(record["symbols"])
    return record
