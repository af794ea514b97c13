"""The microstructure screen: the L2 ladder of the selected symbol and its metrics, live.

A thread worker with its own client follows `book.<SYM>` from the data service (the
book rebuilt by a BookFollower, healed from the data service's snapshot) and
`micro.<SYM>` from the microstructure service, and keeps the latest of both under a
lock; the screen repaints from there at most 20 times a second, only after a change.

The book's own measures (spread, depth, imbalance, microprice) are taken here from the
very levels the ladder shows, so the two always agree; the service's event, which may
be of an older or newer book than the one drawn, gives only the flow measures
(volatility, autocorrelation, Kyle's lambda, Amihud, VPIN, counts).
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from bifrost.bus import methods, topics
from bifrost.client import BifrostClient
from bifrost.errors import BifrostError
from bifrost.micro.follower import BookFollower, snapshot_entry
from bifrost.micro.labels import METRIC_LABELS, metric_text
from bifrost.micro.metrics import MicroSettings, book_measures
from tui.app import app_of
from tui.bus import TuiBus
from tui.widgets.ladder import ladder_table

LEVELS = 10
REPAINT_S = 0.05
ON_LADDER = ("best_bid", "best_ask", "quotes")
"""Metrics the panel leaves out: the ladder shows the touch and the quotes themselves."""
METRICS = tuple(m for m in METRIC_LABELS if m.key not in ON_LADDER)
DEPTH_LEVELS = MicroSettings().depth_levels
"""Levels per side in depth and book imbalance, as the microstructure service sums them."""


class MicroView:
    """The latest book and metrics of one symbol, shared by the worker and the screen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bids: list[tuple[float, float]] = []
        self.asks: list[tuple[float, float]] = []
        self.seq = 0
        self.metrics: dict[str, Any] = {}
        """The service's latest metrics (its flow measures are the ones shown)."""
        self.book_metrics: dict[str, Any] = {}
        """Spread, depth, imbalance and microprice of `bids` and `asks`."""
        self.status = "connecting…"
        self.version = 0

    def set_book(self, follower: BookFollower, symbol: str) -> None:
        """Copy the followed book's best levels."""
        bids, asks = follower.books[symbol].depth(LEVELS)
        measures = {
            key: None if value != value else value  # NaN (an empty side): not measurable
            for key, value in book_measures(bids, asks, DEPTH_LEVELS).items()
        }
        with self.lock:
            self.bids, self.asks, self.seq = bids, asks, follower.seqs[symbol]
            self.book_metrics = measures
            self.status = ""
            self.version += 1

    def set_metrics(self, metrics: dict[str, Any]) -> None:
        """Replace the metrics."""
        with self.lock:
            self.metrics = dict(metrics)
            self.version += 1

    def set_status(self, status: str) -> None:
        """A line saying what is missing (a service down, no book published)."""
        with self.lock:
            self.status = status
            self.version += 1


class MicroScreen(Screen[None]):
    """The ladder (asks above, bids below) beside the metrics table."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, symbol: str) -> None:
        super().__init__()
        self.symbol = symbol
        self.view = MicroView()
        self._stop = threading.Event()
        self._painted = -1

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="micro-status")
        with Horizontal():
            yield Static(id="ladder", classes="column")
            yield Static(id="micro-metrics", classes="column")
        yield Footer()

    def on_mount(self) -> None:
        self.follow()
        self.set_interval(REPAINT_S, self.repaint)

    def on_unmount(self) -> None:
        self._stop.set()

    @work(thread=True, exclusive=True, group="micro", exit_on_error=False)
    def follow(self) -> None:
        """Follow the symbol's book and metrics until the screen closes."""
        bus = app_of(self).bus
        with bus.client(timeout_ms=1000, retries=0) as client:
            follow_symbol(bus, client, self.symbol, self.view, self._stop)

    def repaint(self) -> None:
        """Paint what changed since the last repaint."""
        view = self.view
        with view.lock:
            if view.version == self._painted:
                return
            self._painted = view.version
            bids, asks, seq = list(view.bids), list(view.asks), view.seq
            metrics, status = {**view.metrics, **view.book_metrics}, view.status
        self.query_one("#micro-status", Static).update(
            f"{escape(self.symbol)}  ·  book seq {seq}  {escape(status)}"
        )
        self.query_one("#ladder", Static).update(ladder_table(bids, asks))
        self.query_one("#micro-metrics", Static).update(metrics_table(metrics))


def follow_symbol(
    bus: TuiBus, client: BifrostClient, symbol: str, view: MicroView, stop: threading.Event
) -> None:
    """The worker's loop: book deltas into a follower, metrics events into the view."""
    book_topic, micro_topic = topics.book(symbol), topics.micro(symbol)

    def fetch(topic: str) -> Any:
        return snapshot_entry(client.call("data", methods.SNAPSHOT, {"prefix": topic}), topic)

    follower = BookFollower(fetch)
    following = {"data": [book_topic], "microstructure": [micro_topic]}
    with bus.events(client, following) as events:
        first_metrics(client, symbol, view)
        while not stop.is_set():
            if symbol not in follower.books and not start_book(follower, book_topic, view):
                stop.wait(1.0)  # data is down or publishes no book: try again soon
                continue
            for event in events.poll(100):
                fold(event, follower, symbol, view)


def start_book(follower: BookFollower, topic: str, view: MicroView) -> bool:
    """Take the data service's whole book; False (and a status line) when there is none."""
    try:
        if follower.resync(topic):
            view.set_book(follower, topic.partition(".")[2])
            return True
        view.set_status("the data service publishes no book ([feed] book_levels is 0)")
    except BifrostError as exc:
        view.set_status(f"data: {exc.message}")
    return False


def first_metrics(client: BifrostClient, symbol: str, view: MicroView) -> None:
    """The metrics as they stand, so the table is not empty until the next event."""
    try:
        view.set_metrics(client.call("microstructure", methods.MICRO_METRICS, {"symbol": symbol}))
    except BifrostError as exc:
        view.set_metrics({"error": exc.message})


def fold(event: Any, follower: BookFollower, symbol: str, view: MicroView) -> None:
    """One event into the view; a malformed one is shown, never raised."""
    try:
        if event.topic == topics.micro(symbol):
            view.set_metrics(event.body)
        elif event.topic == topics.book(symbol) and follower.on_event(
            event.topic, event.type, event.seq, event.body
        ):
            view.set_book(follower, symbol)
    except BifrostError as exc:
        view.set_status(f"bad event on {event.topic}: {exc.message}")


def metrics_table(metrics: dict[str, Any]) -> Table:
    """The metrics, '-' for those not measurable yet."""
    table = Table(title="Microstructure", title_justify="left", expand=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    if "error" in metrics:
        table.add_row("microstructure", metrics["error"])
        return table
    for m in METRICS:
        table.add_row(m.short or m.label, metric_text(metrics.get(m.key), m.pattern))
    return table
