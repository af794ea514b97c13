"""What a live strategy left behind: how it was started, the bars recorded while it ran,
its orders and fills, and the data service's recorded outages.

Everything is read through the SQL console (bifrost.sql), read-only: from the owner
daemon when it answers, else from its DuckDB file. So the audit works with the stack
up or down, like `bifrost sql`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bifrost.errors import NotFound
from bifrost.sql.console import SqlConsole
from bifrost.store.live_strategies import StoredStrategy

FAR_PAST = -(2**62)
FAR_FUTURE = 2**62


@dataclass(frozen=True)
class RecordedSession:
    """One live strategy's record between `start_ns` and `end_ns` (end excluded)."""

    strategy: StoredStrategy
    start_ns: int
    end_ns: int
    bars: dict[str, list[dict[str, Any]]]
    """Per symbol, the recorded bars of the strategy's timeframe, in time order."""
    orders: list[dict[str, Any]]
    """The strategy's journaled orders (last state), in creation order."""
    fills: list[dict[str, Any]]
    """The fills of those orders, in time order."""
    outages: list[dict[str, Any]] = field(default_factory=list)
    """Recorded gaps in live data (data.gaps) of the strategy's symbols."""


def _rows(console: SqlConsole, sql: str) -> list[dict[str, Any]]:
    return console.query(sql).frame.to_dicts()


def _text(value: str) -> str:
    """A SQL string literal (the console takes one statement without parameters)."""
    return "'" + value.replace("'", "''") + "'"


def _symbols(symbols: list[str]) -> str:
    return "[" + ", ".join(_text(s) for s in symbols) + "]"


def load_session(
    console: SqlConsole,
    strategy_id: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> RecordedSession:
    """The record of `strategy_id` in [start_ns, end_ns); NotFound for an unknown id."""
    started = _rows(
        console,
        "SELECT strategy_id, name, file, symbols, timeframe, params, capital "
        f"FROM strategy.live_strategies WHERE strategy_id = {_text(strategy_id)}",
    )
    if not started:
        raise NotFound(f"no live strategy '{strategy_id}' in the strategy store")
    row = started[0]
    strategy = StoredStrategy(
        row["strategy_id"],
        row["name"],
        row["file"],
        list(row["symbols"]),
        row["timeframe"],
        json.loads(row["params"]),
        float(row["capital"]),
    )
    low = FAR_PAST if start_ns is None else int(start_ns)
    high = FAR_FUTURE if end_ns is None else int(end_ns)
    symbols = _symbols(strategy.symbols)
    bar_rows = _rows(
        console,
        "SELECT symbol, ts, open, high, low, close, volume FROM data.bars "
        f"WHERE list_contains({symbols}, symbol) AND timeframe = {_text(strategy.timeframe)} "
        f"AND ts >= {low} AND ts < {high} ORDER BY symbol, ts",
    )
    bars: dict[str, list[dict[str, Any]]] = {s: [] for s in strategy.symbols}
    for bar in bar_rows:
        bars[bar["symbol"]].append(bar)
    orders = _rows(
        console,
        "SELECT client_order_id, symbol, side, quantity, type, limit_price, stop_price, "
        "status, filled, avg_price, created_ns, updated_ns, reason, cid FROM execution.orders "
        f"WHERE strategy_id = {_text(strategy_id)} AND created_ns >= {low} "
        f"AND created_ns < {high} ORDER BY created_ns, client_order_id",
    )
    fills = _rows(
        console,
        "SELECT trade_id, client_order_id, symbol, side, quantity, price, commission, ts_ns "
        f"FROM execution.fills WHERE strategy_id = {_text(strategy_id)} "
        f"AND ts_ns >= {low} AND ts_ns < {high} ORDER BY ts_ns, trade_id",
    )
    outages = _rows(
        console,
        "SELECT source, symbol, start_ns, end_ns, reason FROM data.gaps "
        f"WHERE list_contains({symbols}, symbol) AND end_ns > {low} AND start_ns < {high} "
        "ORDER BY start_ns",
    )
    return RecordedSession(strategy, low, high, bars, orders, fills, outages)
