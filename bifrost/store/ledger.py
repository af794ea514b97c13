"""The ledger and equity snapshots of portfolio.duckdb (DECIMAL columns: exact money)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb

from bifrost.portfolio.ledger import Entry
from bifrost.store.bulk_rows import insert_rows

ENTRY_COLUMNS = (
    "entry_id",
    "ts_ns",
    "account",
    "kind",
    "currency",
    "amount",
    "symbol",
    "quantity",
    "price",
    "trade_id",
    "cid",
)


def append_entries(connection: duckdb.DuckDBPyConnection, entries: list[Entry]) -> None:
    """Append entries in one transaction, numbered after the last stored one."""
    if not entries:
        return
    connection.execute("BEGIN TRANSACTION")
    try:
        last = connection.execute("SELECT coalesce(max(entry_id), 0) FROM ledger").fetchall()
        first = int(last[0][0]) + 1
        rows = [
            (
                entry_id,
                e.ts,
                e.account,
                e.kind,
                e.currency,
                e.amount,
                e.symbol,
                e.quantity,
                e.price,
                e.trade_id,
                e.cid,
            )
            for entry_id, e in enumerate(entries, start=first)
        ]
        insert_rows(connection, "ledger", ENTRY_COLUMNS, rows)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def load_entries(connection: duckdb.DuckDBPyConnection) -> list[Entry]:
    """Every stored entry in the order it was booked (to rebuild the balances)."""
    rows = connection.execute(
        f"SELECT {', '.join(ENTRY_COLUMNS[1:])} FROM ledger ORDER BY entry_id"
    ).fetchall()
    return [
        Entry(
            ts,
            account,
            kind,
            currency,
            Decimal(amount),
            symbol,
            None if quantity is None else Decimal(quantity),
            None if price is None else Decimal(price),
            trade_id,
            cid,
        )
        for ts, account, kind, currency, amount, symbol, quantity, price, trade_id, cid in rows
    ]


def save_snapshot(connection: duckdb.DuckDBPyConnection, ts: int, snapshot: dict[str, Any]) -> None:
    """Store one equity snapshot of an account."""
    cash = sum((Decimal(v) for v in snapshot["cash"].values()), Decimal(0))
    connection.execute(
        "INSERT INTO equity_snapshots VALUES (?, ?, ?, ?, ?, ?)",
        [
            ts,
            snapshot["account"],
            cash,
            Decimal(snapshot["equity"]),
            Decimal(snapshot["realized"]),
            Decimal(snapshot["unrealized"]),
        ],
    )


def first_equity_since(
    connection: duckdb.DuckDBPyConnection, account: str, since_ns: int
) -> Decimal | None:
    """The equity of the account's first snapshot at or after `since_ns`, if any."""
    rows = connection.execute(
        "SELECT equity FROM equity_snapshots WHERE account = ? AND ts_ns >= ? "
        "ORDER BY ts_ns LIMIT 1",
        [account, since_ns],
    ).fetchall()
    return Decimal(rows[0][0]) if rows else None
