"""The news engine: dedupe, symbol mapping, storage, latest and sentiment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.errors import NotFound
from bifrost.news.article import RawArticle
from bifrost.news.engine import make_mapper
from bifrost.store.news import article_count, symbol_scores

HOUR = 3_600_000_000_000
T0 = 1_764_072_000_000_000_000


def raw(title: str, ts: int = T0, url: str | None = None, **options) -> RawArticle:
    return RawArticle(ts=ts, title=title, url=url, source="test", **options)


def test_ingest_same_url_twice_stores_once(engine) -> None:
    first = engine.ingest([raw("Apple beats", url="https://x.com/a#top")], T0)
    again = engine.ingest([raw("Apple beats (updated)", url="HTTPS://X.COM/a")], T0)
    assert (len(first.new), first.duplicates) == (1, 0)
    assert (len(again.new), again.duplicates) == (0, 1)
    assert article_count(engine.db) == 1


def test_ingest_without_url_dedupes_by_text_ignoring_case_and_spacing(engine) -> None:
    engine.ingest([raw("Apple  beats\nestimates")], T0)
    again = engine.ingest([raw("apple beats estimates"), raw("Apple misses")], T0)
    assert [a.title for a in again.new] == ["Apple misses"] and again.duplicates == 1


def test_ingest_duplicates_within_one_batch_count_once(engine) -> None:
    result = engine.ingest([raw("Same", url="https://x/1"), raw("Same", url="https://x/1")], T0)
    assert (len(result.new), result.duplicates) == (1, 1)


def test_symbols_from_cashtags_tickers_and_names() -> None:
    mapper = make_mapper({"AAPL", "MSFT", "NVDA", "BTC-USD", "SPY"})
    assert mapper.symbols_in("$TSLA and $BTC rally") == ("BTC-USD", "TSLA")
    assert mapper.symbols_in("NVDA and MSFT beat; the CEO said IPO") == ("MSFT", "NVDA")
    assert mapper.symbols_in("Apple and microsoft vs the S&P 500") == ("AAPL", "MSFT", "SPY")
    assert mapper.symbols_in("Pineapple growers; Applebee's") == ()
    assert mapper.symbols_in("BTC-USD jumps") == ("BTC-USD",)
    assert mapper.symbols_in("nothing here", given=["msft", "bad symbol!"]) == ("MSFT",)


def test_latest_newest_first_and_by_symbol(engine) -> None:
    engine.ingest(
        [raw("Apple beats", T0), raw("Nvidia slumps", T0 + HOUR), raw("Apple news", T0 + 2 * HOUR)],
        T0,
    )
    assert [a["title"] for a in engine.latest(None, 2)] == ["Apple news", "Nvidia slumps"]
    assert [a["title"] for a in engine.latest("AAPL", 10)] == ["Apple news", "Apple beats"]


def test_latest_unknown_symbol_is_not_found(engine) -> None:
    with pytest.raises(NotFound, match="unknown symbol 'ZZZZ'"):
        engine.latest("ZZZZ", 5)


def test_symbol_named_only_by_an_article_becomes_known(engine) -> None:
    engine.ingest([raw("$ZZZZ surges")], T0)
    assert engine.latest("ZZZZ", 5)[0]["title"] == "$ZZZZ surges"


def test_sentiment_rolls_up_the_window(engine) -> None:
    engine.ingest([raw("Apple beats", T0), raw("Apple misses", T0 + HOUR)], T0)
    result = engine.sentiment("AAPL", "1d", T0 + HOUR)
    assert (result["articles"], result["positive"], result["negative"]) == (2, 1, 1)
    assert result["mean"] == pytest.approx(0.0, abs=1e-6)
    assert result["score"] < 0  # the newer, negative article weighs more
    assert engine.sentiment("AAPL", "1d", T0 + 30 * HOUR)["articles"] == 0


def test_updates_carry_symbol_score_and_rolling_at_the_article(engine) -> None:
    new = engine.ingest([raw("Apple beats; Nvidia slumps", T0)], T0).new
    bodies = engine.updates(new)
    assert [b["symbol"] for b in bodies] == ["AAPL", "NVDA"]
    assert all(b["rolling"] == pytest.approx(b["score"] / 1.5, abs=1e-5) for b in bodies)


def test_import_file_reports_and_is_idempotent(tmp_path: Path, engine) -> None:
    path = tmp_path / "wire.jsonl"
    path.write_text(
        '{"ts": "2025-11-25T12:00:00Z", "title": "Apple beats", "url": "https://x/1"}\n'
        '{"ts": "2025-11-25T13:00:00Z", "title": "Nvidia slumps"}\n'
        '{"title": "no time"}\n'
    )
    report = engine.import_file(path, T0)
    assert {k: report[k] for k in ("read", "new", "duplicates", "rejected")} == {
        "read": 3,
        "new": 2,
        "duplicates": 0,
        "rejected": 1,
    }
    assert report["symbols"] == {"AAPL": 1, "NVDA": 1}
    assert engine.import_file(path, T0)["new"] == 0
    assert len(symbol_scores(engine.db, ["AAPL", "NVDA"])) == 2
