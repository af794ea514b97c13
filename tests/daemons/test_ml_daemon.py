"""The ml daemon trains over RPC, answers health, and scores live bars into `signal.<SYM>`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import BadRequest, NotFound
from bifrost.market.gateway import DataGateway
from bifrost.market.sample import write_sample
from bifrost.ml.gateway import MLGateway
from bifrost.store.bars import upsert_bars
from bifrost.store.database import open_store
from tests.bifrost.conftest import services_running
from tests.conftest import wait_for, write_config

SERVICES = ("data", "ml")
SECOND = 10**9
pytestmark = pytest.mark.timeout(90)


def live_config(directory: Path, services: tuple[str, ...] = SERVICES) -> BifrostConfig:
    """Services on free ports, with live bars every second (a minute is too long to wait)."""
    path = write_config(directory, services=services)
    text = path.read_text().replace(
        "quotes_per_second = 100", 'quotes_per_second = 100\nbar_timeframes = ["1s"]'
    )
    path.write_text(text)
    return load_config(path)


def seed_stores(config: BifrostConfig, home: Path, history: int = 120) -> None:
    """The sample daily bars, plus `history` stored 1s bars of AAPL up to now, so live
    scoring does not wait for its features to warm up."""
    with BifrostClient(config, timeout_ms=300) as client:
        DataGateway(client, home).import_files(write_sample(home / "sample"))
    now = time.time_ns() // SECOND * SECOND
    close = 190 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 2e-4, history)))
    frame = pl.DataFrame(
        {
            "symbol": "AAPL",
            "timeframe": "1s",
            "ts": now - SECOND * np.arange(history, 0, -1),
            "open": close * (1 - 1e-4),
            "high": close * (1 + 2e-4),
            "low": close * (1 - 2e-4),
            "close": close,
            "volume": np.full(history, 300.0),
        }
    )
    connection = open_store(home / "data.duckdb")
    try:
        upsert_bars(connection, frame)
    finally:
        connection.close()


def train(bus: BifrostClient, **params: Any) -> dict[str, Any]:
    """Train over RPC and wait for the job; the job's final state."""
    job = bus.call("ml", "ml.train", {"name": "live", "symbols": ["AAPL"], **params})

    def finished() -> dict[str, Any] | None:
        state = bus.call("ml", "ml.job", {"job_id": job["job_id"]})
        return state if state["state"] in ("done", "failed") else None

    return wait_for(finished, timeout=40, every=0.1)


@pytest.fixture
def bus(tmp_path: Path, home: Path) -> Iterator[BifrostClient]:
    config = live_config(tmp_path)
    seed_stores(config, home)
    with services_running(config, home, SERVICES) as client:
        yield client


def test_trained_model_scores_live_bars_into_signal_events(bus: BifrostClient) -> None:
    health = bus.call("ml", "health")
    assert health["state"] == "ready" and health["details"]["live_models"] == []
    signals = bus.subscribe("ml", ["signal."])
    try:
        job = train(bus, kind="logistic", horizon=1, folds=3)
        assert job["state"] == "done", job
        assert job["model"]["version"] == 1 and job["model"]["metrics"]["overall"]["auc"]

        def signal() -> Any:
            return next((e for e in signals.poll(100) if e.topic == "signal.AAPL"), None)

        event = wait_for(signal, timeout=20, every=0.0)
    finally:
        signals.close()
    body = event.body
    assert (body["model"], body["version"], body["timeframe"]) == ("live", 1, "1s")
    assert 0.0 <= body["probability"] <= 1.0 and body["signal"] in ("long", "flat")
    stored = bus.call("ml", "ml.predictions", {"symbol": "AAPL"})["predictions"]
    assert any(p["source"] == "live" and p["model"] == "live" for p in stored)
    assert bus.call("ml", "health")["details"]["live_models"] == ["live"]


def test_predict_list_show_export_and_patterns_over_rpc(bus: BifrostClient, home: Path) -> None:
    assert train(bus, kind="ridge", horizon=5, folds=3)["state"] == "done"
    gateway = MLGateway(bus, home)
    assert gateway.via == "daemon"
    record, model = gateway.fitted("live")  # signed bytes over the bus, checked here
    assert record["version"] == 1 and model.kind == "ridge"
    prediction = bus.call("ml", "ml.predict", {"name": "live", "symbol": "SPY"})
    assert prediction["kind"] == "ridge" and 0.0 <= prediction["probability"] <= 1.0
    assert [m["name"] for m in bus.call("ml", "ml.list")["models"]] == ["live"]
    assert bus.call("ml", "ml.show", {"name": "live"})["metrics"]["purge"] == 5
    report = bus.call("ml", "ml.patterns", {"symbol": "SPY", "last": 3})
    assert len(report["recent"]) == 3 and report["bars"] > 2000


def test_bad_requests_get_clear_errors_and_the_daemon_keeps_serving(
    bus: BifrostClient,
) -> None:
    with pytest.raises(NotFound, match="no model 'nope'"):
        bus.call("ml", "ml.predict", {"name": "nope", "symbol": "SPY"})
    with pytest.raises(BadRequest, match="horizon"):
        bus.call("ml", "ml.train", {"name": "x", "symbols": ["SPY"], "horizon": "five"})
    with pytest.raises(BadRequest, match="model kind 'forest'"):
        bus.call("ml", "ml.train", {"name": "x", "symbols": ["SPY"], "kind": "forest"})
    failed = train(bus, symbols=["NOPE"])
    assert failed["state"] == "failed"
    assert failed["error"]["code"] == "NOT_FOUND" and "NOPE" in failed["error"]["message"]
    empty = train(bus, symbols=["SPY"], start_ns=0, end_ns=SECOND)
    assert "no 1d bars for SPY in 1970-01-01 .. 1970-01-01" in empty["error"]["message"]
    assert bus.call("ml", "health")["state"] == "ready"
