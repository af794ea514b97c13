"""Fixtures for the library tests: a real DataDaemon served from a thread in this process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import zmq

import daemons
from bifrost.config import BifrostConfig, load_config
from bifrost.daemon import Daemon
from tests.conftest import write_config

JOB_TOML = '[jobs.feed-stats]\nservice = "data"\ntask = "feed_stats"\nevery_seconds = 60\n'
"""A scheduled job of the data service, so `jobs.list` and `jobs.run` have one to show."""


@contextmanager
def running_daemon(config: BifrostConfig, home: Path, name: str = "data") -> Iterator[Daemon]:
    """Start a daemon, serve it from a thread, and always stop it and release its ports."""
    daemon = daemons.build_daemon(name, config, home)
    thread: threading.Thread | None = None
    try:
        daemon.start()
        thread = threading.Thread(target=daemon.serve_forever, name=f"test-{name}", daemon=True)
        thread.start()
        yield daemon
    finally:
        daemon.request_stop()
        if thread is not None:
            thread.join(timeout=10)
        daemon.stop()


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
def data_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A running DataDaemon with one job, on free loopback ports."""
    home = tmp_path / "data-home"
    home.mkdir()
    with running_daemon(data_config(tmp_path / "daemon-config"), home) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def module_data_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One running DataDaemon shared by a whole module (for Hypothesis tests)."""
    base = tmp_path_factory.mktemp("module-daemon")
    home = base / "home"
    home.mkdir()
    with running_daemon(data_config(base / "config"), home) as daemon:
        yield daemon
