"""The order journal of execution.duckdb: every order's current row, every transition, every fill.

The engine hands over what one turn of its loop changed (every request of the turn and
every quote) in one `commit`, before it answers or publishes anything, so after a crash
the journal holds every state that was ever reported. `commit` appends the rows to the
write-ahead log beside the store (`execution.wal`) with one fdatasync: the cost of the
disk, not of DuckDB's statements. The rows reach DuckDB in large transactions: on a
timer, on a worker thread (`apply_soon`), before any read of the tables (`apply`),
and at start (rows the log holds beyond the last group DuckDB has, after a crash).
DuckDB records the last group it holds in `journal_applied`, in the same transaction
as the rows, so no group is applied twice.

Known order ids and trade ids are kept in memory: a new order or fill needs no query.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from bifrost.model.market import Side
from bifrost.model.orders import Fill, Order, OrderStatus, OrderType, TimeInForce
from bifrost.store.bulk_rows import insert_rows, rows_as_table
from bifrost.store.store_feed import StoreFeed
from bifrost.store.write_ahead_log import WriteAheadLog

ORDER_COLUMNS = (
    "client_order_id",
    "account",
    "strategy_id",
    "symbol",
    "side",
    "quantity",
    "type",
    "limit_price",
    "stop_price",
    "tif",
    "parent_id",
    "oco_id",
    "status",
    "filled",
    "avg_price",
    "created_ns",
    "updated_ns",
    "reason",
    "cid",
)
FILL_COLUMNS = (
    "trade_id",
    "client_order_id",
    "account",
    "strategy_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "commission",
    "ts_ns",
    "cid",
)
EVENT_COLUMNS = ("client_order_id", "ts_ns", "status", "filled", "avg_price", "reason", "cid")
_UPDATE_FROM_LATEST = (
    "UPDATE orders SET status = l.status, filled = l.filled, avg_price = l.avg_price, "
    "created_ns = l.created_ns, updated_ns = l.updated_ns, reason = l.reason "
    "FROM latest_rows AS l WHERE orders.client_order_id = l.client_order_id"
)


LOG_RESET_BYTES = 4 * 1024 * 1024
"""The log is emptied after an apply once it holds more than this (it is all in DuckDB)."""

OPEN = tuple(
    s.value
    for s in (
        OrderStatus.NEW,
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
    )
)


def order_row(order: Order, cid: str, now_ns: int) -> list[Any]:
    """The `orders` row of an order."""
    return [
        order.client_order_id,
        order.account,
        order.strategy_id,
        order.symbol,
        order.side.value,
        order.quantity,
        order.type.value,
        order.limit_price,
        order.stop_price,
        order.tif.value,
        order.parent_id,
        order.oco_id,
        order.status.value,
        order.filled,
        order.avg_price,
        order.created_ts,
        now_ns,
        order.reason,
        cid,
    ]


def fill_row(fill: Fill, account: str, cid: str) -> list[Any]:
    """The `fills` row of a fill."""
    return [
        fill.trade_id,
        fill.client_order_id,
        account,
        fill.strategy_id,
        fill.symbol,
        fill.side.value,
        fill.quantity,
        fill.price,
        fill.commission,
        fill.ts,
        cid,
    ]


def order_from_row(row: dict[str, Any]) -> Order:
    """Rebuild an Order from its `orders` row."""
    order = Order(
        row["client_order_id"],
        row["symbol"],
        Side(row["side"]),
        row["quantity"],
        OrderType(row["type"]),
        limit_price=row["limit_price"],
        stop_price=row["stop_price"],
        tif=TimeInForce(row["tif"]),
        account=row["account"],
        strategy_id=row["strategy_id"],
        parent_id=row["parent_id"],
        oco_id=row["oco_id"],
    )
    order.status = OrderStatus(row["status"])
    order.filled = row["filled"]
    order.avg_price = row["avg_price"]
    order.created_ts = row["created_ns"]
    order.reason = row["reason"]
    return order


class OrderJournal:
    """Reads and writes the execution store and its write-ahead log; used from one thread."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, log_path: Path) -> None:
        self.db = connection
        self.log = WriteAheadLog(log_path)
        rows = connection.execute("SELECT client_order_id FROM orders").fetchall()
        self._ids = {r[0] for r in rows}
        """Every journaled client id: a new order needs no query to know it is new."""
        trades = connection.execute("SELECT trade_id FROM fills").fetchall()
        self._trade_ids = {r[0] for r in trades}
        """Every journaled trade id: a fill seen twice is known without a query."""
        self._in_store = {r[0] for r in rows}
        """Client ids that have their `orders` row in DuckDB (the rest get an INSERT)."""
        applied = connection.execute("SELECT seq FROM journal_applied").fetchall()
        self._applied = int(applied[0][0])
        self._seq = self._applied
        self._feed: StoreFeed[tuple[int, list[list[Any]], list[list[Any]]]] = StoreFeed(
            "journal-feed", self._write, self._applied_groups
        )
        self._recover()

    def _recover(self) -> None:
        """Feed DuckDB the groups the log holds beyond what it has (after a crash)."""
        for seq, order_rows, fill_rows in self.log.records():
            if seq > self._applied:
                self._feed.add([(seq, order_rows, fill_rows)])
                self._seq = max(self._seq, seq)
                self._ids.update(row[0] for row in order_rows)
                self._trade_ids.update(row[0] for row in fill_rows)
        self.apply()
        self.log.reset()

    def has_fill(self, trade_id: str) -> bool:
        """True when a fill with this trade id is journaled."""
        return trade_id in self._trade_ids

    def commit(self, order_rows: list[list[Any]], fill_rows: list[list[Any]]) -> None:
        """Make order states (each as its `orders` row) and fills durable, as one group."""
        if not order_rows and not fill_rows:
            return
        seq = self._seq + 1
        self.log.append([[seq, order_rows, fill_rows]])
        self._seq = seq
        self._feed.add([(seq, order_rows, fill_rows)])
        self._ids.update(row[0] for row in order_rows)
        self._trade_ids.update(row[0] for row in fill_rows)

    def apply(self) -> int:
        """Write the durable groups DuckDB lacks, now, in one transaction (before a read);
        returns how many. A feed under way on the worker is finished first."""
        return self._feed.feed_now(self.db)

    def apply_soon(self) -> None:
        """Timer: feed DuckDB the durable groups on the worker thread (the loop goes on)."""
        self._feed.feed_soon(self.db)

    @property
    def feeding(self) -> bool:
        """True while a feed of DuckDB is under way on the worker thread."""
        return self._feed.feeding

    def _write(
        self,
        connection: duckdb.DuckDBPyConnection,
        groups: list[tuple[int, list[list[Any]], list[list[Any]]]],
    ) -> tuple[int, set[str]]:
        """One transaction of `groups`; returns the last group's seq and the ids written.

        Every state goes to `order_events`; `orders` gets one write per order, its last
        state: an INSERT the first time, an UPDATE after. Rows of a table go in one
        statement, as one Arrow table (bifrost.store.bulk_rows). Runs on the worker
        thread or the loop's; it reads `_in_store`, which only the loop changes, and
        only once no feed is under way.
        """
        order_rows = [row for _, rows, _ in groups for row in rows]
        fill_rows = [row for _, _, rows in groups for row in rows]
        latest = {row[0]: row for row in order_rows}
        events = [[r[0], r[16], r[12], r[13], r[14], r[17], r[18]] for r in order_rows]
        new = [row for client_id, row in latest.items() if client_id not in self._in_store]
        changed = [row for client_id, row in latest.items() if client_id in self._in_store]
        connection.execute("BEGIN TRANSACTION")
        try:
            insert_rows(connection, "order_events", EVENT_COLUMNS, events)
            insert_rows(connection, "orders", ORDER_COLUMNS, new)
            if changed:
                with rows_as_table(connection, "latest_rows", ORDER_COLUMNS, changed):
                    connection.execute(_UPDATE_FROM_LATEST)
            insert_rows(connection, "fills", FILL_COLUMNS, fill_rows)
            connection.execute("UPDATE journal_applied SET seq = ?", [groups[-1][0]])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return groups[-1][0], set(latest)

    def _applied_groups(self, written: tuple[int, set[str]]) -> None:
        """On the loop thread, once a feed committed: what DuckDB now holds."""
        seq, ids = written
        self._in_store.update(ids)
        self._applied = seq
        if not self._feed.waiting and not self._feed.feeding and self.log.size > LOG_RESET_BYTES:
            self.log.reset()

    def close(self) -> None:
        """Feed DuckDB what it lacks, empty the log and close it."""
        self._feed.close(self.db)
        self.log.reset()
        self.log.close()

    def find(self, client_order_id: str) -> tuple[Order, str] | None:
        """The stored order and the cid it was entered with, or None."""
        if client_order_id not in self._ids:
            return None
        rows = self._select("WHERE client_order_id = ?", [client_order_id])
        return (order_from_row(rows[0]), rows[0]["cid"]) if rows else None

    def open_orders(self) -> list[tuple[Order, str]]:
        """Orders that were open when last journaled, oldest first."""
        marks = ", ".join("?" for _ in OPEN)
        rows = self._select(f"WHERE status IN ({marks}) ORDER BY created_ns", list(OPEN))
        return [(order_from_row(r), r["cid"]) for r in rows]

    def orders(self, open_only: bool = False, limit: int = 200) -> list[dict[str, Any]]:
        """Order rows, newest first."""
        marks = ", ".join("?" for _ in OPEN)
        where = f"WHERE status IN ({marks})" if open_only else ""
        params: list[Any] = list(OPEN) if open_only else []
        return self._select(f"{where} ORDER BY created_ns DESC LIMIT ?", [*params, limit])

    def fills(self, limit: int = 200, since_ns: int | None = None) -> list[dict[str, Any]]:
        """Fill rows, newest first; with `since_ns`, only fills at or after it, oldest first."""
        self.apply()
        if since_ns is None:
            query, params = "ORDER BY ts_ns DESC LIMIT ?", [limit]
        else:
            query, params = "WHERE ts_ns >= ? ORDER BY ts_ns LIMIT ?", [since_ns, limit]
        rows = self.db.execute(
            f"SELECT {', '.join(FILL_COLUMNS)} FROM fills {query}", params
        ).fetchall()
        return [dict(zip(FILL_COLUMNS, r, strict=True)) for r in rows]

    def net_positions(self, symbols: list[str]) -> dict[str, Decimal]:
        """Bought minus sold of each of `symbols`, from the journaled fills (exact)."""
        self.apply()
        marks = ", ".join("?" for _ in symbols) or "NULL"
        rows = self.db.execute(
            "SELECT symbol, side, CAST(quantity AS VARCHAR) FROM fills "
            f"WHERE symbol IN ({marks})",
            symbols,
        ).fetchall()
        net = dict.fromkeys(symbols, Decimal(0))
        for symbol, side, quantity in rows:
            net[symbol] += Decimal(quantity) if side == "BUY" else -Decimal(quantity)
        return net

    def last_fill_ns(self, symbols: list[str]) -> int | None:
        """When the newest journaled fill of `symbols` happened (None without any)."""
        self.apply()
        marks = ", ".join("?" for _ in symbols) or "NULL"
        row = self.db.execute(
            f"SELECT max(ts_ns) FROM fills WHERE symbol IN ({marks})", symbols
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def events(self, client_order_id: str | None = None, cid: str | None = None) -> list[dict]:
        """Journaled transitions of one order or of every order with a correlation id."""
        self.apply()
        column, value = ("client_order_id", client_order_id) if client_order_id else ("cid", cid)
        rows = self.db.execute(
            "SELECT client_order_id, ts_ns, status, filled, avg_price, reason, cid "
            f"FROM order_events WHERE {column} = ? ORDER BY ts_ns",
            [value],
        ).fetchall()
        return [dict(zip(EVENT_COLUMNS, r, strict=True)) for r in rows]

    def _select(self, tail: str, params: list[Any]) -> list[dict[str, Any]]:
        self.apply()
        rows = self.db.execute(
            f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders {tail}", params
        ).fetchall()
        return [dict(zip(ORDER_COLUMNS, r, strict=True)) for r in rows]
