"""The risk screen: limits with VaR beside them, trading state, kill switch (with
confirmation), resume."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Header, Label, Static

from bifrost.bus import methods
from bifrost.errors import BifrostError
from tui.app import BifrostApp, app_of
from tui.widgets.cells import amount_text, positions_text

NARROW = 110
"""Below this many columns VaR is shown under the limits, not beside them."""
VAR_EVERY_S = 30.0
"""VaR is recomputed this often (and on `v`): it reprices every scenario, unlike the limits."""


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no to a consequential action."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(self.question)
            with Horizontal():
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """Close with the answer."""
        self.dismiss(answer)


def ask_kill(app: BifrostApp) -> None:
    """Confirm, then halt trading; the outcome is a notification."""

    def answered(yes: bool | None) -> None:
        if yes:
            call_risk(app, methods.RISK_KILL, {"reason": "kill switch (TUI)"})

    app.push_screen(
        ConfirmScreen("Halt trading, cancel every order and stop every strategy?"), answered
    )


def call_risk(app: BifrostApp, method: str, params: dict[str, Any]) -> None:
    """Call risk on a worker thread and notify what it answered."""

    def run() -> None:
        try:
            reply = app.bus.call("risk", method, params)
        except BifrostError as exc:
            app.call_from_thread(app.notify, exc.message, severity="error", markup=False)
            return
        summary = reply.get("state", "")
        if "canceled" in reply:
            summary += (
                f": {len(reply['canceled'])} orders canceled, "
                f"{len(reply['strategies_stopped'])} strategies stopped "
                f"in {reply['seconds'] * 1000:.0f} ms"
            )
        app.call_from_thread(app.notify, f"trading {summary}")

    app.run_worker(run, thread=True, group="risk", exit_on_error=False)


class RiskScreen(Screen[None]):
    """Limits and usage, the trading state, the kill switch and VaR."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("k", "kill", "Kill"),
        Binding("u", "resume", "Resume"),
        Binding("v", "var", "VaR"),
        Binding("f5", "reload", "Reload"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading…", id="state")
        with Horizontal(id="risk-body"):
            yield DataTable(id="limits")
            yield Static("VaR: computing…", id="var")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#limits", DataTable).add_columns("limit", "value", "in use", "%")
        self.action_reload()
        self.action_var()
        self.set_interval(2.0, self.action_reload)
        self.set_interval(VAR_EVERY_S, self.action_var)

    def on_resize(self) -> None:
        """VaR goes under the limits where the two would not fit side by side."""
        self.set_class(self.size.width < NARROW, "-narrow")

    @work(thread=True, exclusive=True, group="risk-screen", exit_on_error=False)
    def action_reload(self) -> None:
        """Fetch limits and state from risk."""
        app = app_of(self)
        try:
            with app.bus.client(timeout_ms=1000) as client:
                limits = client.call("risk", methods.RISK_LIMITS, {})
                state = client.call("risk", methods.RISK_STATE, {})
        except BifrostError as exc:
            app.call_from_thread(self._show_down, exc.message)
            return
        app.call_from_thread(self._show, limits, state)

    def _show_down(self, message: str) -> None:
        self.query_one("#state", Static).update(f"[red]risk unavailable[/]: {escape(message)}")

    def _show(self, limits: dict[str, Any], state: dict[str, Any]) -> None:
        colour = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "red"}[state["state"]]
        self.query_one("#state", Static).update(
            f"trading [{colour}]{state['state']}[/]   day P&L {state['day_pnl']:,.2f}   "
            f"open orders {state['open_orders']} / {limits['max_open_orders']}   "
            f"positions {escape(positions_text(state['positions']))}"
        )
        table = self.query_one("#limits", DataTable)
        table.clear()
        usage = state.get("usage", {})
        for name, value in limits.items():
            used = usage.get(name)
            share = f"{used / value * 100:.0f}%" if used is not None and value else ""
            in_use = "" if used is None else amount_text(used)
            table.add_row(name, amount_text(value), in_use, share)

    def action_kill(self) -> None:
        """Halt trading (asks to confirm)."""
        ask_kill(app_of(self))

    def action_resume(self) -> None:
        """Back to ACTIVE."""
        app_of(self).resume()

    @work(thread=True, exclusive=True, group="risk-var", exit_on_error=False)
    def action_var(self) -> None:
        """Historical and parametric VaR of the positions."""
        app = app_of(self)
        try:
            var = app.bus.call("risk", methods.RISK_VAR, {}, timeout_ms=30_000)
        except BifrostError as exc:
            app.call_from_thread(
                self.query_one("#var", Static).update, f"VaR: {escape(exc.message)}"
            )
            return
        app.call_from_thread(self.query_one("#var", Static).update, var_table(var))


def var_table(var: dict[str, Any]) -> Table:
    """One-day VaR and CVaR, both ways, with the exposure they were measured on."""
    table = Table(
        title=f"1-day VaR {var['confidence']:.0%}",
        title_justify="left",
        caption=f"gross {var['gross']:,.2f}  net {var['net']:,.2f}  {var['scenarios']} days",
        caption_justify="left",
        box=None,
        expand=True,
    )
    table.add_column("")
    table.add_column("VaR", justify="right")
    table.add_column("CVaR", justify="right")
    table.add_row("historical", f"{var['historical_var']:,.2f}", f"{var['historical_cvar']:,.2f}")
    table.add_row("parametric", f"{var['parametric_var']:,.2f}", f"{var['parametric_cvar']:,.2f}")
    return table
