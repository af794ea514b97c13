"""The SQL console screen: one read-only query across the stores, the rows in a table.

Queries run on a worker thread (stores of running services come through their owners);
a refused or failing query is shown inline, never fatal.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from bifrost.errors import BifrostError
from tui.app import app_of

MAX_ROWS = 500
"""Rows shown in the table (the count says how many the query returned)."""


class SqlScreen(Screen[None]):
    """Type a SELECT, press enter; `data.bars`, `portfolio.equity_snapshots`, ..."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="SELECT ... FROM data.bars JOIN ... (read-only; enter runs it)", id="query"
        )
        yield Static("stores: service.table, e.g. execution.fills, data.quotes", id="sql-status")
        yield DataTable(id="sql-result")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.query_one("#sql-status", Static).update("running…")
            self.run_query(event.value)

    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def run_query(self, sql: str) -> None:
        """Run one query on a worker thread."""
        from bifrost.sql.console import SqlConsole

        app = app_of(self)
        try:
            with app.bus.client(timeout_ms=5000, retries=0) as client:
                result = SqlConsole(app.bus.home, client).query(sql).to_dict(MAX_ROWS)
        except BifrostError as exc:
            app.call_from_thread(self._error, exc.message)
            return
        app.call_from_thread(self._show, result)

    def _error(self, message: str) -> None:
        self.query_one("#sql-status", Static).update(f"[red]error:[/] {escape(message)}")

    def _show(self, result: dict[str, Any]) -> None:
        table = self.query_one("#sql-result", DataTable)
        table.clear(columns=True)
        table.add_columns(*result["columns"])
        for row in result["rows"]:
            table.add_row(*("" if cell is None else str(cell) for cell in row))
        sources = ", ".join(f"{k} ({v})" for k, v in result["sources"].items()) or "none"
        shown = f", first {len(result['rows'])} shown" if result["row_count"] > MAX_ROWS else ""
        self.query_one("#sql-status", Static).update(
            f"{result['row_count']} rows{shown}  ·  stores: {sources}"
        )
