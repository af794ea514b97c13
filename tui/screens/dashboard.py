"""The dashboard: watchlist, positions, open orders, fills, account, alerts, health."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, RichLog, Static

from bifrost.model.money import price_text
from tui.app import app_of
from tui.desk import Desk
from tui.widgets.cells import currency_amount
from tui.widgets.strips import FittedStrip, HealthStrip, account_strip
from tui.widgets.watchlist import Watchlist

WIDTHS = {
    "id": 20,
    "symbol": 8,
    "side": 4,
    "qty": 6,
    "type": 10,
    "price": 9,
    "status": 16,
    "filled": 6,
    "time": 8,
    "avg cost": 10,
    "mark": 10,
    "unrealized": 10,
    "realized": 10,
}
"""Fixed column widths: columns never jump as orders come and go, and the layout is
known before the first row arrives (STOP_LIMIT and PARTIALLY_FILLED fit)."""


class DashboardScreen(Screen[None]):
    """The whole desk at a glance, repainted from the Desk ~20 times a second."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "buy", "Buy"),
        Binding("s", "sell", "Sell"),
        Binding("c", "cancel_order", "Cancel"),
        Binding("e", "replace_order", "Replace"),
        Binding("k", "kill", "Kill"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield HealthStrip(id="health")
        with Horizontal():
            with Vertical(classes="column"):
                yield Static("Watchlist", classes="title")
                yield Watchlist(app_of(self).desk.symbols, id="watchlist")
                yield Static("Positions", classes="title")
                yield DataTable(id="positions", cursor_type="row")
            with Vertical(classes="column"):
                waiting = "account: waiting for the portfolio…"
                yield FittedStrip(waiting, account_strip, id="account")
                yield Static("Open orders", classes="title")
                yield DataTable(id="orders", cursor_type="row")
                yield Static("Fills", classes="title")
                yield DataTable(id="fills", cursor_type="row")
                yield RichLog(id="alerts", max_lines=100, markup=False, wrap=True, min_width=20)
        yield Footer()

    def on_mount(self) -> None:
        tables = {
            "#positions": ("symbol", "qty", "avg cost", "mark", "unrealized", "realized"),
            # What a trader reads first comes first; the id, which is long, comes last
            # (the table scrolls sideways where it does not fit; cancel and replace take
            # the id of the row under the cursor).
            "#orders": ("symbol", "side", "qty", "price", "status", "filled", "type", "id"),
            "#fills": ("time", "symbol", "side", "qty", "price"),
        }
        for selector, columns in tables.items():
            table = self.query_one(selector, DataTable)
            for column in columns:
                table.add_column(column, width=WIDTHS.get(column))
        watchlist = self.query_one("#watchlist", Watchlist)
        self._painted = -1
        self._alerts_shown = 0
        self._stale: dict[str, bool] = {}
        self._rows: dict[str, list[tuple]] = {}
        self.set_interval(1 / 20, self.paint)
        watchlist.focus()

    def on_resize(self) -> None:
        """Lay the strips out again for the new width."""
        self._painted = -1

    def selected_symbol(self) -> str:
        """The symbol under the watchlist cursor."""
        return self.query_one("#watchlist", Watchlist).selected

    def paint(self) -> None:
        """Repaint what changed since the last paint (at most ~20 times a second)."""
        desk = app_of(self).desk
        stale = {s: desk.stale(s) for s in desk.symbols}
        if desk.version == self._painted and stale == self._stale:
            return
        self._painted, self._stale = desk.version, stale
        with desk.lock:
            quotes = {
                s: (q.bid, q.ask, q.last, q.change_pct, q.volume, q.direction)
                for s, q in desk.quotes.items()
            }
            account = dict(desk.account)
            fills = list(desk.fills)[:15]
            health = dict(desk.health)
            alerts = list(desk.alerts)
        self._paint_health(health)
        self._paint_watchlist(quotes, stale)
        self._paint_account(account)
        self._paint_table(
            "#positions",
            [
                (
                    p["symbol"],
                    f"{p['quantity']:g}",
                    str(p["average_cost"]),
                    str(p["mark"]),
                    currency_amount(p["unrealized"], p.get("currency") or "USD"),
                    currency_amount(p["realized"], p.get("currency") or "USD"),
                )
                for p in account.get("positions", [])
            ],
        )
        self._paint_table(
            "#orders",
            [
                (
                    o["symbol"],
                    o["side"],
                    f"{o['quantity']:g}",
                    _price(o.get("limit_price") or o.get("stop_price"), o["symbol"], desk),
                    o["status"],
                    f"{o['filled']:g}",
                    o["type"],
                    o["client_order_id"],
                )
                for o in desk.open_orders()
            ],
            keyed_by_last=True,
        )
        self._paint_table(
            "#fills",
            [
                (
                    _clock(f.get("ts", 0)),
                    f["symbol"],
                    f["side"],
                    f"{f['quantity']:g}",
                    _price(f["price"], f["symbol"], desk),
                )
                for f in fills
            ],
        )
        self._paint_alerts(alerts)

    def _paint_health(self, health: dict[str, str]) -> None:
        self.query_one("#health", HealthStrip).show(health)

    def _paint_watchlist(self, quotes: dict[str, tuple], stale: dict[str, bool]) -> None:
        self.query_one("#watchlist", Watchlist).show(quotes, stale)

    def _paint_account(self, account: dict[str, Any]) -> None:
        if account:
            self.query_one("#account", FittedStrip).show(account)

    def _paint_table(self, selector: str, rows: list[tuple], keyed_by_last: bool = False) -> None:
        if self._rows.get(selector) == rows:
            return
        self._rows[selector] = rows
        table = self.query_one(selector, DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            table.add_row(*row, key=row[-1] if keyed_by_last else None)
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    def _paint_alerts(self, alerts: list[str]) -> None:
        log = self.query_one("#alerts", RichLog)
        new = len(alerts) - self._alerts_shown if len(alerts) < 100 else 0
        for line in reversed(alerts[: max(new, 0)]):
            log.write(line)
        self._alerts_shown = len(alerts)

    def action_buy(self) -> None:
        """Order ticket to buy the selected symbol."""
        app_of(self).open_ticket("BUY")

    def action_sell(self) -> None:
        """Order ticket to sell the selected symbol."""
        app_of(self).open_ticket("SELL")

    def action_cancel_order(self) -> None:
        """Cancel the order under the cursor of the open-orders table (asks to confirm)."""
        from tui.screens.risk import ConfirmScreen
        from tui.screens.ticket import cancel_order

        client_order_id = self._order_under_cursor()
        if client_order_id is None:
            return
        app = app_of(self)
        order = app.desk.orders.get(client_order_id, {})
        what = " ".join(
            f"{order[k]:g}" if k == "quantity" else str(order[k])
            for k in ("side", "quantity", "symbol", "type")
            if k in order
        )

        def answered(yes: bool | None) -> None:
            if yes:
                cancel_order(app, client_order_id)

        app.push_screen(ConfirmScreen(f"Cancel {client_order_id} ({what})?"), answered)

    def action_replace_order(self) -> None:
        """Cancel/replace the order under the cursor of the open-orders table."""
        from tui.screens.ticket import ReplaceOrder

        client_order_id = self._order_under_cursor()
        if client_order_id is None:
            return
        order = app_of(self).desk.orders.get(client_order_id)
        if order is not None:
            self.app.push_screen(ReplaceOrder(order))

    def _order_under_cursor(self) -> str | None:
        """The client order id of the open order under the table's cursor (its row key)."""
        table = self.query_one("#orders", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value)

    def action_kill(self) -> None:
        """Halt trading (asks to confirm)."""
        app_of(self).confirm_kill()


def _price(value: Any, symbol: str, desk: Desk) -> str:
    """A price from execution (a float) with its instrument's decimals; "" when absent."""
    return "" if value is None else price_text(value, desk.tick_size(symbol))


def _clock(ts_ns: int) -> str:
    from bifrost.clock import format_instant

    return format_instant(int(ts_ns))[-8:] if ts_ns else ""
