"""The reports of analytics.duckdb: each generated tearsheet, kept as JSON."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from bifrost.errors import NotFound

COLUMNS = ("report_id", "kind", "subject", "created_ns")


def save_report(
    connection: duckdb.DuckDBPyConnection, report_id: str, report: dict[str, Any]
) -> None:
    """Store one report (its kind, subject and creation time come from the report)."""
    connection.execute(
        "INSERT INTO reports VALUES (?, ?, ?, ?, ?)",
        [report_id, report["kind"], report["subject"], report["created_ns"], json.dumps(report)],
    )


def list_reports(connection: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict[str, Any]]:
    """The newest reports first, without their bodies."""
    rows = connection.execute(
        f"SELECT {', '.join(COLUMNS)} FROM reports ORDER BY created_ns DESC LIMIT ?", [limit]
    ).fetchall()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def load_report(connection: duckdb.DuckDBPyConnection, report_id: str) -> dict[str, Any]:
    """One stored report by id; NotFound when there is none."""
    rows = connection.execute(
        "SELECT report FROM reports WHERE report_id = ?", [report_id]
    ).fetchall()
    if not rows:
        raise NotFound(f"no report '{report_id}'")
    return dict(json.loads(rows[0][0]))
