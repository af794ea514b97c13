"""Shared fixtures: a config on free loopback ports and a data dir, both under tmp_path."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bifrost.config import BifrostConfig, load_config


def free_ports(count: int) -> list[int]:
    """Ports that are free on 127.0.0.1 right now (held open together, then released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def write_config(directory: Path, services: tuple[str, ...] = ("data",), extra: str = "") -> Path:
    """A config file with `services` on free loopback ports and a fast synthetic feed."""
    ports = free_ports(3 * len(services))
    lines = [
        "[site]",
        'host = "local"',
        'log_level = "warning"',
        "",
        "[hosts.local]",
        'address = "127.0.0.1"',
        "",
    ]
    for i, name in enumerate(services):
        rpc, pub, http = ports[3 * i : 3 * i + 3]
        lines += [
            f"[services.{name}]",
            'host = "local"',
            f"rpc_port = {rpc}",
            f"pub_port = {pub}",
            f"http_port = {http}",
            "",
        ]
    lines += [
        "[feed]",
        'symbols = ["AAPL", "MSFT", "BTC-USD"]',
        "quotes_per_second = 100",
        "seed = 11",
        "",
        "[feed.prices]",
        "AAPL = 190.0",
        "MSFT = 420.0",
        "BTC-USD = 65000.0",
        "",
        extra,
    ]
    path = directory / "bifrost.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """A config file with the data service on free ports."""
    return write_config(tmp_path, extra=JOBS)


@pytest.fixture
def config(config_path: Path) -> BifrostConfig:
    """The loaded test config."""
    return load_config(config_path)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty data dir."""
    path = tmp_path / "home"
    path.mkdir()
    return path


JOBS = """
[jobs.feed-stats]
service = "data"
task = "feed_stats"
every_seconds = 60
"""


def wait_for(condition: Callable[[], Any], timeout: float = 5.0, every: float = 0.02) -> Any:
    """Poll `condition` until it is truthy (returning it) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")
