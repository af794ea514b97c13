"""The allow-list of a running secured daemon: `keys allow` and `keys revoke` take effect
without a restart, a broken file keeps the list in force, SIGHUP re-reads it, and a key
store open to others is refused at start with the chmod to run."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.bus.keys import KeyStore, host_key_name
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig
from bifrost.errors import ConfigError, Forbidden, NotFound, Unauthenticated, Unavailable
from tests.bifrost.bus.test_curve import client, secure_config
from tests.bifrost.conftest import DaemonThread
from tests.cli.test_stack import bifrost
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    """Host a's key and a viewer and a trader, allowed; carol's pair made elsewhere and
    copied in, but not on the allow-list."""
    store = KeyStore(tmp_path / "keys")
    store.generate(host_key_name("a"), "admin")
    store.generate("viewer", "viewer")
    store.generate("trader", "trader")
    KeyStore(tmp_path / "laptop").generate("carol", "trader")
    for name in ("carol.key", "carol.key_secret"):
        shutil.copy2(tmp_path / "laptop" / name, store.directory / name)
    return store


@pytest.fixture
def running(tmp_path: Path, store: KeyStore) -> Iterator[tuple[BifrostConfig, DaemonThread]]:
    """The data daemon on secured host a, its log in a buffer."""
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


def records(runner: DaemonThread, event: str) -> list[dict]:
    text = runner.daemon.log.stream.getvalue()  # type: ignore[attr-defined]
    return [r for r in map(json.loads, text.splitlines()) if r["event"] == event]


def answers(config: BifrostConfig, identity: str) -> bool:
    """True when a new connection of `identity` gets an answer, False when it is refused
    (at the handshake, or by its role when a reload came between handshake and request)."""
    try:
        with client(config, identity, timeout_ms=700) as fresh:
            return fresh.health("data", timeout_ms=700)["service"] == "data"
    except (Unauthenticated, Forbidden):
        return False


def started(config: BifrostConfig) -> bool:
    """True once the daemon answers the viewer."""
    try:
        return answers(config, "viewer")
    except Unavailable:
        return False


def cli(config: BifrostConfig, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    result = bifrost(config.path, tmp_path / "home", "keys", *args, "--json")
    assert result.returncode == 0, result.stderr
    return result


def test_a_key_allowed_while_the_daemon_runs_is_admitted_without_a_restart(
    running, tmp_path: Path, store: KeyStore
) -> None:
    config, runner = running
    assert not answers(config, "carol")
    carol = store.public_key("carol").decode()
    cli(config, tmp_path, "allow", "carol", carol, "--role", "trader")
    wait_for(lambda: answers(config, "carol"), timeout=10)
    reloaded = records(runner, "auth.allow_list_reloaded")
    assert reloaded[-1]["added"] == ["carol"] and reloaded[-1]["why"] == "file changed"


def test_a_revoked_key_is_refused_from_its_next_connection_and_request(
    running, tmp_path: Path
) -> None:
    config, runner = running
    with client(config, "trader") as held:
        assert held.health("data")["service"] == "data"
        revoked = json.loads(cli(config, tmp_path, "revoke", "trader").stdout)
        assert revoked["role"] == "trader"
        wait_for(lambda: not answers(config, "trader"), timeout=10)
        with pytest.raises(Forbidden, match="'trader' is not on the allow-list"):
            held.call("data", "health")
    fresh = client(config, "trader", timeout_ms=1000)
    with fresh, pytest.raises(Unauthenticated, match="refused this client's key"):
        fresh.call("data", "health")
    assert answers(config, "viewer")
    assert records(runner, "auth.allow_list_reloaded")[-1]["removed"] == ["trader"]


def test_revoking_a_name_not_on_the_list_is_not_found(store: KeyStore) -> None:
    with pytest.raises(NotFound, match="'carol' is not on the allow-list"):
        store.revoke("carol")


def test_a_broken_allow_list_is_logged_and_the_list_in_force_kept(
    running, store: KeyStore
) -> None:
    config, runner = running

    def kept(why: str) -> list[dict]:
        return [r for r in records(runner, "auth.allow_list_kept") if why in r["error"]]

    good = store.allow_list_path.read_text()
    store.allow_list_path.write_text('[clients.viewer]\nrole = "admin"\n')  # no key
    wait_for(lambda: kept("needs exactly public_key and role"), timeout=10)
    assert answers(config, "viewer") and answers(config, "trader")
    os.chmod(store.allow_list_path, 0o666)
    store.allow_list_path.write_text(good.replace('role = "viewer"', 'role = "admin"'))
    wait_for(lambda: kept(f"run `chmod 600 {store.allow_list_path}`"), timeout=10)
    with client(config, "viewer") as viewer, pytest.raises(Forbidden, match="is viewer"):
        viewer.call("data", "jobs.run", {"name": "feed-stats"})  # still a viewer
    store.allow_list_path.unlink()
    wait_for(lambda: kept("has no allow-list"), timeout=10)
    assert answers(config, "viewer")
    assert not records(runner, "auth.allow_list_reloaded")


def test_a_key_directory_open_to_others_is_refused_at_start_naming_the_chmod(
    tmp_path: Path, store: KeyStore
) -> None:
    os.chmod(store.directory, 0o755)
    runner = DaemonThread(secure_config(tmp_path), tmp_path)
    fix = re.escape(f"(mode 0755); run `chmod 700 {store.directory}`")
    with pytest.raises(ConfigError, match=fix):
        runner.start()
    runner.stop()


def test_an_allow_list_writable_by_others_is_refused_at_start_naming_the_chmod(
    tmp_path: Path, store: KeyStore
) -> None:
    os.chmod(store.allow_list_path, 0o666)
    runner = DaemonThread(secure_config(tmp_path), tmp_path)
    with pytest.raises(
        ConfigError, match=r"writable by group or others \(mode 0666\); run `chmod 600 .*toml`"
    ):
        runner.start()
    runner.stop()


def test_allow_and_revoke_replace_the_file_private(store: KeyStore) -> None:
    store.revoke("viewer")
    assert oct(store.allow_list_path.stat().st_mode & 0o777) == "0o600"
    assert [c.name for c in store.allowed()] == [host_key_name("a"), "trader"]
    assert not list(store.directory.glob(".allowed.toml.*"))


def test_sighup_rereads_the_allow_list_and_the_daemon_keeps_serving(
    tmp_path: Path, store: KeyStore
) -> None:
    config = secure_config(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "data.log"
    command = [sys.executable, "-m", "cli.main", "--config", str(config.path), "--home", str(home)]
    with log.open("wb") as stderr:
        process = subprocess.Popen([*command, "daemon", "run", "data"], stderr=stderr)
    try:
        wait_for(lambda: started(config), timeout=30, every=0.2)
        process.send_signal(signal.SIGHUP)

        def reloaded() -> list[dict]:
            lines = [json.loads(line) for line in log.read_text().splitlines() if "{" in line]
            return [r for r in lines if r["event"] == "auth.allow_list_reloaded"]

        assert wait_for(reloaded, timeout=10)[0]["why"] == "SIGHUP"
        assert process.poll() is None
        with BifrostClient(
            config, timeout_ms=2000, retries=0, identity="viewer", keys_dir=store.directory
        ) as viewer:
            assert viewer.health("data")["state"] == "ready"
    finally:
        process.terminate()
        try:
            assert process.wait(timeout=20) == 0
        finally:
            process.kill()
