"""RSS and Atom feeds read from file:// URLs; unsafe or malformed XML is refused cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.errors import BadRequest, Unavailable
from bifrost.news.feeds import read_feed
from bifrost.store.news import article_count
from tests.bifrost.news.conftest import ATOM, BOMB, RSS

NOW = 1_764_100_000_000_000_000


def feed_url(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return path.as_uri()


def read(url: str) -> list:
    return read_feed(url, NOW, timeout_s=5, max_bytes=1_000_000)


def test_read_feed_rss_gives_titles_links_times_and_plain_text(tmp_path: Path) -> None:
    apple, nvidia = read(feed_url(tmp_path, "wire.xml", RSS))
    assert apple.title == "Apple beats estimates as iPhone sales surge"
    assert apple.url == "https://example.com/apple-beats"
    assert apple.ts == 1_764_072_000_000_000_000  # 2025-11-25 12:00 UTC
    assert apple.summary == "Strong quarter for $AAPL"
    assert apple.source == "Market Wire"
    assert nvidia.ts == 1_764_077_400_000_000_000


def test_read_feed_atom_entry(tmp_path: Path) -> None:
    (entry,) = read(feed_url(tmp_path, "crypto.atom", ATOM))
    assert entry.title == "Bitcoin rallies to a record"
    assert entry.url == "https://example.com/btc-record"
    assert entry.ts == 1_764_062_100_000_000_000
    assert entry.source == "Crypto Desk"


def test_feed_articles_are_scored_and_mapped(tmp_path: Path, engine) -> None:
    ingested = engine.ingest(read(feed_url(tmp_path, "wire.xml", RSS)), NOW)
    scores = {a.symbols: a.score for a in ingested.new}
    assert scores[("AAPL",)] > 0 and scores[("NVDA",)] < 0


def test_read_feed_malformed_xml_names_the_position_and_stores_nothing(
    tmp_path: Path, engine
) -> None:
    engine.ingest(read(feed_url(tmp_path, "wire.xml", RSS)), NOW)
    url = feed_url(tmp_path, "broken.xml", ATOM.replace(b"</entry>", b"", 1))
    with pytest.raises(BadRequest, match=r"broken.xml: malformed XML: .*line \d+"):
        engine.ingest(read(url), NOW)
    assert article_count(engine.db) == 2


def test_read_feed_refuses_entity_declarations(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="refused unsafe XML"):
        read(feed_url(tmp_path, "bomb.xml", BOMB))


def test_read_feed_not_a_feed_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"not an RSS or Atom feed \(root element <html>\)"):
        read(feed_url(tmp_path, "page.xml", b"<html><body>hi</body></html>"))


def test_read_feed_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    url = feed_url(tmp_path, "big.xml", RSS)
    with pytest.raises(BadRequest, match="larger than 100 bytes"):
        read_feed(url, NOW, timeout_s=5, max_bytes=100)


def test_read_feed_missing_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="cannot read"):
        read((tmp_path / "nope.xml").as_uri())


def test_read_feed_other_schemes_are_refused() -> None:
    with pytest.raises(BadRequest, match="only http, https and file"):
        read("ftp://example.com/feed.xml")
