"""A first start launches every service at once; they become ready in config order."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bifrost.local_config import write_local_config

SERVICES = ("data", "portfolio", "risk")


def events(log: Path, name: str) -> list[float]:
    """Times (s since the epoch) of the JSON log lines of `log` whose event is `name`."""
    times = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == name:
                times.append(dt.datetime.fromisoformat(record["ts"]).timestamp())
    return times


@pytest.mark.timeout(120)
def test_first_start_spawns_all_then_each_is_ready_after_the_one_before(tmp_path: Path) -> None:
    config = write_local_config(tmp_path, SERVICES)
    config.write_text(config.read_text().replace('"warning"', '"info"'))
    home = tmp_path / "home"
    command = [sys.executable, "-m", "cli.main", "--config", str(config), "--home", str(home)]
    up = subprocess.run([*command, "up", "--json"], capture_output=True, text=True, timeout=90)
    try:
        assert up.returncode == 0, up.stderr
    finally:
        subprocess.run([*command, "down"], capture_output=True, timeout=60)
    logs = home / "logs"
    spawned = events(logs / "supervisor.log", "service.spawned")
    ready = [events(logs / f"{name}.log", "daemon.ready")[0] for name in SERVICES]
    assert len(spawned) == len(SERVICES)
    assert max(spawned) < min(ready)  # imported side by side, not one after another
    assert ready == sorted(ready)  # set up in config order
