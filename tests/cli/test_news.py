"""`bifrost news latest|sentiment|import` as a user runs them, offline and through the daemon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bifrost.config import load_config
from tests.bifrost.conftest import DaemonThread
from tests.cli.test_stack import bifrost
from tests.conftest import write_config

pytestmark = pytest.mark.timeout(60)
JSONL = (
    '{"ts": "2025-11-25T12:00:00Z", "title": "Apple beats estimates", "url": "https://x/1"}\n'
    '{"ts": "2025-11-25T13:00:00Z", "title": "Nvidia slumps on weak demand"}\n'
    "this line is not JSON\n"
)


@pytest.fixture
def news_toml(tmp_path: Path) -> Path:
    """A config with the news service (generator on, fast) on free ports."""
    return write_config(tmp_path, services=("news",), extra="[news]\nsynthetic_per_minute = 60\n")


def test_offline_import_latest_and_sentiment(tmp_path: Path, home: Path, news_toml: Path) -> None:
    empty = bifrost(news_toml, home, "news", "latest", "--json")
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout) == {"articles": []}
    path = tmp_path / "wire.jsonl"
    path.write_text(JSONL)
    imported = json.loads(bifrost(news_toml, home, "news", "import", str(path), "--json").stdout)
    assert (imported["new"], imported["rejected"]) == (2, 1)
    assert imported["rejects"][0]["line"] == 3
    latest = bifrost(news_toml, home, "news", "latest", "NVDA", "--json")
    (article,) = json.loads(latest.stdout)["articles"]
    assert article["title"] == "Nvidia slumps on weak demand" and article["score"] < 0
    mood = bifrost(
        news_toml, home, "news", "sentiment", "AAPL", "--at", "2025-11-25T18:00", "--json"
    )
    assert json.loads(mood.stdout)["score"] > 0


def test_unknown_symbol_exits_1_naming_it(home: Path, news_toml: Path) -> None:
    result = bifrost(news_toml, home, "news", "sentiment", "NOPE", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "NOT_FOUND"
    assert "unknown symbol 'NOPE'" in result.stderr


def test_online_latest_goes_through_the_daemon(home: Path, news_toml: Path) -> None:
    thread = DaemonThread(load_config(news_toml), home, "news")
    thread.start()
    try:
        result = bifrost(news_toml, home, "news", "latest", "--json", "--limit", "3")
    finally:
        thread.stop()
    assert result.returncode == 0, result.stderr
    articles = json.loads(result.stdout)["articles"]
    assert len(articles) == 3  # the generator's first batch, stored by the daemon
    assert all(a["source"] == "synthetic" and a["symbols"] for a in articles)
