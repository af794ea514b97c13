"""The news screen: the latest headlines with their symbol and score, and each symbol's
rolling sentiment, repainted from the desk as `news.` events arrive."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from bifrost.errors import BifrostError
from tui.app import app_of
from tui.feed import reload_news


def scored(value: float | None) -> Text:
    """A score in green (positive), red (negative) or dim (neutral or unknown)."""
    if value is None:
        return Text("")
    style = "green" if value > 0 else "red" if value < 0 else "dim"
    return Text(f"{value:+.2f}", style=style)


class NewsScreen(Screen[None]):
    """Headlines newest first; rolling sentiment per symbol above them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f5", "reload", "Reload"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("sentiment: waiting for the news service…", id="sentiment")
        yield DataTable(id="headlines", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self._painted = -1
        table = self.query_one("#headlines", DataTable)
        table.add_columns("time (UTC)", "symbol", "score", "rolling", "headline", "source")
        self.set_interval(1 / 20, self.paint)

    def paint(self) -> None:
        """Repaint when the desk changed."""
        desk = app_of(self).desk
        if desk.version == self._painted:
            return
        with desk.lock:
            self._painted = desk.version
            headlines = [dict(h) for h in desk.headlines]
            sentiment = dict(desk.sentiment)
        if sentiment:
            line = Text("sentiment  ")
            for symbol, value in sorted(sentiment.items()):
                line.append(f"{symbol} ")
                line.append_text(scored(value))
                line.append("   ")
            self.query_one("#sentiment", Static).update(line)
        table = self.query_one("#headlines", DataTable)
        table.clear()
        for row in headlines:
            table.add_row(
                time.strftime("%m-%d %H:%M:%S", time.gmtime(row["ts"] / 1e9)),
                row["symbol"],
                scored(row["score"]),
                scored(row["rolling"]),
                row["title"],
                row["source"],
            )

    @work(thread=True, exclusive=True, group="news-screen", exit_on_error=False)
    def action_reload(self) -> None:
        """Fetch the latest headlines and sentiment from the news service."""
        app = app_of(self)
        try:
            with app.bus.client(timeout_ms=2000) as client:
                reload_news(client, app.desk)
        except BifrostError as exc:
            app.call_from_thread(app.notify, f"news: {exc.message}", severity="error", markup=False)
