"""Tests of bifrost/micro/history.py: metrics of recorded ticks, through the data daemon or
from its file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bifrost.client import BifrostClient
from bifrost.config import load_config
from bifrost.errors import NotFound
from bifrost.local_config import write_local_config
from bifrost.market.gateway import DataGateway
from bifrost.micro.history import stored_metrics
from bifrost.store.database import open_store
from bifrost.store.ticks import append_rows
from tests.bifrost.conftest import services_running
from tests.book_feed import write_book_config

SILENT_FEED = '[feed]\nsymbols = ["ZZFEED"]\nquotes_per_second = 0.001\n'
OLD_NS = 1_704_196_800 * 10**9  # 2024-01-02 12:00 UTC: long before any test runs


def test_stored_metrics_through_the_data_daemon(tmp_path: Path, home: Path) -> None:
    config = load_config(write_book_config(tmp_path, ("data",)))
    with services_running(config, home, ("data",)) as client:
        time.sleep(1.0)
        trades = DataGateway(client, home).trades("AAPL")  # the data.trades RPC
        metrics = stored_metrics(client, home, "AAPL")
        with pytest.raises(NotFound, match="no recorded quotes for NOPE"):
            stored_metrics(client, home, "NOPE")
    assert trades.columns == ["ts", "price", "size", "side"] and trades.height > 0
    assert metrics["source"] == "stored" and metrics["book"] == "quote"
    assert metrics["quotes"] > 50 and metrics["trades"] >= trades.height  # fetched later
    assert metrics["spread"] > 0 and metrics["bid_depth"] == metrics["bid_size"]


def record_old_ticks(home: Path) -> None:
    """Ten minutes of one quote and one trade a second of AAPL, recorded long ago."""
    quotes, trades = [], []
    for i in range(600):
        ts = OLD_NS + i * 10**9
        mid = 190.0 + 0.01 * (i % 7)
        quotes.append(
            {"symbol": "AAPL", "ts": ts, "bid": mid - 0.01, "ask": mid + 0.01,
             "bid_size": 100.0 + i % 5, "ask_size": 120.0}
        )  # fmt: skip
        trades.append(
            {"symbol": "AAPL", "ts": ts + 1, "price": mid, "size": 10.0 + i % 3,
             "side": "BUY" if i % 3 else "SELL", "trade_id": f"t{i}"}
        )  # fmt: skip
    with open_store(home / "data.duckdb") as db:
        append_rows(db, "quotes", quotes)
        append_rows(db, "trades", trades)


def test_stored_metrics_of_old_ticks_are_the_same_through_the_daemon_and_the_file(
    tmp_path: Path, home: Path
) -> None:
    config = load_config(write_local_config(tmp_path, ("data",), feed=SILENT_FEED))
    record_old_ticks(home)
    with BifrostClient(config, timeout_ms=300, retries=0) as client:
        from_file = stored_metrics(client, home, "AAPL")
    with services_running(config, home, ("data",)) as client:
        through_daemon = stored_metrics(client, home, "AAPL")
    assert from_file["quotes"] == from_file["trades"] == 301  # the last five minutes
    assert through_daemon == from_file
