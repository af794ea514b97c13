"""Risk's own tables in risk.duckdb: persisted settings (limits, trading state) and breaches."""

from __future__ import annotations

import json
from typing import Any

import duckdb


def _setting(connection: duckdb.DuckDBPyConnection, name: str) -> Any:
    """The stored value of one setting, None when it was never saved."""
    rows = connection.execute("SELECT value FROM settings WHERE name = ?", [name]).fetchall()
    return json.loads(rows[0][0]) if rows else None


def stored_state(connection: duckdb.DuckDBPyConnection) -> str | None:
    """The trading state last saved (its value, e.g. 'HALTED'), None when never saved."""
    value = _setting(connection, "state")
    return str(value) if value is not None else None


def stored_limits(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The limits an admin last saved, {} when the config's are still in force."""
    return dict(_setting(connection, "limits") or {})


def save_setting(connection: duckdb.DuckDBPyConnection, name: str, value: Any) -> None:
    """Keep one setting ('state' or 'limits') as JSON, replacing its last value."""
    connection.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [name, json.dumps(value)])


def record_breach(
    connection: duckdb.DuckDBPyConnection,
    ts_ns: int,
    rule: str,
    symbol: str | None,
    message: str,
    cid: str,
) -> None:
    """Log one refused order: when, which rule, which symbol, why, and its trace id."""
    connection.execute(
        "INSERT INTO breaches VALUES (?, ?, ?, ?, ?)", [ts_ns, rule, symbol, message, cid]
    )
