"""Tests of bifrost/daemon.py through the data daemon (daemons/data.py), run in-process.

Each test starts a real DataDaemon on free loopback ports with its loop on a thread,
talks to it over real ZeroMQ and HTTP, and stops it in the fixture's teardown.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

import daemons
from bifrost.bus.pubsub import Event, Subscriber
from bifrost.bus.rpc import RpcClient
from bifrost.config import BifrostConfig, load_config
from bifrost.daemon import Daemon
from bifrost.errors import BadRequest, ConfigError, NotFound, UnknownMethod
from bifrost.local_config import free_ports
from bifrost.store.schema import DATA
from tests.bifrost.conftest import DaemonThread
from tests.conftest import wait_for


@pytest.fixture
def rpc(zmq_ctx: zmq.Context, data_daemon: Daemon) -> Iterator[RpcClient]:
    """An RPC client of the running data daemon."""
    client = RpcClient(zmq_ctx, data_daemon.spec.rpc, name="data", timeout_ms=2000)
    yield client
    client.close()


def http_get(daemon: Daemon, path: str) -> tuple[int, str, bytes]:
    url = f"http://127.0.0.1:{daemon.spec.http_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_daemon_health_rpc_reports_ready_service(rpc: RpcClient, data_daemon: Daemon) -> None:
    health = rpc.call("health")
    assert health["service"] == "data"
    assert health["src"] == "data@local"
    assert health["state"] == "ready"
    assert health["rpc"] == data_daemon.spec.rpc
    assert health["uptime_s"] >= 0
    assert health["details"]["symbols"] == ["AAPL", "MSFT", "BTC-USD"]


def test_daemon_ready_rpc_is_true(rpc: RpcClient) -> None:
    assert rpc.call("ready") == {"ready": True}


def test_daemon_metrics_rpc_counts_requests_and_feed(rpc: RpcClient) -> None:
    rpc.call("health")
    totals = wait_for(lambda: (t := rpc.call("metrics"))["bifrost_feed_quotes_total"] > 0 and t)
    assert totals["bifrost_ready"] == 1.0
    assert totals["bifrost_rpc_requests_total"] >= 1
    assert totals["bifrost_messages_out_total"] >= totals["bifrost_feed_quotes_total"]


def test_daemon_config_rpc_returns_resolved_config(
    rpc: RpcClient, daemon_config: BifrostConfig
) -> None:
    assert rpc.call("config") == json.loads(json.dumps(daemon_config.to_dict()))


def test_daemon_snapshot_rpc_holds_last_quote_per_symbol(rpc: RpcClient) -> None:
    snap = wait_for(
        lambda: (s := rpc.call("snapshot", {"prefix": "quote."})) and len(s["topics"]) == 3 and s
    )
    assert snap["src"] == "data@local"
    assert sorted(snap["topics"]) == ["quote.AAPL", "quote.BTC-USD", "quote.MSFT"]
    entry = snap["topics"]["quote.AAPL"]
    assert entry["type"] == "quote"
    assert entry["seq"] >= 1
    assert entry["body"]["symbol"] == "AAPL"
    assert entry["body"]["bid"] < entry["body"]["ask"]


def test_daemon_snapshot_rpc_prefix_of_wrong_type_is_bad_request(rpc: RpcClient) -> None:
    with pytest.raises(BadRequest, match=r"snapshot params\.prefix: expected str, got int"):
        rpc.call("snapshot", {"prefix": 5})


def test_daemon_jobs_list_rpc_shows_configured_job(rpc: RpcClient) -> None:
    [job] = rpc.call("jobs.list")
    assert job["name"] == "feed-stats"
    assert job["task"] == "feed_stats"
    assert job["every_seconds"] == 60
    assert job["runs"] == 0
    assert job["next_run"] is not None


def test_daemon_jobs_run_rpc_runs_task_now(rpc: RpcClient) -> None:
    wait_for(lambda: rpc.call("health")["details"]["quotes"] > 0)
    reply = rpc.call("jobs.run", {"name": "feed-stats"})
    assert reply["job"] == "feed-stats"
    assert reply["result"]["quotes"] > 0
    assert {"quotes", "trades"} <= set(reply["result"])


def test_daemon_jobs_run_unknown_job_is_not_found(rpc: RpcClient) -> None:
    with pytest.raises(NotFound, match="data has no job 'nightly'"):
        rpc.call("jobs.run", {"name": "nightly"})


def test_daemon_unknown_method_lists_builtins(rpc: RpcClient) -> None:
    with pytest.raises(UnknownMethod) as caught:
        rpc.call("orders.list")
    assert {"health", "ready", "metrics", "config", "snapshot", "jobs.list", "jobs.run"} <= set(
        caught.value.details["methods"]
    )


def test_daemon_http_health_is_json(data_daemon: Daemon) -> None:
    status, kind, body = http_get(data_daemon, "/health")
    assert (status, kind) == (200, "application/json")
    health = json.loads(body)
    assert (health["service"], health["state"]) == ("data", "ready")


def test_daemon_http_ready_is_200_when_ready(data_daemon: Daemon) -> None:
    assert http_get(data_daemon, "/ready") == (200, "application/json", b'{"ready": true}')


def test_daemon_http_metrics_is_prometheus_text(data_daemon: Daemon) -> None:
    status, kind, body = http_get(data_daemon, "/metrics?x=1")
    assert status == 200
    assert kind.startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert "bifrost_ready 1.0" in text
    assert 'bifrost_messages_out_total{socket="pub"}' in text


def test_daemon_http_unknown_path_is_404(data_daemon: Daemon) -> None:
    assert http_get(data_daemon, "/admin")[0] == 404


def test_daemon_feed_quotes_arrive_on_pub_socket(zmq_ctx: zmq.Context, data_daemon: Daemon) -> None:
    sub = Subscriber(zmq_ctx, [data_daemon.spec.pub], ["quote.AAPL"])
    events: list[Event] = []
    wait_for(lambda: events.extend(sub.poll(50)) or len(events) >= 5)
    assert {e.topic for e in events} == {"quote.AAPL"}
    assert all(e.src == "data@local" and e.type == "quote" for e in events)
    assert all(e.body["bid"] < e.body["ask"] for e in events)
    seqs = [e.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    sub.close()


def test_daemon_subscriber_gap_heals_through_snapshot_rpc(
    zmq_ctx: zmq.Context, data_daemon: Daemon, rpc: RpcClient
) -> None:
    fetched: list[str] = []

    def fetch_snapshot(src: str, prefix: str) -> dict[str, Any]:
        fetched.append(prefix)
        return rpc.call("snapshot", {"prefix": prefix}, idempotent=True)

    sub = Subscriber(zmq_ctx, [data_daemon.spec.pub], ["quote.AAPL"], fetch_snapshot)
    seen: list[Event] = []
    wait_for(lambda: seen.extend(sub.poll(50)) or len(seen) >= 3)
    sub.socket.setsockopt(zmq.UNSUBSCRIBE, b"quote.AAPL")  # miss a stretch of the stream
    time.sleep(0.2)
    sub.poll(0)
    last_before = max(e.seq for e in seen)
    sub.socket.setsockopt(zmq.SUBSCRIBE, b"quote.AAPL")
    after: list[Event] = []
    wait_for(lambda: after.extend(sub.poll(50)) or any(e.recovered for e in after))
    recovered = next(e for e in after if e.recovered)
    assert sub.gaps >= 1
    assert fetched and fetched[0] == "quote.AAPL"
    assert recovered.topic == "quote.AAPL"
    assert recovered.seq > last_before + 1
    later = [e.seq for e in after[after.index(recovered) + 1 :]]
    assert all(seq > recovered.seq for seq in later)
    sub.close()


def test_daemon_stop_is_idempotent_and_releases_ports(
    start_daemon: Callable[[BifrostConfig], DaemonThread], daemon_config: BifrostConfig
) -> None:
    first = start_daemon(daemon_config)
    first.stop()
    first.stop()
    assert first.daemon.state == "stopped"
    second = start_daemon(daemon_config)  # the same ports bind again
    assert http_get(second.daemon, "/ready")[0] == 200


def test_daemon_non_loopback_host_refuses_to_start(tmp_path: Path) -> None:
    rpc_port, pub_port, http_port = free_ports(3)
    path = tmp_path / "remote.toml"
    path.write_text(
        '[site]\nhost = "a"\n\n[hosts.a]\naddress = "192.0.2.11"\n\n'
        f'[services.data]\nhost = "a"\nrpc_port = {rpc_port}\npub_port = {pub_port}\n'
        f"http_port = {http_port}\n",
        encoding="utf-8",
    )
    runner = DaemonThread(load_config(path), tmp_path)
    with pytest.raises(
        ConfigError, match=r"192\.0\.2\.11 \(not loopback\), which needs CURVE keys"
    ):
        runner.start()
    assert runner.daemon.rpc is None
    runner.stop()


def test_daemon_systemd_notify_sends_ready_watchdog_then_stopping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, daemon_config: BifrostConfig
) -> None:
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(3)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    runner = DaemonThread(daemon_config, tmp_path)
    try:
        runner.start()
        ready = listener.recv(4096).decode().splitlines()
        assert ready[0] == "READY=1"
        assert ready[1].startswith("STATUS=data ready on tcp://127.0.0.1:")
        pings = [listener.recv(4096).decode() for _ in range(2)]
        assert pings == ["WATCHDOG=1", "WATCHDOG=1"]
    finally:
        runner.stop()
    try:
        rest = []
        while not rest or not rest[-1].startswith("STOPPING=1"):
            rest.append(listener.recv(4096).decode())
    finally:
        listener.close()
    assert set(rest[:-1]) <= {"WATCHDOG=1"}
    assert rest[-1].splitlines() == ["STOPPING=1", "STATUS=data stopping"]


def test_build_daemon_unknown_service_is_not_found(daemon_config: BifrostConfig) -> None:
    with pytest.raises(NotFound, match="service 'gateway' has no daemon in this build"):
        daemons.build_daemon("gateway", daemon_config, Path("."))


class SetupFails(Daemon):
    """A store owner whose setup fails after it wrote to its store."""

    store_file = "data.duckdb"
    store_schema = DATA

    def setup(self) -> None:
        self.db.execute("CREATE TABLE written_in_setup (x INTEGER)")
        raise BadRequest("setup failed on purpose")


def test_daemon_that_fails_in_setup_still_closes_its_store(
    tmp_path: Path, daemon_config: BifrostConfig
) -> None:
    daemon = SetupFails(daemon_config, "data", tmp_path)
    try:
        with pytest.raises(BadRequest, match="on purpose"):
            daemon.start()
    finally:
        daemon.stop()
    assert daemon.state == "stopped"
    # Another process can open the file for writing: the daemon let go of it.
    opened = subprocess.run(
        [sys.executable, "-c", OPEN_AND_COUNT, str(tmp_path / "data.duckdb")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip() == "1"


OPEN_AND_COUNT = (
    "import duckdb, sys\n"
    "db = duckdb.connect(sys.argv[1])\n"
    "print(db.execute(\"SELECT count(*) FROM information_schema.tables "
    "WHERE table_name = 'written_in_setup'\").fetchall()[0][0])\n"
    "db.close()\n"
)


class NoStore(Daemon):
    """A service that declares no store (in the data service's place in the config)."""

    def setup(self) -> None:
        self.tasks["feed_stats"] = dict  # the config schedules this task for 'data'


def test_daemon_without_a_store_says_so_to_the_sql_console(
    tmp_path: Path, daemon_config: BifrostConfig
) -> None:
    runner = DaemonThread(daemon_config, tmp_path)
    runner.daemon = NoStore(daemon_config, "data", tmp_path)
    try:
        runner.start()
        client = RpcClient(zmq.Context.instance(), runner.daemon.spec.rpc, name="data")
        try:
            with pytest.raises(NotFound, match="data owns no store"):
                client.call("sql.tables")
            assert client.call("health")["details"] == {}
        finally:
            client.close()
    finally:
        runner.stop()
