"""The news daemon served from a thread: health, synthetic news events, imports, feeds."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import BadRequest, NotFound
from tests.bifrost.conftest import DaemonThread
from tests.bifrost.news.conftest import RSS
from tests.conftest import wait_for, write_config

pytestmark = pytest.mark.timeout(60)
JSONL = (
    '{"ts": "2025-11-25T12:00:00Z", "title": "Apple beats estimates", "url": "https://x/1"}\n'
    '{"ts": "2025-11-25T13:00:00Z", "title": "Microsoft slumps", "url": "https://x/2"}\n'
)


def news_config(tmp_path: Path, news: str) -> BifrostConfig:
    job = '[jobs.news-ingest]\nservice = "news"\ntask = "ingest_feeds"\nevery_seconds = 3600\n'
    return load_config(write_config(tmp_path, services=("news",), extra=f"[news]\n{news}\n{job}"))


@contextlib.contextmanager
def news_daemon(tmp_path: Path, home: Path, news: str = "") -> Iterator[BifrostClient]:
    """A news daemon with `news` as its [news] section, stopped even on failure."""
    config = news_config(tmp_path, news)
    thread = DaemonThread(config, home, "news")
    thread.start()
    try:
        with BifrostClient(config, timeout_ms=5000) as client:
            yield client
    finally:
        thread.stop()


@pytest.fixture
def running(tmp_path: Path, home: Path) -> Iterator[BifrostClient]:
    """A news daemon without the synthetic generator."""
    with news_daemon(tmp_path, home) as client:
        yield client


def test_daemon_starts_with_a_first_batch_and_publishes_news_events(
    tmp_path: Path, home: Path
) -> None:
    with news_daemon(tmp_path, home, "synthetic_per_minute = 600") as running:
        check_first_batch_and_events(running)


def check_first_batch_and_events(running: BifrostClient) -> None:
    health = running.health("news")
    assert health["state"] == "ready" and health["details"]["synthetic"] is True
    assert health["details"]["articles"] >= 3  # one first story per feed symbol
    subscriber = running.subscribe("news", ["news."])
    try:
        events = wait_for(lambda: subscriber.poll(100), timeout=10)
    finally:
        subscriber.close()
    event = events[0]
    assert event.topic == f"news.{event.body['symbol']}"
    assert event.body["symbol"] in ("AAPL", "MSFT", "BTC-USD")
    assert {"title", "score", "rolling", "ts", "article_id"} <= set(event.body)
    assert -1 <= event.body["score"] <= 1 and -1 <= event.body["rolling"] <= 1
    snapshot = running.call("news", "snapshot", {"prefix": "news."})
    assert snapshot["topics"] and all(t.startswith("news.") for t in snapshot["topics"])


def test_import_rpc_stores_publishes_and_is_idempotent(running, tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    path.write_text(JSONL)
    first = running.call("news", "news.import", {"path": str(path)}, idempotent=True)
    again = running.call("news", "news.import", {"path": str(path)}, idempotent=True)
    assert (first["new"], again["new"], again["duplicates"]) == (2, 0, 2)
    topics = running.call("news", "snapshot", {"prefix": "news."})["topics"]
    assert set(topics) == {"news.AAPL", "news.MSFT"}
    assert topics["news.MSFT"]["body"]["score"] < 0
    latest = running.call("news", "news.latest", {"symbol": "AAPL"})["articles"]
    assert [a["title"] for a in latest] == ["Apple beats estimates"]
    assert running.call("news", "news.sentiment", {"symbol": "AAPL", "window": "3d"})


def test_bad_requests_are_clear_errors_and_the_daemon_lives_on(running, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="unknown symbol 'NOPE'"):
        running.call("news", "news.sentiment", {"symbol": "NOPE"})
    with pytest.raises(BadRequest, match="limit"):
        running.call("news", "news.latest", {"limit": 0})
    with pytest.raises(BadRequest, match="timeframe 'soon'"):
        running.call("news", "news.sentiment", {"symbol": "AAPL", "window": "soon"})
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\x00\x01\x02")
    with pytest.raises(BadRequest, match=r"garbage\.csv"):
        running.call("news", "news.import", {"path": str(garbage)})
    assert running.health("news")["details"]["articles"] == 0
    assert running.health("news")["state"] == "ready"


@pytest.fixture
def feeds(tmp_path: Path) -> tuple[str, str]:
    good, broken = tmp_path / "wire.xml", tmp_path / "broken.xml"
    good.write_bytes(RSS)
    broken.write_bytes(RSS.replace(b"</channel>", b""))
    return good.as_uri(), broken.as_uri()


def fetched(client: BifrostClient) -> dict | None:
    """The feeds' state once every feed has been read (or failed)."""
    state = client.health("news")["details"]["feeds"]
    return state if all(f["ok"] is not None for f in state.values()) else None


def test_ingest_job_reads_feeds_and_the_inbox(tmp_path: Path, home: Path, feeds) -> None:
    good, broken = feeds
    inbox = home / "news-inbox"
    inbox.mkdir()
    (inbox / "wire.jsonl").write_text(JSONL)
    old = time.time() - 10
    os.utime(inbox / "wire.jsonl", (old, old))
    with news_daemon(tmp_path, home, f'feeds = ["{good}", "{broken}"]') as client:
        reply = client.call("news", "jobs.run", {"name": "news-ingest"})
        assert reply["result"]["inbox"] == {"done": ["wire.jsonl"], "failed": []}
        state = wait_for(lambda: fetched(client))
        assert state[good] == {"ok": True, "entries": 2, "new": 2}
        assert state[broken]["ok"] is False and "malformed XML" in state[broken]["error"]
        titles = [a["title"] for a in client.call("news", "news.latest", {})["articles"]]
        assert len(titles) == 4 and "Nvidia shares plunge after profit warning" in titles
    assert (inbox / "done" / "wire.jsonl.report.json").exists()
