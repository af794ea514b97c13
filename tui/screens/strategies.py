"""The strategies screen: live strategies with state, positions and P&L; start and stop."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static

from bifrost.bus import methods
from bifrost.errors import BifrostError
from tui.app import app_of
from tui.fetch import fetch
from tui.widgets.cells import params_text, positions_text

BUILTIN = ("sma_cross", "rsi_reversion", "bollinger_breakout", "momentum_rotation", "ml_signal")


def parse_params(text: str) -> dict[str, str]:
    """`fast=5 slow=20` as a map; ValueError names a piece that is not name=value."""
    out = {}
    for piece in text.split():
        name, sep, value = piece.partition("=")
        if not sep or not name:
            raise ValueError(f"'{piece}' is not name=value")
        out[name] = value
    return out


class StartStrategy(ModalScreen[dict[str, Any] | None]):
    """Pick a strategy, its symbols, parameters and bar timeframe."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="ticket"):
            yield Label("Start a live strategy (orders go through risk)")
            yield Select([(n, n) for n in BUILTIN], value="sma_cross", allow_blank=False, id="name")
            yield Input("AAPL", placeholder="symbols, e.g. AAPL MSFT", id="symbols")
            yield Input("fast=5 slow=20", placeholder="params, e.g. fast=5 slow=20", id="params")
            yield Input("1m", placeholder="timeframe", id="timeframe")
            with Horizontal(classes="row"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Close", id="close")
            yield Static(id="result")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "start":
            self.dismiss(None)
            return
        try:
            params = parse_params(self.query_one("#params", Input).value)
        except ValueError as exc:
            self.query_one("#result", Static).update(f"[red]{escape(str(exc))}[/]")
            return
        self.dismiss(
            {
                "name": str(self.query_one("#name", Select).value),
                "symbols": self.query_one("#symbols", Input).value.upper().split(),
                "params": params,
                "timeframe": self.query_one("#timeframe", Input).value.strip(),
            }
        )


class StrategiesScreen(Screen[None]):
    """Live strategies, refreshed every second."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "start", "Start"),
        Binding("x", "stop", "Stop selected"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Live strategies", id="status", classes="title")
        yield DataTable(id="strategies", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(
            "id",
            "symbols",
            "tf",
            "params",
            "state",
            "positions",
            "P&L",
            "bars",
            "orders",
            "last error",
        )
        self.reload()
        self.set_interval(1.0, self.reload)

    @work(thread=True, exclusive=True, group="strategies", exit_on_error=False)
    def reload(self) -> None:
        """Fetch the live strategies."""
        reply = fetch(self, "strategy", methods.STRATEGY_LIST, timeout_ms=1000)
        if reply is not None:
            self.app.call_from_thread(self._show, reply["strategies"])

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self.query_one("#status", Static).update(f"Live strategies ({len(rows)})")
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for r in rows:
            table.add_row(
                r["id"],
                " ".join(r["symbols"]),
                r["timeframe"],
                params_text(r["params"]),
                r["state"],
                positions_text(r["positions"]),
                f"{r['pnl']:,.2f}",
                str(r["bars"]),
                str(r["orders"]),
                r["last_error"],
                key=r["id"],
            )
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    def action_start(self) -> None:
        """Ask what to start, then start it."""
        self.app.push_screen(StartStrategy(), self._start)

    def _start(self, spec: dict[str, Any] | None) -> None:
        if spec:
            self.call_strategy(methods.STRATEGY_START, spec)

    def action_stop(self) -> None:
        """Stop the strategy under the cursor."""
        table = self.query_one(DataTable)
        if table.row_count:
            strategy_id = str(table.get_row_at(table.cursor_row)[0])
            self.call_strategy(methods.STRATEGY_STOP, {"strategy_id": strategy_id})

    @work(thread=True, group="strategies-call", exit_on_error=False)
    def call_strategy(self, method: str, params: dict[str, Any]) -> None:
        """Call the strategy service; the outcome is a notification."""
        app = app_of(self)
        try:
            reply = app.bus.call("strategy", method, params)
        except BifrostError as exc:
            app.call_from_thread(app.notify, exc.message, severity="error", markup=False)
            return
        app.call_from_thread(app.notify, f"{reply['id']}: {reply['state']}")
        self.reload()
