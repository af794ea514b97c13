"""JSON-lines and CSV news files: loose column names, time formats, rejected records."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.errors import BadRequest
from bifrost.news.files import parse_time, read_news_file

TS = 1_764_072_000_000_000_000  # 2025-11-25 12:00 UTC


def test_read_jsonl_with_loose_keys_and_rejects(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    path.write_text(
        '{"published": "2025-11-25T12:00:00Z", "headline": "Apple beats", "link": "https://x/1"}\n'
        "\n"
        '{"title": "no time"}\n'
        "not json\n"
        '{"ts": 1764072000, "title": "MSFT flat", "tickers": ["msft", "$AAPL"]}\n'
    )
    read = read_news_file(path)
    first, second = read.articles
    assert (first.ts, first.title, first.url, first.source) == (
        TS,
        "Apple beats",
        "https://x/1",
        "wire",
    )
    assert second.symbols == ("MSFT", "AAPL")
    assert read.rejected == [
        {"line": 3, "reason": "no time (ts, published, ...)"},
        {"line": 4, "reason": "not JSON: Expecting value"},
    ]


def test_read_csv_with_symbols_column(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_text(
        "ts,title,body,url,source,symbols\n"
        '2025-11-25 12:00:00,"Nvidia slumps, analysts warn",Weak demand,,desk,"NVDA;AMD"\n'
    )
    (article,) = read_news_file(path).articles
    assert article.title == "Nvidia slumps, analysts warn"
    assert (article.summary, article.url, article.symbols) == ("Weak demand", None, ("NVDA", "AMD"))


def test_read_csv_without_title_column_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("ts,open,close\n2025-01-01,1,2\n")
    with pytest.raises(BadRequest, match="no title or headline column"):
        read_news_file(path)


def test_read_garbage_file_is_an_error_naming_the_first_problem(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b"\x00\x01garbage\n")
    with pytest.raises(BadRequest, match=r"junk.jsonl: no readable article \(line 1: not JSON"):
        read_news_file(path)


def test_read_binary_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "blob.csv"
    path.write_bytes(b"\xff\xfe\x00\x00")
    with pytest.raises(BadRequest, match="not UTF-8"):
        read_news_file(path)


def test_read_other_suffix_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "news.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(BadRequest, match="not a news file"):
        read_news_file(path)


@pytest.mark.parametrize(
    "value",
    [
        "2025-11-25T12:00:00Z",
        "2025-11-25T07:00:00-05:00",
        "Tue, 25 Nov 2025 12:00:00 GMT",
        1_764_072_000,
        1_764_072_000_000,
        "1764072000000000",
        TS,
    ],
)
def test_parse_time_formats(value: object) -> None:
    assert parse_time(value) == TS


@pytest.mark.parametrize("value", ["yesterday", True, None, float("nan")])
def test_parse_time_rejects_nonsense(value: object) -> None:
    with pytest.raises(ValueError):
        parse_time(value)
