"""The microstructure service: L2 books and flow metrics from the data service's streams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bifrost.bus import methods, topics
from bifrost.bus.pubsub import Event
from bifrost.bus.rpc import CallContext, Method
from bifrost.bus.schema import Optional, Schema
from bifrost.daemon import Daemon
from bifrost.errors import BifrostError
from bifrost.micro.engine import MicroEngine
from bifrost.micro.follower import SnapshotEntry, snapshot_entry
from bifrost.store.micro import append_metric_rows, metric_history
from bifrost.store.schema import MICRO

PUBLISH_EVERY_S = 1.0
"""Each symbol's `micro.<SYM>` is published at most this often (and only after new data)."""
BOOK_PARAMS = Schema("micro.book params", {"symbol": str, "levels": Optional(int)})
METRICS_PARAMS = Schema("micro.metrics params", {"symbol": str})
HISTORY_PARAMS = Schema("micro.history params", {"symbol": str, "limit": Optional(int)})


STORE_FILE = "micro.duckdb"


def store_path(home: Path) -> Path:
    """Where the microstructure service keeps its DuckDB file."""
    return home / STORE_FILE


class MicrostructureDaemon(Daemon):
    """Follows `book.`, `quote.` and `trade.`; publishes `micro.<SYM>`; stores metric rows."""

    store_file = STORE_FILE
    store_schema = MICRO

    def setup(self) -> None:
        self.engine = MicroEngine(list(self.config.feed.symbols), self._fetch_book)
        self.bad_events = 0
        self.published = 0
        self.stored = 0
        self.metrics.count_live(
            "bifrost_micro_bad_events", "Malformed events dropped", lambda: self.bad_events
        )
        prefixes = [topics.prefix(k) for k in (topics.BOOK, topics.QUOTE, topics.TRADE)]
        self.subscribe("data", prefixes, self._event)
        self.every(PUBLISH_EVERY_S, self.publish_metrics)
        for method in (
            Method(methods.MICRO_BOOK, self.book, BOOK_PARAMS),
            Method(methods.MICRO_METRICS, self.symbol_metrics, METRICS_PARAMS),
            Method(methods.MICRO_HISTORY, self.history, HISTORY_PARAMS),
        ):
            self.add_method(method)

    def _fetch_book(self, topic: str) -> SnapshotEntry | None:
        """The data service's snapshot of one `book.<SYM>` topic (to start or heal a book)."""
        return snapshot_entry(self.bus.call("data", methods.SNAPSHOT, {"prefix": topic}), topic)

    def _event(self, event: Event) -> None:
        try:
            self.engine.on_event(event.topic, event.type, event.seq, event.body)
        except BifrostError as exc:
            # A bad event is dropped and counted; the books and the service go on.
            self.bad_events += 1
            self.log.warning("micro.bad_event", topic=event.topic, error=exc.message)

    def publish_metrics(self) -> None:
        """Publish and store the metrics of every symbol that changed since the last round."""
        assert self.publisher is not None
        now = self.clock.now_ns()
        rows = []
        for symbol in self.engine.take_changed():
            row = self.engine.metrics(symbol, now)
            self.publisher.publish(topics.micro(symbol), "micro", row)
            rows.append(row)
        self.published += len(rows)
        self.stored += append_metric_rows(self.db, rows)

    # -- RPC methods ----------------------------------------------------------------------

    def book(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`micro.book`: the best `levels` (default 10) of a symbol's book."""
        return self.engine.book(params["symbol"], params.get("levels") or 10)

    def symbol_metrics(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`micro.metrics`: every measure of a symbol, computed now."""
        return self.engine.metrics(params["symbol"], self.clock.now_ns())

    def history(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`micro.history`: the latest stored metric rows of a symbol (default 100)."""
        symbol = params["symbol"]
        self.engine.check_symbol(symbol)
        limit = min(max(params.get("limit") or 100, 1), 10_000)
        return {"symbol": symbol, "rows": metric_history(self.db, symbol, limit)}

    # -- life cycle -----------------------------------------------------------------------

    def details(self) -> dict[str, Any]:
        """Followed symbols, books and counters, shown by `health`."""
        engine = self.engine
        return {
            "symbols": engine.symbols,
            "books": {s: b.level_counts() for s, b in engine.books.books.items()},
            "book_resyncs": engine.books.resyncs,
            "bad_events": self.bad_events,
            "published": self.published,
            "stored": self.stored,
        }
