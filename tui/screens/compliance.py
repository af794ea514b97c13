"""The compliance screen: the rules in force, today's rule hits and the audit chain's state.

It loads once when shown and again whenever the compliance service publishes a
decision, a rule change or an alert (`compliance.` / `alert.compliance`), so a
rejection shows up as it happens. Bus reads run on thread workers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import get_current_worker

from bifrost.bus import methods, topics
from bifrost.errors import BifrostError
from tui.app import app_of


class ComplianceScreen(Screen[None]):
    """Rules, today's hits and the chain status, following compliance's events."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f5", "reload", "Reload"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading…", id="chain")
        yield DataTable(id="rules")
        yield Static("rule hits today", id="hits-title")
        yield DataTable(id="hits")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rules", DataTable).add_columns("rule", "value", "from")
        self.query_one("#hits", DataTable).add_columns(
            "time", "outcome", "rule", "symbol", "side", "qty", "why"
        )
        self.action_reload()
        self.follow_events()

    @work(thread=True, exclusive=True, group="compliance-events", exit_on_error=False)
    def follow_events(self) -> None:
        """Reload whenever compliance publishes a decision, rule change or alert."""
        app, worker = app_of(self), get_current_worker()
        if "compliance" not in app.bus.config.services:
            return
        prefixes = [topics.prefix(topics.COMPLIANCE), topics.prefix(topics.ALERT)]
        with (
            app.bus.client(timeout_ms=1000, retries=0) as client,
            app.bus.events(client, {"compliance": prefixes}) as events,
        ):
            while not worker.is_cancelled:
                if events.poll(100):
                    app.call_from_thread(self.action_reload)

    @work(thread=True, exclusive=True, group="compliance-screen", exit_on_error=False)
    def action_reload(self) -> None:
        """Fetch the rules, today's report and the chain's verification."""
        app = app_of(self)
        try:
            with app.bus.client(timeout_ms=2000) as client:
                client.require("compliance")
                rules = client.call("compliance", methods.COMPLIANCE_RULES, {})
                report = client.call("compliance", methods.COMPLIANCE_REPORT, {})
                chain = client.call("compliance", methods.COMPLIANCE_VERIFY, {})
        except BifrostError as exc:
            app.call_from_thread(self._show_down, exc.message)
            return
        app.call_from_thread(self._show, rules, report, chain)

    def _show_down(self, message: str) -> None:
        self.query_one("#chain", Static).update(
            f"[red]compliance unavailable[/]: {escape(message)}"
        )

    def _show(self, rules: dict[str, Any], report: dict[str, Any], chain: dict[str, Any]) -> None:
        if chain["ok"]:
            status = f"audit chain [green]OK[/]: {chain['records']} records"
        else:
            broken = chain["broken"]
            status = (
                f"audit chain [bold red]BROKEN[/] at record {broken['record_id']}: "
                f"{broken['problem']}"
            )
        self.query_one("#chain", Static).update(status)
        table = self.query_one("#rules", DataTable)
        table.clear()
        for name, value in rules["rules"].items():
            shown = ", ".join(value) if isinstance(value, list) else str(value)
            table.add_row(name, shown or "-", "changed" if name in rules["changed"] else "config")
        hits = self.query_one("#hits", DataTable)
        hits.clear()
        for hit in reversed(report["hits"]):
            when = dt.datetime.fromtimestamp(hit["ts_ns"] / 1e9, dt.UTC).strftime("%H:%M:%S")
            colour = "red" if hit["outcome"] == "rejected" else "yellow"
            hits.add_row(
                when,
                f"[{colour}]{hit['outcome']}[/]",
                hit["rule"],
                hit["symbol"],
                hit["side"],
                f"{hit['quantity']:g}",
                hit["message"],
            )
