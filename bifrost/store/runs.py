"""The backtest runs of strategy.duckdb: save one run with its trades and equity, read them back."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from bifrost.errors import NotFound
from bifrost.store.database import load_rows

RUN_COLUMNS = (
    "run_id",
    "created_ns",
    "strategy",
    "params",
    "symbols",
    "timeframe",
    "start_ns",
    "end_ns",
    "engine",
    "settings",
    "code_version",
    "stats",
    "kind",
)
TRADE_TYPES = {
    "run_id": "VARCHAR",
    "symbol": "VARCHAR",
    "entry_ts": "BIGINT",
    "exit_ts": "BIGINT",
    "size": "DOUBLE",
    "entry_price": "DOUBLE",
    "exit_price": "DOUBLE",
    "pnl": "DOUBLE",
    "commission": "DOUBLE",
}
EQUITY_TYPES = {"run_id": "VARCHAR", "ts": "BIGINT", "equity": "DOUBLE", "exposed": "BOOLEAN"}


def save_run(
    connection: duckdb.DuckDBPyConnection,
    run: dict[str, Any],
    trades: list[dict[str, Any]],
    equity: list[dict[str, Any]],
) -> None:
    """Store one run (a map with RUN_COLUMNS) with its trades and equity, in one transaction."""
    connection.execute("BEGIN TRANSACTION")
    try:
        values = [
            json.dumps(run[c]) if c in ("params", "settings", "stats") else run[c]
            for c in RUN_COLUMNS
        ]
        connection.execute(
            f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in RUN_COLUMNS)})",
            values,
        )
        for table, types, rows in (
            ("run_trades", TRADE_TYPES, trades),
            ("run_equity", EQUITY_TYPES, equity),
        ):
            if rows:
                load_rows(connection, "incoming_run_rows", types, rows)
                connection.execute(f"INSERT INTO {table} SELECT * FROM incoming_run_rows")
                connection.execute("DROP TABLE incoming_run_rows")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def list_runs(connection: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict[str, Any]]:
    """The newest runs first, with their headline statistics."""
    rows = connection.execute(
        f"SELECT {', '.join(RUN_COLUMNS)} FROM runs ORDER BY created_ns DESC LIMIT ?", [limit]
    ).fetchall()
    return [_run(row) for row in rows]


def load_run(connection: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """One run with its trades and equity curve; a unique prefix of the id is enough."""
    rows = connection.execute(
        f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE starts_with(run_id, ?)", [run_id]
    ).fetchall()
    if len(rows) != 1:
        problem = "no run" if not rows else f"{len(rows)} runs match"
        raise NotFound(f"{problem} '{run_id}' (see `bifrost backtest list`)")
    run = _run(rows[0])
    trades = connection.execute(
        f"SELECT {', '.join(list(TRADE_TYPES)[1:])} FROM run_trades WHERE run_id = ? "
        "ORDER BY exit_ts, symbol",
        [run["run_id"]],
    ).fetchall()
    run["trades"] = [dict(zip(list(TRADE_TYPES)[1:], t, strict=True)) for t in trades]
    equity = connection.execute(
        "SELECT ts, equity, exposed FROM run_equity WHERE run_id = ? ORDER BY ts", [run["run_id"]]
    ).fetchall()
    run["equity"] = [{"ts": ts, "equity": e, "exposed": x} for ts, e, x in equity]
    return run


def _run(row: tuple[Any, ...]) -> dict[str, Any]:
    run = dict(zip(RUN_COLUMNS, row, strict=True))
    for key in ("params", "settings", "stats"):
        run[key] = json.loads(run[key])
    return run
