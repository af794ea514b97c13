"""The instruments table: add or replace, list, look up."""

from __future__ import annotations

import duckdb

from bifrost.model.instrument import Instrument

_COLUMNS = (
    "symbol",
    "venue",
    "asset_class",
    "currency",
    "tick_size",
    "lot_size",
    "multiplier",
    "calendar",
    "min_quantity",
    "min_notional",
)


def save_instrument(connection: duckdb.DuckDBPyConnection, instrument: Instrument) -> None:
    """Insert or replace one instrument."""
    values = instrument.to_dict()
    connection.execute(
        f"INSERT OR REPLACE INTO instruments ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
        [values[c] for c in _COLUMNS],
    )


def load_instruments(connection: duckdb.DuckDBPyConnection) -> list[Instrument]:
    """Every stored instrument, by symbol."""
    rows = connection.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM instruments ORDER BY symbol"
    ).fetchall()
    return [Instrument.from_dict(dict(zip(_COLUMNS, row, strict=True))) for row in rows]


def find_instrument(connection: duckdb.DuckDBPyConnection, symbol: str) -> Instrument:
    """The stored instrument of `symbol`, or the default for such a symbol."""
    rows = connection.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM instruments WHERE symbol = ?", [symbol]
    ).fetchall()
    if not rows:
        return Instrument.default_for(symbol)
    return Instrument.from_dict(dict(zip(_COLUMNS, rows[0], strict=True)))
