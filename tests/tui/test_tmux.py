"""End to end in a real terminal: `bifrost tui` in tmux places a paper order from the keyboard."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_stack import bifrost
from tests.conftest import write_config

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
SERVICES = ("data", "portfolio", "execution", "risk")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    config, home = write_config(tmp_path, services=SERVICES), tmp_path / "home"
    up = bifrost(config, home, "up", "--timeout", "90")
    try:
        assert up.returncode == 0, up.stderr
        yield config, home
    finally:
        bifrost(config, home, "down")


def tmux(socket: str, *args: str) -> str:
    result = subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10, check=False
    )
    return result.stdout


def wait_screen(socket: str, needle: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux(socket, "capture-pane", "-p", "-t", "tui")
        if needle in screen:
            return screen
        time.sleep(0.3)
    raise AssertionError(f"'{needle}' never appeared; the screen was:\n{screen}")


def test_tui_in_tmux_places_a_paper_order_from_the_keyboard(stack, tmp_path: Path) -> None:
    config, home = stack
    socket = f"bifrost-test-{tmp_path.name}"
    command = f"{sys.executable} -m cli.main --config {config} --home {home} tui; sleep 5"
    tmux(socket, "new-session", "-d", "-s", "tui", "-x", "160", "-y", "45", command)
    try:
        wait_screen(socket, "Watchlist")
        wait_screen(socket, "● execution")
        tmux(socket, "send-keys", "-t", "tui", "b")
        wait_screen(socket, "Order ticket: BUY AAPL")
        tmux(socket, "send-keys", "-t", "tui", "7")
        tmux(socket, "send-keys", "-t", "tui", "C-s")
        screen = wait_screen(socket, "FILLED")
        assert "filled 7" in screen
        tmux(socket, "send-keys", "-t", "tui", "Escape")
        wait_screen(socket, "AAPL      7")
        tmux(socket, "send-keys", "-t", "tui", "q")
    finally:
        tmux(socket, "kill-server")
    orders = bifrost(config, home, "orders", "--json")
    assert '"filled": 7.0' in orders.stdout
