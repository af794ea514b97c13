"""The strategy daemon: backtests as jobs, announced on the bus and stored in its file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.backtest.gateway import BacktestGateway
from bifrost.backtest.runner import RunRequest
from bifrost.bus import topics
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import BadRequest, InvalidParameter, NotFound
from bifrost.market.gateway import DataGateway
from bifrost.market.sample import write_sample
from tests.bifrost.conftest import DaemonThread
from tests.conftest import write_config


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    return load_config(write_config(tmp_path, services=("data", "strategy")))


@pytest.fixture
def stack(config: BifrostConfig, home: Path) -> Iterator[BifrostClient]:
    """Sample history imported, then the data and strategy daemons serving from threads."""
    with BifrostClient(config, timeout_ms=500) as client:
        DataGateway(client, home).import_files(write_sample(home / "sample"))
    threads = [DaemonThread(config, home, "data"), DaemonThread(config, home, "strategy")]
    try:
        for thread in threads:
            thread.start()
        with BifrostClient(config, timeout_ms=5000) as client:
            yield client
    finally:
        for thread in reversed(threads):
            thread.stop()


def wait_done(client: BifrostClient, job_id: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = client.call("strategy", "backtest.job", {"job_id": job_id})
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_backtest_job_announces_done_and_stores_the_run(stack: BifrostClient) -> None:
    subscriber = stack.subscribe("strategy", [topics.BACKTEST + "."])
    try:
        subscriber.poll(200)
        params = {"strategy": "sma_cross", "symbols": ["SPY"], "params": {"fast": 20}}
        job = stack.call("strategy", "backtest.run", params, cid="trace-bt-1")
        state = wait_done(stack, job["job_id"])
        events = subscriber.poll(1000)
    finally:
        subscriber.close()
    assert state["state"] == "done"
    done = [e for e in events if e.topic == job["topic"]]
    assert done and done[0].body["run_id"] == state["run_id"] and done[0].cid == "trace-bt-1"
    assert any(e.topic == topics.backtest_job("progress", job["job_id"]) for e in events)
    run = stack.call("strategy", "backtest.show", {"run_id": state["run_id"]})
    assert run["params"] == {"fast": 20, "slow": 30, "allow_short": False}
    assert run["stats"]["trades"] == len(run["trades"])


def test_gateway_runs_through_the_daemon(stack: BifrostClient, home: Path) -> None:
    gateway = BacktestGateway(stack, home)
    assert gateway.via == "daemon"
    run = gateway.run(RunRequest("rsi_reversion", ("MSFT",), engine="vector"))
    assert run["engine"] == "vector"
    assert run["run_id"] in [r["run_id"] for r in gateway.list()]


def test_failing_job_reports_why_and_daemon_stays_ready(stack: BifrostClient) -> None:
    job = stack.call("strategy", "backtest.run", {"strategy": "sma_cross", "symbols": ["NOPE"]})
    state = wait_done(stack, job["job_id"])
    assert state["state"] == "failed"
    assert "NOPE" in state["error"]
    assert stack.health("strategy")["state"] == "ready"


def test_backtest_run_with_bad_request_is_refused_at_once(stack: BifrostClient) -> None:
    with pytest.raises(BadRequest, match="engine"):
        stack.call(
            "strategy",
            "backtest.run",
            {"strategy": "sma_cross", "symbols": ["SPY"], "engine": "warp"},
        )
    with pytest.raises(NotFound):
        stack.call("strategy", "backtest.job", {"job_id": "nope"})


def test_a_small_sweep_runs_in_the_service_not_on_a_cluster(stack: BifrostClient) -> None:
    params = {"strategy": "sma_cross", "symbols": ["SPY"], "grid": ["fast=5:15:5"]}
    job = stack.call("strategy", "backtest.sweep", params)
    assert job["points"] == 3
    state = wait_done(stack, job["job_id"])
    assert state["state"] == "done" and len(state["results"]) == 3
    assert state["via"] == "service"
    failing = stack.call("strategy", "backtest.sweep", {**params, "symbols": ["NOPE"]})
    state = wait_done(stack, failing["job_id"])
    assert state["state"] == "failed" and "NOPE" in state["error"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"params": {"fast": 30, "slow": 10}}, "fast"),
        ({"params": {"fast": 0}}, "fast"),
        ({"commission": "10"}, "commission"),
        ({"slippage_bps": 900.0}, "slippage_bps"),
        ({"periods_per_year": -1.0}, "periods_per_year"),
    ],
)
def test_backtest_run_that_makes_no_sense_is_refused_at_once_naming_it(
    stack: BifrostClient, params: dict, parameter: str
) -> None:
    request = {"strategy": "sma_cross", "symbols": ["SPY"], **params}
    with pytest.raises(InvalidParameter) as caught:
        stack.call("strategy", "backtest.run", request)
    assert caught.value.parameter == parameter
    assert stack.call("strategy", "health")["details"]["jobs"]["queued"] == 0


def test_backtest_run_takes_conventions_over_rpc(stack: BifrostClient) -> None:
    request = {
        "strategy": "sma_cross",
        "symbols": ["SPY"],
        "params": {"allow_short": True},
        "close_at_end": False,
        "periods_per_year": 365.0,
    }
    state = wait_done(stack, stack.call("strategy", "backtest.run", request)["job_id"])
    run = stack.call("strategy", "backtest.show", {"run_id": state["run_id"]})
    assert run["settings"]["close_at_end"] is False
    assert run["settings"]["periods_per_year_used"] == 365
    assert any(t["size"] < 0 for t in run["trades"])


def test_backtest_run_without_conventions_annualises_from_the_instrument(
    stack: BifrostClient,
) -> None:
    request = {"strategy": "sma_cross", "symbols": ["SPY"]}
    state = wait_done(stack, stack.call("strategy", "backtest.run", request)["job_id"])
    run = stack.call("strategy", "backtest.show", {"run_id": state["run_id"]})
    assert run["settings"]["trading_hours"] == "equity"
    assert run["settings"]["periods_per_year_used"] == 252


def test_sweep_over_rpc_skips_points_that_break_a_constraint(stack: BifrostClient) -> None:
    params = {"strategy": "sma_cross", "symbols": ["SPY"], "grid": ["fast=10,40", "slow=30"]}
    job = stack.call("strategy", "backtest.sweep", params)
    assert (job["points"], job["skipped"]) == (1, 1)
    state = wait_done(stack, job["job_id"])
    assert state["skipped_by_rule"] == {"fast < slow": 1}
    assert [r["params"]["fast"] for r in state["results"]] == [10]


def test_strategy_start_with_a_broken_constraint_is_refused(stack: BifrostClient) -> None:
    params = {"name": "rsi_reversion", "symbols": ["SPY"], "params": {"lower": 80, "upper": 20}}
    with pytest.raises(InvalidParameter, match=r"lower=80.0 breaks lower < upper \(upper=20.0\)"):
        stack.call("strategy", "strategy.start", params)
    assert stack.call("strategy", "strategy.list")["strategies"] == []
