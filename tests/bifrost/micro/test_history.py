"""Tests of bifrost/micro/history.py: metrics of recorded ticks through a running data daemon."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bifrost.config import load_config
from bifrost.errors import NotFound
from bifrost.market.gateway import DataGateway
from bifrost.micro.history import stored_metrics
from tests.bifrost.conftest import services_running
from tests.book_feed import write_book_config


def test_stored_metrics_through_the_data_daemon(tmp_path: Path, home: Path) -> None:
    config = load_config(write_book_config(tmp_path, ("data",)))
    with services_running(config, home, ("data",)) as client:
        time.sleep(1.0)
        trades = DataGateway(client, home).trades("AAPL")  # the data.trades RPC
        metrics = stored_metrics(client, home, "AAPL", time.time_ns())
        with pytest.raises(NotFound, match="no recorded quotes for NOPE"):
            stored_metrics(client, home, "NOPE", time.time_ns())
    assert trades.columns == ["ts", "price", "size", "side"] and trades.height > 0
    assert metrics["source"] == "stored" and metrics["book"] == "quote"
    assert metrics["quotes"] > 50 and metrics["trades"] >= trades.height  # fetched later
    assert metrics["spread"] > 0 and metrics["bid_depth"] == metrics["bid_size"]
