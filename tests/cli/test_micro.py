"""`bifrost micro metrics|book|history` as a user runs them: a real subprocess, real daemons."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bifrost.config import load_config
from bifrost.micro.history import metrics_from_frames
from bifrost.micro.metrics import MicroSettings
from bifrost.store.database import open_store
from bifrost.store.ticks import latest_rows
from tests.bifrost.conftest import DaemonThread, services_running
from tests.book_feed import write_book_config
from tests.cli.test_stack import bifrost

pytestmark = pytest.mark.timeout(90)


def test_micro_metrics_offline_computes_from_stored_ticks(tmp_path: Path, home: Path) -> None:
    config_path = write_book_config(tmp_path)
    recorder = DaemonThread(load_config(config_path), home, "data")
    recorder.start()
    try:
        time.sleep(1.0)  # the feed runs and is recorded
    finally:
        recorder.stop()
    result = bifrost(config_path, home, "micro", "metrics", "AAPL", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    with open_store(home / "data.duckdb", read_only=True) as db:
        window = int(MicroSettings().window_seconds * 1e9)
        quotes = latest_rows(db, "quotes", "AAPL", window)
        trades = latest_rows(db, "trades", "AAPL", window)
    expected = metrics_from_frames("AAPL", quotes, trades, MicroSettings())
    assert document["source"] == "stored" and document["quotes"] == quotes.height > 50
    assert document == json.loads(json.dumps(expected))

    unknown = bifrost(config_path, home, "micro", "metrics", "NOPE", "--json")
    assert unknown.returncode == 1
    assert json.loads(unknown.stdout)["error"]["code"] == "NOT_FOUND"
    assert "no recorded quotes for NOPE" in unknown.stderr

    no_book = bifrost(config_path, home, "micro", "book", "AAPL", "--json")
    assert no_book.returncode == 3  # a live book needs the data service
    assert "neither the microstructure nor the data service" in no_book.stderr


def test_micro_commands_go_through_the_running_daemon(tmp_path: Path, home: Path) -> None:
    config_path = write_book_config(tmp_path)
    config = load_config(config_path)
    with services_running(config, home, ("data", "microstructure")) as client:
        time.sleep(1.2)  # a published round, so history has rows
        metrics = bifrost(config_path, home, "micro", "metrics", "MSFT", "--json")
        book = bifrost(config_path, home, "micro", "book", "MSFT", "--levels", "3", "--json")
        ladder = bifrost(config_path, home, "micro", "book", "MSFT", "--count", "3")
        history = bifrost(config_path, home, "micro", "history", "MSFT", "--json")
        assert client.call("microstructure", "health")["state"] == "ready"
    assert metrics.returncode == 0, metrics.stderr
    document = json.loads(metrics.stdout)
    assert document["source"] == "live" and document["book"] == "book"
    assert document["symbol"] == "MSFT" and document["spread"] > 0
    snapshot = json.loads(book.stdout)
    assert len(snapshot["bids"]) == len(snapshot["asks"]) == 3
    assert snapshot["best_bid"] < snapshot["best_ask"]
    assert ladder.returncode == 0, ladder.stderr
    assert "MSFT book" in ladder.stdout and "spread" in ladder.stdout
    assert json.loads(history.stdout)["rows"]
