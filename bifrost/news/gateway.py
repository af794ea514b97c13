"""News for the CLI, the TUI and backtests: through the news daemon when it runs, else
from news.duckdb directly (read-only for questions, read-write for an import).

Only the news daemon writes news.duckdb while it runs, so when it answers every request
goes through it; when it does not, the same engine runs here on the file, so both routes
give the same answers.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from bifrost.bus import methods
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig
from bifrost.errors import BifrostError
from bifrost.news.engine import NewsEngine, make_mapper
from bifrost.news.rolling import Decay, SentimentHistory
from bifrost.store.schema import NEWS

SERVICE = "news"
IMPORT_TIMEOUT_MS = 600_000


def news_store(home: Path) -> Path:
    """Where the news service keeps its DuckDB file."""
    return home / "news.duckdb"


def decay_of(config: BifrostConfig) -> Decay:
    """The rolling-score decay the config asks for."""
    news = config.news
    return Decay.parse(news.half_life, news.window, news.prior_weight)


def universe(config: BifrostConfig, client: BifrostClient, home: Path) -> set[str]:
    """Symbols articles can be mapped to: the feed's and the stored instruments."""
    from bifrost.market.gateway import DataGateway

    symbols = set(config.feed.symbols)
    # A busy or unreadable data file leaves the feed's symbols, which still map.
    with contextlib.suppress(BifrostError):
        symbols.update(i["symbol"] for i in DataGateway(client, home).instruments())
    return symbols


class NewsGateway:
    """One way in to the news, whichever route is open."""

    def __init__(self, client: BifrostClient, home: Path) -> None:
        self.client = client
        self.config = client.config
        self.home = home
        self.via = "daemon" if client.answers(SERVICE) else "file"

    def _call(self, method: str, params: dict[str, Any], **options: Any) -> Any:
        return self.client.call(SERVICE, method, params, **options)

    def _engine(self, read_only: bool) -> tuple[Any, NewsEngine]:
        """The engine on the news file; with no file yet, on an empty in-memory store, so
        questions get the same answers and errors as from an empty file."""
        import duckdb

        from bifrost.store.database import migrate, open_store

        path = news_store(self.home)
        if read_only and not path.exists():
            connection = duckdb.connect(":memory:")
            migrate(connection, NEWS)
        else:
            connection = open_store(path, read_only=read_only, migrations=NEWS)
        mapper = make_mapper(universe(self.config, self.client, self.home))
        return connection, NewsEngine(connection, mapper, decay_of(self.config))

    def latest(self, symbol: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Newest articles first, of one symbol or of all."""
        if self.via == "daemon":
            reply = self._call(
                methods.NEWS_LATEST, {"symbol": symbol, "limit": limit}, idempotent=True
            )
            return list(reply["articles"])
        connection, engine = self._engine(read_only=True)
        with connection:
            return engine.latest(symbol, limit)

    def sentiment(
        self, symbol: str, window: str | None = None, as_of_ns: int | None = None
    ) -> dict[str, Any]:
        """The rolling score of one symbol (now, or at `as_of_ns`) and its window's counts."""
        if self.via == "daemon":
            params = {"symbol": symbol, "window": window, "as_of_ns": as_of_ns}
            return dict(self._call(methods.NEWS_SENTIMENT, params, idempotent=True))
        connection, engine = self._engine(read_only=True)
        with connection:
            return engine.sentiment(symbol, window, as_of_ns or time.time_ns())

    def import_file(self, path: Path) -> dict[str, Any]:
        """Import a JSON-lines or CSV file of articles (a re-import stores nothing twice)."""
        absolute = str(path.resolve())
        if self.via == "daemon":
            params = {"path": absolute}
            reply = self._call(
                methods.NEWS_IMPORT, params, idempotent=True, timeout_ms=IMPORT_TIMEOUT_MS
            )
            return dict(reply)
        connection, engine = self._engine(read_only=False)
        with connection:
            return engine.import_file(Path(absolute), time.time_ns())

    def history(
        self, symbols: list[str], start_ns: int | None, end_ns: int | None, offset_ns: int = 0
    ) -> SentimentHistory:
        """Article scores of `symbols` from `start_ns - window` to `end_ns`, for as-of
        lookups; empty (every score neutral) when there is neither a service nor a file."""
        decay = decay_of(self.config)
        start = None if start_ns is None else start_ns - decay.window_ns
        if self.via == "daemon":
            params = {"symbols": symbols, "start_ns": start, "end_ns": end_ns}
            reply = self._call(methods.NEWS_SCORES, params, idempotent=True, timeout_ms=60_000)
            rows = [(r[0], r[1], r[2]) for r in reply["scores"]]
            return SentimentHistory.from_rows(decay, rows, offset_ns)
        if not news_store(self.home).exists():
            return SentimentHistory(decay, offset_ns)
        connection, engine = self._engine(read_only=True)
        with connection:
            return engine.history(symbols, start, end_ns, offset_ns)
