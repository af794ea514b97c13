"""The live strategies of strategy.duckdb: which ran, with what, and which are still running.

A strategy the service was running when it stopped is started again at its next start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb


@dataclass(frozen=True)
class StoredStrategy:
    """One live strategy as started: enough to start it again the same way."""

    strategy_id: str
    name: str
    file: str | None
    symbols: list[str]
    timeframe: str
    params: dict[str, Any]
    capital: float


def add_running(
    connection: duckdb.DuckDBPyConnection, strategy: StoredStrategy, started_ns: int
) -> None:
    """Keep a strategy that has just started (state 'running')."""
    connection.execute(
        "INSERT INTO live_strategies VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)",
        [
            strategy.strategy_id,
            strategy.name,
            strategy.file,
            strategy.symbols,
            strategy.timeframe,
            json.dumps(strategy.params),
            strategy.capital,
            started_ns,
        ],
    )


def running(connection: duckdb.DuckDBPyConnection) -> list[StoredStrategy]:
    """The strategies not stopped, in no particular order."""
    rows = connection.execute(
        "SELECT strategy_id, name, file, symbols, timeframe, params, capital "
        "FROM live_strategies WHERE state = 'running'"
    ).fetchall()
    return [
        StoredStrategy(
            strategy_id, name, file, list(symbols), timeframe, json.loads(params), capital
        )
        for strategy_id, name, file, symbols, timeframe, params, capital in rows
    ]


def mark_stopped(connection: duckdb.DuckDBPyConnection, strategy_id: str) -> None:
    """Record that a strategy stopped, so it is not started again."""
    connection.execute(
        "UPDATE live_strategies SET state = 'stopped' WHERE strategy_id = ?", [strategy_id]
    )
