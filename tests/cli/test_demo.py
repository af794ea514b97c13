"""`bifrost demo` as a new user runs it, then `data import` of a pandas-written CSV with the
stack it leaves up: the embedded default config, moved to free loopback ports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.config import DEFAULT_CONFIG
from bifrost.local_config import free_ports

pytestmark = pytest.mark.timeout(240)


def bifrost(
    config: Path, home: Path, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cli.main", "--config", str(config), "--home", str(home)]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def default_config_on_free_ports(directory: Path) -> Path:
    """configs/local.toml as shipped, every port swapped for a free one."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    ports = iter(free_ports(len(re.findall(r"^\w+_port = \d+$", text, flags=re.M))))
    moved = re.sub(r"^(\w+_port) = \d+$", lambda m: f"{m[1]} = {next(ports)}", text, flags=re.M)
    path = directory / "local.toml"
    path.write_text(moved, encoding="utf-8")
    return path


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Path, Path, subprocess.CompletedProcess]]:
    config, home = default_config_on_free_ports(tmp_path), tmp_path / "home"
    try:
        yield config, home, bifrost(config, home, "demo", "--seconds", "1")
    finally:
        bifrost(config, home, "down", timeout=60)


def test_demo_shows_each_service_then_a_pandas_csv_imports_through_the_running_stack(
    demo: tuple[Path, Path, subprocess.CompletedProcess], tmp_path: Path
) -> None:
    config, home, shown = demo
    assert shown.returncode == 0, shown.stderr[-3000:]
    out = shown.stdout + shown.stderr
    for seen in (
        "ready",
        "FILLED",
        "ACCEPTED",  # the NVDA bid under the market rests
        "rejected by risk (max_order_quantity): quantity 1000000 exceeds",
        "REJECTED by compliance (restricted)",
        "audit trail OK",
        "out-of-sample accuracy",
        "rolling sentiment",
        "microstructure AAPL",
        "The stack is still running",
    ):
        assert seen in out, seen
    assert "Traceback" not in out

    csv = tmp_path / "qqq.csv"  # DataFrame.to_csv() with a DatetimeIndex, as pandas writes it
    csv.write_text(
        ",Open,High,Low,Close,Volume\n"
        "2024-01-02,400.0,405.0,399.0,404.0,1000\n"
        "2024-01-03,404.0,406.0,380.0,384.0,2000\n"  # -5 %: kept
        "2024-01-04,384.0,470.0,383.0,465.0,3000\n",  # +21 % gap: kept
        encoding="utf-8",
    )
    imported = bifrost(config, home, "data", "import", str(csv))
    assert imported.returncode == 0, imported.stderr
    assert "(via daemon)" in imported.stdout
    bars = bifrost(config, home, "data", "bars", "QQQ", "--json")
    closes = [bar["close"] for bar in json.loads(bars.stdout)["bars"]]
    assert closes == [404.0, 384.0, 465.0]
