"""Shared fixtures: a config on free loopback ports and a data dir, both under tmp_path."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bifrost.config import BifrostConfig, load_config
from bifrost.local_config import write_local_config


def write_config(directory: Path, services: tuple[str, ...] = ("data",), extra: str = "") -> Path:
    """A config file with `services` on free loopback ports and a fast synthetic feed."""
    return write_local_config(directory, services, extra=extra)


@pytest.fixture(autouse=True, scope="session")
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the suite off the user's own stack: its data dir, config and key.

    `make test` runs beside a stack `make demo` left up; a command that fell back to the
    default data dir or to BIFROST_CONFIG would talk to (or write into) that stack.
    """
    saved = {name: os.environ.get(name) for name in ISOLATED_VARIABLES}
    for name in ("BIFROST_CONFIG", "BIFROST_KEY"):
        os.environ.pop(name, None)
    scratch = tmp_path_factory.mktemp("user")
    os.environ["BIFROST_HOME"] = str(scratch / "bifrost-home")
    os.environ["XDG_DATA_HOME"] = str(scratch / "xdg-data")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


ISOLATED_VARIABLES = ("BIFROST_CONFIG", "BIFROST_KEY", "BIFROST_HOME", "XDG_DATA_HOME")


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
