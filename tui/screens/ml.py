"""The ML screen: the model registry and the latest `signal.<SYM>` of each symbol, live."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from bifrost.bus import methods, topics
from bifrost.errors import BifrostError
from tui.app import app_of
from tui.fetch import fetch

REPAINT_S = 0.25


class SignalBoard:
    """The latest signal per symbol, written by the follower thread, read by the screen."""

    def __init__(self) -> None:
        self.latest: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.lock = threading.Lock()

    def apply(self, body: Any) -> None:
        """Keep a signal if it is newer than the one held for its symbol; skip malformed."""
        if not isinstance(body, dict) or not isinstance(body.get("symbol"), str):
            return
        with self.lock:
            held = self.latest.get(body["symbol"])
            if held is None or body.get("bar_ts", 0) >= held.get("bar_ts", 0):
                self.latest[body["symbol"]] = dict(body)
                self.version += 1

    def rows(self) -> list[dict[str, Any]]:
        """Signals sorted by symbol."""
        with self.lock:
            return [self.latest[s] for s in sorted(self.latest)]


class MLScreen(Screen[None]):
    """Registered models with their out-of-sample metrics, and live signals per symbol."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("u", "reload", "Reload models"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.board = SignalBoard()
        self._painted = -1
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Models", id="status", classes="title")
        yield DataTable(id="models", cursor_type="row")
        yield Static("Latest signals (signal.<SYM>)", classes="title")
        yield DataTable(id="signals", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#models", DataTable).add_columns(
            "name", "version", "kind", "symbols", "tf", "horizon", "OOS acc", "OOS AUC", "OOS IC"
        )
        self.query_one("#signals", DataTable).add_columns(
            "symbol", "model", "P(rise)", "score", "signal", "bar"
        )
        self.action_reload()
        self.follow_signals()
        self.set_interval(REPAINT_S, self._paint_signals)

    def on_unmount(self) -> None:
        self._stop.set()

    def action_reload(self) -> None:
        """Fetch the registry again."""
        self.load_models()

    @work(thread=True, exclusive=True, group="ml-models", exit_on_error=False)
    def load_models(self) -> None:
        """Ask the ml service for its models."""
        reply = fetch(self, "ml", methods.ML_LIST)
        if reply is not None:
            self.app.call_from_thread(self._show_models, reply["models"])

    def _show_models(self, models: list[dict[str, Any]]) -> None:
        self.query_one("#status", Static).update(f"Models ({len(models)})")
        table = self.query_one("#models", DataTable)
        table.clear()
        for m in models:
            overall = m["metrics"]["overall"]
            table.add_row(
                m["name"],
                str(m["version"]),
                m["kind"],
                ",".join(m["symbols"]),
                m["timeframe"],
                str(m["horizon"]),
                *(_fmt(overall[k]) for k in ("accuracy", "auc", "ic")),
            )

    @work(thread=True, exclusive=True, group="ml-signals", exit_on_error=False)
    def follow_signals(self) -> None:
        """Take the last signal of each symbol from the ml service's snapshot, then follow."""
        bus = app_of(self).bus
        prefix = topics.prefix(topics.SIGNAL)
        with (
            bus.client(timeout_ms=1000, retries=0) as client,
            bus.events(client, {"ml": [prefix]}) as events,
        ):
            try:
                snapshot = client.call("ml", methods.SNAPSHOT, {"prefix": prefix})
                for value in snapshot["topics"].values():
                    self.board.apply(value["body"])
            except BifrostError:
                pass  # not running yet: events will come once it is
            while not self._stop.is_set():
                for event in events.poll(100):
                    self.board.apply(event.body)

    def _paint_signals(self) -> None:
        if self.board.version == self._painted:
            return
        from bifrost.clock import format_instant

        self._painted = self.board.version
        table = self.query_one("#signals", DataTable)
        table.clear()
        for s in self.board.rows():
            colour = "green" if s.get("signal") == "long" else "yellow"
            table.add_row(
                s["symbol"],
                f"{s.get('model')} v{s.get('version')}",
                _fmt(s.get("probability")),
                _fmt(s.get("score")),
                f"[{colour}]{s.get('signal')}[/]",
                format_instant(int(s.get("bar_ts", 0))),
            )


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
