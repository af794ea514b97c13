"""Backtest workers of a strategy service on a host that needs CURVE."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bifrost.backtest.worker import serve_backtests
from bifrost.bus.curve import ClientCurve
from bifrost.bus.keys import KeyStore, host_key_name
from bifrost.bus.worker_loop import worker_loop
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.local_config import write_local_config
from bifrost.market.gateway import DataGateway
from bifrost.market.sample import write_sample
from tests.bifrost.conftest import DaemonThread
from tests.conftest import wait_for

HOST_KEY = host_key_name("local")


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[BifrostConfig, Path, KeyStore]]:
    """The strategy service alone on a secure host with a worker port; sample bars on file."""
    home = tmp_path / "home"
    home.mkdir()
    extra = "[strategy]\nheartbeat_seconds = 0.25\n"
    config = load_config(
        write_local_config(tmp_path, ("strategy",), secure=True, worker_port=True, extra=extra)
    )
    keys = KeyStore(config.keys_dir(home))
    keys.generate(HOST_KEY, "admin")
    keys.generate("watcher", "viewer")
    with BifrostClient(config, identity=HOST_KEY, keys_dir=keys.directory) as client:
        DataGateway(client, home).import_files(write_sample(home / "sample"))
    daemon = DaemonThread(config, home, "strategy")
    try:
        daemon.start()
        yield config, home, keys
    finally:
        daemon.stop()


def in_thread(target: Callable[..., int], *args: object, **kwargs: object) -> threading.Event:
    """Run a worker on a thread; setting the returned event stops it."""
    stop = threading.Event()
    threading.Thread(
        target=target, args=args, kwargs={**kwargs, "should_stop": stop.is_set}, daemon=True
    ).start()
    return stop


def test_host_key_worker_serves_and_a_viewer_key_is_refused(
    secured: tuple[BifrostConfig, Path, KeyStore],
) -> None:
    config, home, keys = secured
    endpoint = config.service("strategy").worker
    assert endpoint is not None
    viewer = keys.key_pair("watcher")
    curve = ClientCurve(keys.public_key(HOST_KEY), viewer.public, viewer.secret)
    stops = [
        in_thread(serve_backtests, config, home, "local"),
        in_thread(worker_loop, endpoint, lambda task: {}, heartbeat_s=0.25, curve=curve),
    ]
    try:
        with BifrostClient(config, identity=HOST_KEY, keys_dir=keys.directory) as client:

            def workers() -> dict:
                return dict(client.health("strategy", timeout_ms=2000)["details"]["workers"])

            wait_for(lambda: workers()["count"] == 1 and workers()["bad"].get("forbidden"), 15)
            params = {"strategy": "sma_cross", "symbols": ["SPY"], "engine": "vector"}
            job = client.call("strategy", "backtest.sweep", {**params, "grid": ["fast=5,10"]})
            assert job["via"] == "workers"

            def finished() -> dict | None:
                state = client.call("strategy", "backtest.job", {"job_id": job["job_id"]})
                return state if state["state"] in ("done", "failed") else None

            state = wait_for(finished, 20)
            assert state["state"] == "done", state["error"]
            assert [w["done"] for w in workers()["workers"]] == [2]
    finally:
        for stop in stops:
            stop.set()
