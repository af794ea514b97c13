"""The news engine: score, tag, deduplicate and store articles; answer latest and sentiment.

It works on one connection to news.duckdb: read-write in the news daemon (or in the
CLI when the daemon is down and the user imports), read-only for questions. An
article's id is the hash of its URL, or of its text when it has none (see
`article.article_id`), so ingesting the same article twice stores it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from bifrost.errors import NotFound
from bifrost.market.timeframes import timeframe_ns
from bifrost.news.article import Article, RawArticle, article_id
from bifrost.news.files import FileRead, read_news_file
from bifrost.news.lexicon import Lexicon, finance_lexicon
from bifrost.news.rolling import Decay, SentimentHistory, rolling_score
from bifrost.news.symbols import SymbolMapper, read_aliases
from bifrost.store import news as store

MAX_REJECTS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Ingested:
    """What one ingest stored: the new articles, and how many were already known."""

    new: list[Article]
    duplicates: int


def import_report(read: FileRead, ingested: Ingested) -> dict[str, Any]:
    """What an import did: records read, new, duplicate and rejected, and symbols named."""
    symbols: dict[str, int] = {}
    for article in ingested.new:
        for symbol in article.symbols:
            symbols[symbol] = symbols.get(symbol, 0) + 1
    return {
        "file": str(read.path),
        "read": len(read.articles) + len(read.rejected),
        "new": len(ingested.new),
        "duplicates": ingested.duplicates,
        "rejected": len(read.rejected),
        "rejects": read.rejected[:MAX_REJECTS_SHOWN],
        "symbols": dict(sorted(symbols.items())),
    }


def make_mapper(symbols: Iterable[str]) -> SymbolMapper:
    """A mapper over `symbols` plus the shipped name aliases."""
    return SymbolMapper(symbols, read_aliases())


class NewsEngine:
    """Articles in, scored and tagged; latest, rolling sentiment and histories out."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        mapper: SymbolMapper,
        decay: Decay,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.db = connection
        self.mapper = mapper
        self.decay = decay
        self.lexicon = lexicon or finance_lexicon()

    # -- in -------------------------------------------------------------------------------

    def prepare(self, raw: RawArticle) -> Article:
        """Score and tag one raw article (no storage)."""
        text = f"{raw.title}. {raw.summary}" if raw.summary else raw.title
        return Article(
            article_id(raw),
            raw.ts,
            raw.title,
            raw.summary,
            raw.url,
            raw.source,
            self.mapper.symbols_in(text, raw.symbols),
            round(self.lexicon.score(text), 6),
        )

    def ingest(self, raws: Iterable[RawArticle], received_ns: int) -> Ingested:
        """Store the articles not seen before (one transaction); duplicates are counted."""
        batch: dict[str, Article] = {}
        total = 0
        for raw in raws:
            total += 1
            article = self.prepare(raw)
            batch.setdefault(article.article_id, article)
        known = store.existing_ids(self.db, list(batch))
        new = sorted((a for i, a in batch.items() if i not in known), key=lambda a: a.ts)
        store.save_articles(self.db, new, received_ns)
        return Ingested(new, total - len(new))

    def import_file(self, path: Path, received_ns: int) -> dict[str, Any]:
        """Import a JSON-lines or CSV file; the report counts new, duplicate and rejected."""
        read = read_news_file(path)
        return import_report(read, self.ingest(read.articles, received_ns))

    def updates(self, new: list[Article]) -> list[dict[str, Any]]:
        """One `news.<SYM>` event body per (article, symbol), with the rolling score then."""
        by_symbol: dict[str, list[Article]] = {}
        for article in new:
            for symbol in article.symbols:
                by_symbol.setdefault(symbol, []).append(article)
        bodies = []
        for symbol, articles in by_symbol.items():
            history = self.history([symbol], articles[0].ts - self.decay.window_ns, articles[-1].ts)
            for article in articles:
                body = article.to_dict()
                del body["summary"]
                body.update(symbol=symbol, rolling=round(history.score(symbol, article.ts), 6))
                bodies.append(body)
        return sorted(bodies, key=lambda b: b["ts"])

    # -- out ------------------------------------------------------------------------------

    def known_symbols(self) -> set[str]:
        """Symbols of the universe and symbols some stored article names."""
        return set(self.mapper.known) | store.stored_symbols(self.db)

    def check_symbol(self, symbol: str) -> str:
        """`symbol` if any instrument, alias or article names it, else NotFound listing some."""
        known = self.known_symbols()
        if symbol not in known:
            shown = ", ".join(sorted(known)[:20]) or "none"
            raise NotFound(
                f"unknown symbol '{symbol}': no instrument, name or article refers to it "
                f"(known: {shown})",
                {"symbol": symbol},
            )
        return symbol

    def latest(self, symbol: str | None, limit: int) -> list[dict[str, Any]]:
        """Newest articles first (of one symbol when given)."""
        if symbol is not None:
            self.check_symbol(symbol)
        return [a.to_dict() for a in store.latest_articles(self.db, symbol, limit)]

    def history(
        self, symbols: list[str], start_ns: int | None, end_ns: int | None, offset_ns: int = 0
    ) -> SentimentHistory:
        """Stored article scores of `symbols` in [start, end], ready for as-of lookups."""
        rows = store.symbol_scores(self.db, symbols, start_ns, end_ns)
        return SentimentHistory.from_rows(self.decay, rows, offset_ns)

    def sentiment(self, symbol: str, window: str | None, as_of_ns: int) -> dict[str, Any]:
        """Rolling score of `symbol` at `as_of_ns` over `window` (default: the config's),
        with the counts and the plain mean of the articles in the window."""
        self.check_symbol(symbol)
        decay = self.decay.with_window(timeframe_ns(window) if window else None)
        rows = store.symbol_scores(self.db, [symbol], as_of_ns - decay.window_ns + 1, as_of_ns)
        ts = np.array([r[1] for r in rows], dtype=np.int64)
        scores = np.array([r[2] for r in rows], dtype=np.float64)
        return {
            "symbol": symbol,
            "as_of_ns": as_of_ns,
            "window_ns": decay.window_ns,
            "half_life_ns": decay.half_life_ns,
            "score": round(rolling_score(ts, scores, as_of_ns, decay), 6),
            "articles": len(rows),
            "mean": round(float(scores.mean()), 6) if len(rows) else None,
            "positive": int((scores > 0).sum()),
            "negative": int((scores < 0).sum()),
            "neutral": int((scores == 0).sum()),
        }
