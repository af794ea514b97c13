"""Three hosts on one machine: A, B and C on 127.0.0.2-4, CURVE required, one trading flow.

Each host runs its own `bifrost up --host X` with its own data dir, as separate
machines would; they share one key store only because they share this disk. All ten
services run where the seed layout puts them. The flow: quotes on A -> a live
strategy on C -> orders through risk, compliance and execution on B -> fills -> a
position on B, with compliance's audit chain intact. Then the CURVE matrix: a client
without CURVE, a client holding the wrong server key, an unknown client key, a viewer
calling a trader method and a trader calling an admin method are all refused and
logged; the right keys work.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from bifrost.bus import codec
from bifrost.bus.keys import KeyStore
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import Unauthenticated
from bifrost.local_config import free_ports
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(240)

HOSTS = {"A": "127.0.0.2", "B": "127.0.0.3", "C": "127.0.0.4"}
PLACEMENT = {
    "data": "A",
    "news": "A",
    "portfolio": "B",
    "execution": "B",
    "risk": "B",
    "compliance": "B",
    "strategy": "C",
    "ml": "C",
    "analytics": "C",
    "microstructure": "C",
}


def write_cluster(directory: Path) -> Path:
    """The three-host config: every host secure, keys in `keys` beside the file."""
    ports = iter(free_ports(3 * len(PLACEMENT)))
    lines = ['[site]\nhost = "A"\nlog_level = "info"\n']
    for name, address in HOSTS.items():
        lines.append(f'[hosts.{name}]\naddress = "{address}"\nsecure = true\n')
    for service, host in PLACEMENT.items():
        lines.append(
            f'[services.{service}]\nhost = "{host}"\nrpc_port = {next(ports)}\n'
            f"pub_port = {next(ports)}\nhttp_port = {next(ports)}\n"
        )
    lines.append('[security]\nkeys_dir = "keys"\nclient = "trader"\n')
    lines.append(
        '[feed]\nsymbols = ["AAPL", "MSFT"]\nquotes_per_second = 100\nseed = 5\n'
        'bar_timeframes = ["1s"]\n\n[feed.prices]\nAAPL = 190.0\nMSFT = 420.0\n'
    )
    path = directory / "cluster.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class Cluster:
    """The config, one data dir per host, and a way to run the CLI as any key."""

    def __init__(self, directory: Path) -> None:
        self.path = write_cluster(directory)
        self.config: BifrostConfig = load_config(self.path)
        self.homes = {host: directory / f"home-{host}" for host in HOSTS}
        for home in self.homes.values():
            home.mkdir()

    def cli(
        self, *args: str, host: str = "A", key: str | None = None
    ) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("BIFROST_KEY", "BIFROST_HOME")}
        if key is not None:
            env["BIFROST_KEY"] = key
        command = [
            sys.executable, "-m", "cli.main",
            "--config", str(self.path), "--home", str(self.homes[host]), *args,
        ]  # fmt: skip
        return subprocess.run(
            command, capture_output=True, text=True, timeout=90, check=False, env=env
        )

    def client(self, identity: str, keys_dir: Path | None = None) -> BifrostClient:
        return BifrostClient(
            self.config,
            timeout_ms=3000,
            retries=0,
            identity=identity,
            keys_dir=keys_dir or self.config.keys_dir(self.path.parent),
        )

    def log_records(self, host: str, service: str) -> list[dict[str, Any]]:
        path = self.homes[host] / "logs" / f"{service}.log"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]

    def refused(self, host: str, service: str) -> list[dict[str, Any]]:
        return [r for r in self.log_records(host, service) if r["event"].startswith("auth.")]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Keys made with the CLI, then each host's stack up; every stack down at the end."""
    cluster = Cluster(tmp_path_factory.mktemp("three-hosts"))
    for host in HOSTS:
        made = cluster.cli("keys", "gen", "--host", host, "--json")
        assert made.returncode == 0, made.stderr
    for role in ("viewer", "trader", "admin"):
        assert cluster.cli("keys", "gen", role, "--role", role).returncode == 0
    try:
        for host in HOSTS:
            # A loaded machine may need more than the default 30 s to get four daemons ready.
            up = cluster.cli("up", "--host", host, "--timeout", "90", "--json", host=host)
            assert up.returncode == 0, up.stderr
            assert all(r["state"] == "ready" for r in json.loads(up.stdout)["services"])
        yield cluster
    finally:
        for host in HOSTS:
            cluster.cli("down", host=host)


def test_keys_are_private_and_listed(cluster: Cluster) -> None:
    keys_dir = cluster.config.keys_dir(cluster.path.parent)
    assert oct((keys_dir / "host-B.key_secret").stat().st_mode & 0o777) == "0o600"
    listed = json.loads(cluster.cli("keys", "list", "--json").stdout)["keys"]
    roles = {k["name"]: k["role"] for k in listed}
    assert roles == {
        "host-A": "admin",
        "host-B": "admin",
        "host-C": "admin",
        "viewer": "viewer",
        "trader": "trader",
        "admin": "admin",
    }


def test_status_all_hosts_shows_every_service_ready(cluster: Cluster) -> None:
    result = cluster.cli("status", "--all-hosts", "--json", key="viewer")
    assert result.returncode == 0, result.stderr
    rows = {(r["service"], r["host"]): r["state"] for r in json.loads(result.stdout)["services"]}
    assert rows == {(s, h): "ready" for s, h in PLACEMENT.items()}


def test_quote_on_a_strategy_on_c_order_on_b_fill_and_position(cluster: Cluster) -> None:
    with cluster.client("trader") as trader:
        started = trader.call(
            "strategy",
            "strategy.start",
            {
                "name": "sma_cross",
                "symbols": ["AAPL"],
                "timeframe": "1s",
                "params": {"fast": 2, "slow": 3},
                "capital": 20_000.0,
            },
        )

        def strategy_fills() -> list[dict[str, Any]]:
            fills = trader.call("execution", "fills.list", {})["fills"]
            return [f for f in fills if f["strategy_id"] == started["id"]]

        fills = wait_for(strategy_fills, timeout=60, every=0.3)

        def position() -> list[dict[str, Any]]:
            rows = trader.call("portfolio", "portfolio.positions", {})["positions"]
            return [p for p in rows if p["symbol"] == "AAPL"]

        assert wait_for(position, timeout=10)
        trader.call("strategy", "strategy.stop", {"strategy_id": started["id"]})
    verified = cluster.cli("compliance", "verify", "--json", host="C", key="viewer")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True
    order_id = fills[0]["client_order_id"]
    traced = cluster.cli("trace", order_id, "--json", host="C", key="viewer")
    assert traced.returncode == 0, traced.stderr
    hops = json.loads(traced.stdout)["hops"]
    # host C's data dir has no log of B's services: these hops came over the bus from B
    assert {"risk", "execution"} <= {h["service"] for h in hops}
    assert {h["host"] for h in hops if h["service"] == "risk"} == {"B"}


def test_right_keys_work(cluster: Cluster) -> None:
    bought = cluster.cli("order", "buy", "MSFT", "3", "--json", key="trader")
    assert bought.returncode == 0, bought.stderr
    assert json.loads(bought.stdout)["symbol"] == "MSFT"
    killed = cluster.cli("risk", "kill", "--json", key="admin")
    assert killed.returncode == 0, killed.stderr
    resumed = cluster.cli("risk", "resume", "--json", key="admin")
    assert resumed.returncode == 0, resumed.stderr


def test_viewer_calling_a_trader_method_is_forbidden_and_logged(cluster: Cluster) -> None:
    result = cluster.cli("order", "buy", "AAPL", "1", "--json", key="viewer")
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "FORBIDDEN"
    assert "needs the trader role; 'viewer' is viewer" in error["message"]
    logged = cluster.refused("B", "risk")
    assert any(r["event"] == "auth.forbidden" and r["client"] == "viewer" for r in logged)


def test_trader_calling_an_admin_method_is_forbidden_and_logged(cluster: Cluster) -> None:
    result = cluster.cli("risk", "kill", "--json", key="trader")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "FORBIDDEN"
    state = json.loads(cluster.cli("risk", "state", "--json", key="viewer").stdout)
    assert state["state"] == "ACTIVE"
    logged = cluster.refused("B", "risk")
    assert any(r["event"] == "auth.forbidden" and r["method"] == "risk.kill" for r in logged)


def test_unknown_client_key_is_refused_and_logged(cluster: Cluster, tmp_path: Path) -> None:
    keys_dir = cluster.config.keys_dir(cluster.path.parent)
    elsewhere = KeyStore(tmp_path / "laptop")
    stranger = elsewhere.generate("mallory", "admin")
    for name in ("mallory.key", "mallory.key_secret"):  # on this disk, not on the allow-list
        shutil.copy2(tmp_path / "laptop" / name, keys_dir / name)
    result = cluster.cli("risk", "state", "--json", key="mallory")
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "UNAUTHENTICATED"
    assert "the server refused this client's key" in error["message"]
    wait_for(
        lambda: any(
            r.get("client_key") == stranger.public.decode() for r in cluster.refused("B", "risk")
        )
    )


def test_wrong_server_key_is_refused_and_logged(cluster: Cluster, tmp_path: Path) -> None:
    keys_dir = cluster.config.keys_dir(cluster.path.parent)
    copy = tmp_path / "keys"
    shutil.copytree(keys_dir, copy)
    KeyStore(tmp_path / "impostor").generate("host-B", "admin")
    shutil.copy2(tmp_path / "impostor" / "host-B.key", copy / "host-B.key")
    client = cluster.client("trader", keys_dir=copy)
    with client, pytest.raises(Unauthenticated, match="server's public key"):
        client.call("risk", "risk.state", {})
    wait_for(lambda: any("wrong server key" in r["reason"] for r in cluster.refused("B", "risk")))


def test_no_curve_gets_no_answer_and_is_logged(cluster: Cluster) -> None:
    before = len(cluster.refused("B", "execution"))
    ctx = zmq.Context()
    try:
        plain = ctx.socket(zmq.DEALER)
        plain.setsockopt(zmq.LINGER, 0)
        plain.connect(cluster.config.service("execution").rpc)
        plain.send(codec.encode_request(1, "orders.list", {}, "plain", 1000))
        assert plain.poll(700) == 0
    finally:
        ctx.destroy(linger=0)
    wait_for(lambda: len(cluster.refused("B", "execution")) > before)
    assert cluster.refused("B", "execution")[-1]["reason"].startswith("handshake failed")


def test_a_daemon_killed_under_up_is_restarted_while_the_others_keep_serving(
    cluster: Cluster,
) -> None:
    def execution_row() -> dict[str, Any]:
        status = cluster.cli("status", "--host", "B", "--json", host="B")
        rows = json.loads(status.stdout)["services"]
        return next(r for r in rows if r["service"] == "execution")

    old_pid = execution_row()["pid"]
    os.kill(old_pid, signal.SIGKILL)
    with cluster.client("viewer") as viewer:
        assert viewer.call("risk", "risk.state", {})["state"] in ("ACTIVE", "REDUCING", "HALTED")
        assert viewer.health("data", timeout_ms=2000)["state"] == "ready"
        assert viewer.call("portfolio", "portfolio.positions", {})["positions"] is not None

    def restarted() -> dict[str, Any] | None:
        row = execution_row()
        return row if row["state"] == "ready" and row["pid"] not in (None, old_pid) else None

    row = wait_for(restarted, timeout=40, every=0.3)
    assert row["restarts"] == 1
