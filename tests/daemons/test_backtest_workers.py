"""Backtest worker processes behind the strategy service's work broker (real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zmq

from bifrost.backtest.worker import serve_backtests
from bifrost.bus import codec
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import ConfigError
from bifrost.local_config import write_local_config
from bifrost.market.gateway import DataGateway
from bifrost.market.sample import write_sample
from tests.bifrost.conftest import DaemonThread
from tests.conftest import wait_for

SLOW = str(Path(__file__).with_name("slow_strategy.py"))
WORKERS_TOML = "[strategy]\nworkers = 2\nheartbeat_seconds = 0.4\nmax_attempts = 3\n"


@dataclass
class Stack:
    config: BifrostConfig
    home: Path
    client: BifrostClient

    def workers(self) -> dict[str, Any]:
        return dict(self.client.health("strategy", timeout_ms=2000)["details"]["workers"])

    def done_by_pid(self) -> dict[int, int]:
        return {w["pid"]: w["done"] for w in self.workers()["workers"]}

    def finish(self, job_id: str, timeout: float = 20) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            state = self.client.call("strategy", "backtest.job", {"job_id": job_id})
            return state if state["state"] in ("done", "failed") else None

        return dict(wait_for(ended, timeout, 0.05))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Sample history, the data daemon and a strategy daemon with two worker processes."""
    base = tmp_path_factory.mktemp("workers")
    home = base / "home"
    home.mkdir()
    path = write_local_config(base, ("data", "strategy"), worker_port=True, extra=WORKERS_TOML)
    config = load_config(path)
    with BifrostClient(config, timeout_ms=500) as client:
        DataGateway(client, home).import_files(write_sample(home / "sample"))
    threads = [DaemonThread(config, home, "data"), DaemonThread(config, home, "strategy")]
    try:
        for thread in threads:
            thread.start()
        with BifrostClient(config, timeout_ms=5000) as client:
            ready = Stack(config, home, client)
            wait_for(lambda: ready.workers()["count"] == 2, timeout=30, every=0.1)
            yield ready
    finally:
        for thread in reversed(threads):
            thread.stop()


def test_sweep_spreads_its_points_over_both_workers(stack: Stack) -> None:
    before = stack.done_by_pid()
    params = {"strategy": "slow", "file": SLOW, "symbols": ["SPY"]}
    job = stack.client.call(
        "strategy", "backtest.sweep", {**params, "grid": ["k=1:8:1", "pause=0.2"]}
    )
    assert job["via"] == "workers" and job["points"] == 8
    state = stack.finish(job["job_id"])
    assert state["state"] == "done", state["error"]
    assert sorted(r["params"]["k"] for r in state["results"]) == list(range(1, 9))
    assert all(r["error"] is None for r in state["results"])
    after = stack.done_by_pid()
    assert all(after[pid] > before.get(pid, 0) for pid in after), (before, after)


def test_job_of_a_killed_worker_is_requeued_and_done_by_the_other(stack: Stack) -> None:
    requeued = stack.workers()["requeued"]
    params = {"strategy": "slow", "file": SLOW, "symbols": ["SPY"], "params": {"pause": 1.5}}
    job = stack.client.call("strategy", "backtest.run", params)
    busy = wait_for(lambda: [w for w in stack.workers()["workers"] if w["job"]], timeout=10)
    victim = busy[0]["pid"]
    survivor, done_before = next((p, d) for p, d in stack.done_by_pid().items() if p != victim)
    os.kill(victim, signal.SIGKILL)
    state = stack.finish(job["job_id"])
    assert state["state"] == "done", state["error"]
    workers = stack.workers()
    assert workers["requeued"] >= requeued + 1
    assert stack.done_by_pid()[survivor] == done_before + 1  # the survivor ran it
    run = stack.client.call("strategy", "backtest.show", {"run_id": state["run_id"]})
    assert run["params"] == {"pause": 1.5, "k": 0}
    # the daemon starts a new worker in the dead one's place
    wait_for(lambda: stack.workers()["count"] == 2, timeout=15, every=0.1)
    assert stack.workers()["restarts"] >= 1 and victim not in stack.workers()["local"]


def test_garbage_on_the_worker_port_is_counted_and_the_broker_serves_on(stack: Stack) -> None:
    bad_before = stack.workers()["bad_frames"]
    ctx = zmq.Context()
    rogue = ctx.socket(zmq.DEALER)
    rogue.setsockopt(zmq.LINGER, 0)
    try:
        endpoint = stack.config.service("strategy").worker
        assert endpoint is not None
        rogue.connect(endpoint)
        rogue.send(b"\x00garbage\xff")
        rogue.send_multipart([b"a", b"b", b"c"])
        rogue.send(codec.pack({"v": 1, "kind": "job", "job": "x", "body": {"kind": "run"}}))
        wait_for(lambda: stack.workers()["bad_frames"] == bad_before + 3, timeout=5)
    finally:
        rogue.close()
        ctx.destroy(linger=0)
    params = {"strategy": "sma_cross", "symbols": ["SPY"]}
    job = stack.client.call("strategy", "backtest.run", params)
    assert stack.finish(job["job_id"])["state"] == "done"
    assert stack.client.health("strategy")["state"] == "ready"


def test_cli_sweep_goes_over_the_workers(stack: Stack) -> None:
    command = [sys.executable, "-m", "cli.main", "--config", str(stack.config.path)]
    command += ["--home", str(stack.home), "backtest", "sweep", "sma_cross", "SPY"]
    result = subprocess.run(
        [*command, "-p", "fast=5:20:5", "-p", "slow=30,40", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["via"] == "workers" and out["points"] == 8
    sharpes = [r["stats"]["sharpe"] for r in out["results"]]
    assert sharpes == sorted(sharpes, reverse=True)


def test_a_worker_for_a_service_without_worker_port_names_the_problem(tmp_path: Path) -> None:
    config = load_config(write_local_config(tmp_path, ("strategy",)))
    with pytest.raises(ConfigError, match=r"strategy service in .* has no worker_port"):
        serve_backtests(config, tmp_path, "local")
    with pytest.raises(ConfigError, match="host 'elsewhere' is not in"):
        serve_backtests(config, tmp_path, "elsewhere")
