"""Fixtures for the library tests: real DataDaemons served from threads in this process."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

import daemons
from bifrost.bus.service_auth import service_token
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.daemon import Daemon
from tests.conftest import write_config

JOB_TOML = '[jobs.feed-stats]\nservice = "data"\ntask = "feed_stats"\nevery_seconds = 60\n'
"""A scheduled job of the data service, so `jobs.list` and `jobs.run` have one to show."""


class DaemonThread:
    """A daemon started in-process with its loop on a thread; `stop()` is idempotent."""

    def __init__(self, config: BifrostConfig, home: Path, name: str = "data") -> None:
        self.daemon: Daemon = daemons.build_daemon(name, config, home)
        self._thread: threading.Thread | None = None

    def start(self) -> Daemon:
        try:
            self.daemon.start()
        except BaseException:
            self.daemon.stop()  # release whatever was bound before the failure
            raise
        self._thread = threading.Thread(
            target=self.daemon.serve_forever, name=f"test-{self.daemon.name}", daemon=True
        )
        self._thread.start()
        return self.daemon

    def stop(self) -> None:
        self.daemon.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
            assert not self._thread.is_alive(), "daemon loop did not stop"
        self.daemon.stop()


def risk_client(config: BifrostConfig, home: Path, **options: Any) -> BifrostClient:
    """A client that speaks for the risk service on loopback: it signs with the data
    dir's service token, as risk does. For tests that stand in for risk in front of
    execution (execution takes order changes from risk alone)."""
    return BifrostClient(config, service_token=service_token(home), **options)


def data_config(directory: Path) -> BifrostConfig:
    """A config with the data service on free loopback ports and one scheduled job."""
    directory.mkdir(parents=True, exist_ok=True)
    return load_config(write_config(directory, extra=JOB_TOML))


@pytest.fixture
def zmq_ctx() -> Iterator[zmq.Context]:
    """A private ZeroMQ context; destroyed (every socket closed) at teardown."""
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def daemon_config(tmp_path: Path) -> BifrostConfig:
    """The data service on free loopback ports, with the `feed-stats` job."""
    return data_config(tmp_path / "daemon-config")


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[[BifrostConfig], DaemonThread]]:
    """Start data daemons of a config; every one is stopped at teardown, even on failure."""
    started: list[DaemonThread] = []

    def start(config: BifrostConfig) -> DaemonThread:
        home = tmp_path / f"home-{len(started)}"
        home.mkdir()
        runner = DaemonThread(config, home)
        started.append(runner)
        runner.start()
        return runner

    yield start
    for runner in reversed(started):
        runner.stop()


@pytest.fixture
def data_daemon(
    start_daemon: Callable[[BifrostConfig], DaemonThread], daemon_config: BifrostConfig
) -> Daemon:
    """A running DataDaemon with one job, on free loopback ports."""
    return start_daemon(daemon_config).daemon


@pytest.fixture(scope="module")
def module_data_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One running DataDaemon shared by a whole module (for Hypothesis tests)."""
    base = tmp_path_factory.mktemp("module-daemon")
    home = base / "home"
    home.mkdir()
    runner = DaemonThread(data_config(base / "config"), home)
    try:
        yield runner.start()
    finally:
        runner.stop()


@contextlib.contextmanager
def services_running(
    config: BifrostConfig, home: Path, names: tuple[str, ...]
) -> Iterator[BifrostClient]:
    """`names` serving from threads, started in order (each ready before the next) and
    stopped in reverse, even on failure; yields a client of the config."""
    started: list[DaemonThread] = []
    try:
        for name in names:
            thread = DaemonThread(config, home, name)
            thread.start()
            started.append(thread)
        with BifrostClient(config, timeout_ms=5000) as client:
            yield client
    finally:
        for thread in reversed(started):
            thread.stop()
