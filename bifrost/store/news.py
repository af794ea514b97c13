"""The news tables: articles with their scores, and one row per (article, symbol) for
rolling sentiment and as-of lookups. Only the news service writes them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb

from bifrost.news.article import Article
from bifrost.store.database import load_rows

_ARTICLE_COLUMNS = "article_id, ts, received_ns, source, title, summary, url, symbols, score"


def existing_ids(connection: duckdb.DuckDBPyConnection, ids: list[str]) -> set[str]:
    """Which of `ids` are stored already."""
    if not ids:
        return set()
    rows = connection.execute(
        "SELECT article_id FROM articles WHERE article_id IN (SELECT UNNEST(?::VARCHAR[]))",
        [ids],
    ).fetchall()
    return {row[0] for row in rows}


def save_articles(
    connection: duckdb.DuckDBPyConnection, articles: list[Article], received_ns: int
) -> None:
    """Insert new articles and their symbol rows in one transaction."""
    if not articles:
        return
    connection.execute("BEGIN TRANSACTION")
    try:
        load_rows(
            connection,
            "new_articles",
            {
                "article_id": "VARCHAR",
                "ts": "BIGINT",
                "received_ns": "BIGINT",
                "source": "VARCHAR",
                "title": "VARCHAR",
                "summary": "VARCHAR",
                "url": "VARCHAR",
                "symbols": "VARCHAR[]",
                "score": "DOUBLE",
            },
            [
                {**a.to_dict(), "received_ns": received_ns, "symbols": list(a.symbols)}
                for a in articles
            ],
        )
        connection.execute(
            f"INSERT INTO articles ({_ARTICLE_COLUMNS}) SELECT {_ARTICLE_COLUMNS} FROM new_articles"
        )
        connection.execute("DROP TABLE new_articles")
        tagged = [
            {"symbol": s, "ts": a.ts, "article_id": a.article_id, "score": a.score}
            for a in articles
            for s in a.symbols
        ]
        if tagged:
            load_rows(
                connection,
                "new_article_symbols",
                {"symbol": "VARCHAR", "ts": "BIGINT", "article_id": "VARCHAR", "score": "DOUBLE"},
                tagged,
            )
            connection.execute("INSERT INTO article_symbols SELECT * FROM new_article_symbols")
            connection.execute("DROP TABLE new_article_symbols")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def latest_articles(
    connection: duckdb.DuckDBPyConnection, symbol: str | None, limit: int
) -> list[Article]:
    """Newest articles first, of one symbol or of all."""
    where = "WHERE list_contains(symbols, ?)" if symbol else ""
    params: list[Any] = [symbol] if symbol else []
    rows = connection.execute(
        f"SELECT article_id, ts, title, summary, url, source, symbols, score FROM articles "
        f"{where} ORDER BY ts DESC, article_id LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [
        Article(row[0], row[1], row[2], row[3], row[4], row[5], tuple(row[6]), row[7])
        for row in rows
    ]


def symbol_scores(
    connection: duckdb.DuckDBPyConnection,
    symbols: Iterable[str],
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> list[tuple[str, int, float]]:
    """(symbol, ts, score) of the symbols' articles with start <= ts <= end, in time order."""
    rows = connection.execute(
        "SELECT symbol, ts, score FROM article_symbols "
        "WHERE symbol IN (SELECT UNNEST(?::VARCHAR[])) AND ts >= ? AND ts <= ? "
        "ORDER BY symbol, ts",
        [list(symbols), start_ns if start_ns is not None else -(2**63), end_ns or 2**63 - 1],
    ).fetchall()
    return [(row[0], int(row[1]), float(row[2])) for row in rows]


def stored_symbols(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """Every symbol some stored article names."""
    return {
        row[0]
        for row in connection.execute("SELECT DISTINCT symbol FROM article_symbols").fetchall()
    }


def count_from_source(connection: duckdb.DuckDBPyConnection, source: str) -> int:
    """How many stored articles came from `source`."""
    return int(
        connection.execute("SELECT count(*) FROM articles WHERE source = ?", [source]).fetchall()[
            0
        ][0]
    )


def article_count(connection: duckdb.DuckDBPyConnection) -> int:
    """How many articles are stored."""
    return int(connection.execute("SELECT count(*) FROM articles").fetchall()[0][0])
