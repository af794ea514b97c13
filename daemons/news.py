"""The news service: ingests feeds, news files and synthetic stories, scores them with the
finance lexicon, stores them in news.duckdb and publishes `news.<SYM>` events."""

from __future__ import annotations

import functools
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bifrost.bus import methods, topics
from bifrost.bus.rpc import CallContext, Method
from bifrost.bus.schema import ListOf, Optional, Schema
from bifrost.daemon import Daemon
from bifrost.errors import BadRequest
from bifrost.market.timeframes import timeframe_ns
from bifrost.news.article import Article, RawArticle
from bifrost.news.engine import Ingested, NewsEngine, import_report, make_mapper
from bifrost.news.feeds import read_feed
from bifrost.news.files import read_news_file
from bifrost.news.gateway import decay_of, universe
from bifrost.news.inbox import NewsInbox
from bifrost.news.synthetic import SOURCE, SyntheticNews
from bifrost.store.news import article_count, count_from_source, symbol_scores
from bifrost.store.schema import NEWS

LATEST = Schema("news.latest params", {"symbol": Optional(str), "limit": Optional(int)})
SENTIMENT = Schema(
    "news.sentiment params",
    {"symbol": str, "window": Optional(str), "as_of_ns": Optional(int)},
)
IMPORT = Schema("news.import params", {"path": str})
SCORES = Schema(
    "news.scores params",
    {"symbols": ListOf(str, max_items=500), "start_ns": Optional(int), "end_ns": Optional(int)},
)
MAX_LATEST = 500
BATCH = 1000


class NewsDaemon(Daemon):
    """Articles in from feeds (on a worker thread), files and the generator; events out."""

    store_file = "news.duckdb"
    store_schema = NEWS

    def setup(self) -> None:
        settings = self.config.news
        mapper = make_mapper(universe(self.config, self.bus, self.home))
        self.engine = NewsEngine(self.db, mapper, decay_of(self.config))
        self.stored = article_count(self.db)
        self.published = 0
        inbox = Path(settings.inbox)
        self.inbox = NewsInbox(inbox if inbox.is_absolute() else self.home / inbox, self._import)
        self.fetcher = ThreadPoolExecutor(1, thread_name_prefix="news-fetch")
        self._fetching: Future[None] | None = None
        self.feeds: dict[str, dict[str, Any]] = {url: {"ok": None} for url in settings.feeds}
        self.tasks["ingest_feeds"] = self.ingest_feeds
        self.synthetic: SyntheticNews | None = None
        if settings.synthetic_per_minute > 0:
            self.synthetic = SyntheticNews(
                list(self.config.feed.symbols),
                settings.synthetic_seed,
                mapper.name_of,
                start=count_from_source(self.db, SOURCE),
            )
            self.generate(len(self.synthetic.symbols))  # news at once, not a minute later
            self.every(60.0 / settings.synthetic_per_minute, lambda: self.generate(1))
        for method in (
            Method(methods.NEWS_LATEST, self.latest, LATEST),
            Method(methods.NEWS_SENTIMENT, self.sentiment, SENTIMENT),
            Method(methods.NEWS_SCORES, self.scores, SCORES),
            Method(methods.NEWS_IMPORT, self.import_file, IMPORT, idempotent=True, role="trader"),
        ):
            self.add_method(method)

    # -- articles in ----------------------------------------------------------------------

    def store(self, raws: list[RawArticle], cid: str = "") -> Ingested:
        """Store what is new and publish it on `news.<SYM>` (loop thread only)."""
        ingested = self.engine.ingest(raws, self.clock.now_ns())
        self.stored += len(ingested.new)
        self._publish(ingested.new, cid)
        return ingested

    def _publish(self, new: list[Article], cid: str) -> None:
        assert self.publisher is not None
        by_topic: dict[str, list[dict[str, Any]]] = {}
        for body in self.engine.updates(new):
            by_topic.setdefault(topics.news(body["symbol"]), []).append(body)
        for topic, bodies in by_topic.items():
            if len(bodies) == 1:
                self.publisher.publish(topic, "news", bodies[0], cid)
            else:  # a big import goes out in frames of BATCH, well under the event size cap
                for first in range(0, len(bodies), BATCH):
                    chunk = bodies[first : first + BATCH]
                    self.publisher.publish_batch(topic, "news", chunk, cid)
            self.published += len(bodies)

    def generate(self, count: int) -> None:
        """Timer: the next `count` synthetic stories."""
        assert self.synthetic is not None
        now = self.clock.now_ns()
        self.store([self.synthetic.next_article(now) for _ in range(count)])

    def ingest_feeds(self) -> dict[str, Any]:
        """Scheduled task: import the inbox's files now, fetch the feeds on a worker thread."""
        self.engine.mapper = make_mapper(universe(self.config, self.bus, self.home))
        inbox = self.inbox.sweep()
        started = bool(self.feeds) and (self._fetching is None or self._fetching.done())
        if started:
            self._fetching = self.fetcher.submit(self._fetch_all)
        return {"inbox": inbox, "feeds": len(self.feeds), "fetching": started}

    def _fetch_all(self) -> None:
        """On the worker thread: read every feed; the loop thread stores what came."""
        settings = self.config.news
        for url in settings.feeds:
            try:
                raws = read_feed(
                    url,
                    self.clock.now_ns(),
                    settings.fetch_timeout_seconds,
                    settings.max_feed_bytes,
                )
            except Exception as exc:  # one bad feed must not stop the others, nor the thread
                message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                self.hand_over(functools.partial(self._feed_failed, url, message))
                continue
            self.hand_over(functools.partial(self._feed_read, url, raws))

    def _feed_read(self, url: str, raws: list[RawArticle]) -> None:
        ingested = self.store(raws)
        self.feeds[url] = {"ok": True, "entries": len(raws), "new": len(ingested.new)}
        self.log.info("news.feed_read", feed=url, entries=len(raws), new=len(ingested.new))

    def _feed_failed(self, url: str, message: str) -> None:
        self.feeds[url] = {"ok": False, "error": message}
        self.log.warning("news.feed_failed", feed=url, error=message)

    def _import(self, path: Path, cid: str = "") -> dict[str, Any]:
        """Import one file: store and publish what is new; the report says what happened."""
        read = read_news_file(path)
        return import_report(read, self.store(read.articles, cid))

    # -- methods --------------------------------------------------------------------------

    def import_file(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`news.import`: a JSON-lines or CSV file on this host (absolute path); idempotent,
        as articles are deduplicated."""
        path = Path(params["path"])
        if not path.is_absolute():
            raise BadRequest(f"news.import needs an absolute path, not '{path}'")
        return self._import(path, ctx.cid)

    def latest(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`news.latest`: newest articles first, of one symbol or of all."""
        limit = 20 if params.get("limit") is None else params["limit"]
        if not 1 <= limit <= MAX_LATEST:
            raise BadRequest(f"limit must be between 1 and {MAX_LATEST}")
        return {"articles": self.engine.latest(params.get("symbol"), limit)}

    def sentiment(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`news.sentiment`: rolling score of a symbol now (or at `as_of_ns`) over `window`."""
        window = params.get("window")
        if window is not None:
            timeframe_ns(window)
        as_of = params.get("as_of_ns") or self.clock.now_ns()
        return self.engine.sentiment(params["symbol"], window, as_of)

    def scores(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`news.scores`: (symbol, ts, score) rows of symbols' articles, for as-of lookups."""
        rows = symbol_scores(
            self.db, params["symbols"], params.get("start_ns"), params.get("end_ns")
        )
        return {"scores": [list(row) for row in rows]}

    def details(self) -> dict[str, Any]:
        """Articles stored and published, feeds' last outcome, shown by `health`."""
        return {
            "articles": self.stored,
            "published": self.published,
            "synthetic": self.synthetic is not None,
            "feeds": dict(self.feeds),
        }

    def on_stop(self) -> None:
        """Leave a fetch in flight behind (it only reads) before the store is closed."""
        self.fetcher.shutdown(wait=False, cancel_futures=True)
