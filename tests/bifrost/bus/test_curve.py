"""CURVE + ZAP: the key store, fail-closed start, encrypted RPC and events, roles from User-Id."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from bifrost.bus import codec
from bifrost.bus.keys import KeyStore, host_key_name
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import ConfigError, Conflict, Forbidden, RateLimited, Unauthenticated
from bifrost.local_config import TEST_FEED, free_ports
from tests.bifrost.conftest import DaemonThread
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(60)

ADDRESS = "127.0.0.2"


def secure_config(directory: Path, rate: float = 20_000.0) -> BifrostConfig:
    """The data service alone on host `a` at 127.0.0.2, which is marked secure."""
    rpc, pub, http = free_ports(3)
    path = directory / "secure.toml"
    path.write_text(
        f'[site]\nhost = "a"\nlog_level = "info"\nrpc_rate_per_second = {rate}\n\n'
        f'[hosts.a]\naddress = "{ADDRESS}"\nsecure = true\n\n'
        f'[services.data]\nhost = "a"\nrpc_port = {rpc}\npub_port = {pub}\nhttp_port = {http}\n\n'
        f'[security]\nkeys_dir = "keys"\n\n{TEST_FEED}',
        encoding="utf-8",
    )
    return load_config(path)


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    """The host key of `a` and one client key per role, all allowed."""
    store = KeyStore(tmp_path / "keys")
    store.generate(host_key_name("a"), "admin")
    for role in ("viewer", "trader", "admin"):
        store.generate(role, role)
    return store


@pytest.fixture
def secured(tmp_path: Path, keys: KeyStore) -> Iterator[tuple[BifrostConfig, DaemonThread]]:
    """A running data daemon on the secured host; its log goes to a buffer."""
    config = secure_config(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    runner = DaemonThread(config, home)
    runner.daemon.log.stream = io.StringIO()
    try:
        runner.start()
        yield config, runner
    finally:
        runner.stop()


def client(config: BifrostConfig, identity: str | None, timeout_ms: int = 2000) -> BifrostClient:
    return BifrostClient(
        config,
        timeout_ms=timeout_ms,
        retries=0,
        identity=identity,
        keys_dir=config.keys_dir(Path("/nonexistent")),
    )


def refusals(runner: DaemonThread) -> list[dict]:
    """The auth.refused / auth.forbidden records the daemon has logged."""
    text = runner.daemon.log.stream.getvalue()  # type: ignore[attr-defined]
    records = [json.loads(line) for line in text.splitlines()]
    return [r for r in records if r["event"].startswith("auth.")]


def test_generate_writes_a_private_secret_a_public_key_and_an_allow_list_entry(
    tmp_path: Path,
) -> None:
    store = KeyStore(tmp_path / "keys")
    pair = store.generate("alice", "trader")
    secret = tmp_path / "keys" / "alice.key_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert store.public_key("alice") == pair.public
    assert store.key_pair("alice") == pair
    assert [(c.name, c.role, c.public_key) for c in store.allowed()] == [
        ("alice", "trader", pair.public.decode())
    ]
    assert "secret" not in (tmp_path / "keys" / "alice.key").read_text()
    with pytest.raises(Conflict, match="already exists"):
        store.generate("alice", "viewer")
    with pytest.raises(ConfigError, match="role 'boss'"):
        store.generate("bob", "boss")
    with pytest.raises(ConfigError, match="key name"):
        store.generate("../evil", "viewer")


def test_a_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.generate("alice", "viewer")
    os.chmod(tmp_path / "keys" / "alice.key_secret", 0o644)
    with pytest.raises(ConfigError, match=r"readable by group or others \(mode 0644\)"):
        store.key_pair("alice")


def test_a_malformed_allow_list_is_a_clear_error(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.generate("alice", "viewer")
    (tmp_path / "keys" / "allowed.toml").write_text('[clients.x]\npublic_key = "k"\nrole = "god"\n')
    with pytest.raises(ConfigError, match="role 'god' is not one of"):
        store.allowed()


def test_a_secure_host_without_keys_refuses_to_start(tmp_path: Path) -> None:
    runner = DaemonThread(secure_config(tmp_path), tmp_path)
    with pytest.raises(ConfigError, match=r"127\.0\.0\.2 \(marked secure\), which needs CURVE"):
        runner.start()
    assert runner.daemon.rpc is None
    runner.stop()


def test_a_secure_host_without_an_allow_list_refuses_to_start(
    tmp_path: Path, keys: KeyStore
) -> None:
    (keys.directory / "allowed.toml").unlink()
    runner = DaemonThread(secure_config(tmp_path), tmp_path)
    with pytest.raises(ConfigError, match="no allow-list of client keys"):
        runner.start()
    runner.stop()


def test_roles_come_from_the_authenticated_key(secured) -> None:
    config, runner = secured
    with client(config, "viewer") as viewer:
        assert viewer.health("data", timeout_ms=2000)["service"] == "data"
        with pytest.raises(Forbidden, match=r"jobs\.run needs the admin role; 'viewer' is viewer"):
            viewer.call("data", "jobs.run", {"name": "feed-stats"})
    trader = client(config, "trader")
    with trader, pytest.raises(Forbidden, match="needs the admin role; 'trader' is trader"):
        trader.call("data", "jobs.run", {"name": "feed-stats"})
    with client(config, "admin") as admin, pytest.raises(Exception, match="no job"):
        admin.call("data", "jobs.run", {"name": "feed-stats"})  # allowed, then NOT_FOUND
    logged = refusals(runner)
    assert [(r["event"], r["client"]) for r in logged] == [
        ("auth.forbidden", "viewer"),
        ("auth.forbidden", "trader"),
    ]


def test_unknown_client_key_is_refused_and_logged(secured, tmp_path) -> None:
    config, runner = secured
    stranger = KeyStore(tmp_path / "elsewhere").generate("mallory", "admin")
    store = KeyStore(config.keys_dir(tmp_path))
    for suffix in (".key", ".key_secret"):  # her key pair, but not on host a's allow-list
        src = tmp_path / "elsewhere" / f"mallory{suffix}"
        (store.directory / src.name).write_bytes(src.read_bytes())
        os.chmod(store.directory / src.name, 0o600)
    mallory = client(config, "mallory", timeout_ms=1000)
    with mallory, pytest.raises(Unauthenticated, match="refused this client's key"):
        mallory.call("data", "health")
    logged = refusals(runner)
    assert any(
        r["reason"] == "client key not on the allow-list"
        and r["client_key"] == stranger.public.decode()
        for r in logged
    )


def test_wrong_server_key_never_completes_the_handshake(secured, tmp_path) -> None:
    config, runner = secured
    store = KeyStore(config.keys_dir(tmp_path))
    impostor = KeyStore(tmp_path / "other").generate(host_key_name("a"), "admin")
    (store.directory / "host-a.key").write_text(
        (tmp_path / "other" / "host-a.key").read_text()
    )  # this client now trusts a different server key for host a
    assert store.public_key("host-a") == impostor.public
    admin = client(config, "admin", timeout_ms=1000)
    with admin, pytest.raises(Unauthenticated, match="is the server's public key right"):
        admin.call("data", "health")
    wait_for(lambda: any("handshake failed" in r["reason"] for r in refusals(runner)))


def test_a_client_without_curve_gets_nothing_and_is_logged(secured) -> None:
    config, runner = secured
    anonymous = client(config, None)
    with anonymous, pytest.raises(Unauthenticated, match="requires CURVE keys and this client"):
        anonymous.call("data", "health")
    ctx = zmq.Context()
    try:
        plain = ctx.socket(zmq.DEALER)
        plain.setsockopt(zmq.LINGER, 0)
        plain.connect(config.service("data").rpc)
        plain.send(codec.encode_request(1, "health", {}, "cid", 1000))
        assert plain.poll(500) == 0  # no reply: the handshake never completed
    finally:
        ctx.destroy(linger=0)
    wait_for(lambda: any(r["reason"].startswith("handshake failed") for r in refusals(runner)))


def test_events_are_encrypted_and_only_allowed_keys_subscribe(secured) -> None:
    config, _ = secured
    with client(config, "viewer") as viewer:
        subscriber = viewer.subscribe("data", ["quote."])
        events = wait_for(lambda: subscriber.poll(50), timeout=5)
        assert events[0].topic.startswith("quote.")
    ctx = zmq.Context()
    try:
        plain = ctx.socket(zmq.SUB)
        plain.setsockopt(zmq.SUBSCRIBE, b"")
        plain.connect(config.service("data").pub)
        assert plain.poll(700) == 0  # a subscriber without keys hears nothing
    finally:
        ctx.destroy(linger=0)


def test_rate_limit_is_per_identity_across_connections(tmp_path: Path, keys: KeyStore) -> None:
    config = secure_config(tmp_path, rate=5.0)
    home = tmp_path / "home"
    home.mkdir()
    runner = DaemonThread(config, home)
    try:
        runner.start()
        limited = 0
        for _ in range(8):  # two connections of one key share its bucket (burst 10)
            for connection in (client(config, "viewer"), client(config, "viewer")):
                with connection:
                    try:
                        connection.call("data", "health")
                    except RateLimited as exc:
                        assert exc.details["retry_after_ms"] > 0
                        limited += 1
        assert limited >= 4
        with client(config, "trader") as other:  # another identity has its own bucket
            assert other.call("data", "health")["service"] == "data"
    finally:
        runner.stop()
