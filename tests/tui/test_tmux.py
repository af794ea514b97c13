"""End to end in a real terminal: `bifrost tui` in tmux places a paper order from the
keyboard, at 160x45 and at 80x24 (a default terminal), where the watchlist still reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def tui_in_tmux(config: Path, home: Path, socket: str, size: tuple[int, int]) -> Iterator[None]:
    """`bifrost tui` in a tmux server of its own, killed on the way out, pass or fail."""
    command = f"{sys.executable} -m cli.main --config {config} --home {home} tui; sleep 5"
    columns, rows = (str(n) for n in size)
    tmux(socket, "new-session", "-d", "-s", "tui", "-x", columns, "-y", rows, command)
    try:
        yield
    finally:
        tmux(socket, "kill-server")


def test_tui_in_tmux_places_a_paper_order_from_the_keyboard(stack, tmp_path: Path) -> None:
    config, home = stack
    socket = f"bifrost-test-{tmp_path.name}"
    with tui_in_tmux(config, home, socket, (160, 45)):
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
    orders = bifrost(config, home, "orders", "--json")
    assert '"filled": 7.0' in orders.stdout


WATCH_ROW = re.compile(r"^ (AAPL|MSFT)\s+[\d,]+\.\d\d\s+[+-]\d+\.\d{3}\b", re.MULTILINE)
"""A watchlist row at 80 columns: symbol, last and change (bid, ask and volume dropped)."""


def test_tui_at_80x24_reads_the_watchlist_and_places_an_order(stack, tmp_path: Path) -> None:
    config, home = stack
    socket = f"bifrost-80-{tmp_path.name}"
    with tui_in_tmux(config, home, socket, (80, 24)):
        screen = wait_screen(socket, "chg %")
        assert re.search(r"symbol\s+last\s+chg %", screen), screen
        deadline = time.monotonic() + 30
        while len(set(WATCH_ROW.findall(screen))) < 2 and time.monotonic() < deadline:
            time.sleep(0.3)  # quotes and the first trades are on their way
            screen = tmux(socket, "capture-pane", "-p", "-t", "tui")
        assert set(WATCH_ROW.findall(screen)) == {"AAPL", "MSFT"}, screen
        wait_screen(socket, "● execution")
        lines = screen.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        assert "q Quit" in lines[-1] and "k Kill" in lines[-1], lines[-1]  # the footer fits
        tmux(socket, "send-keys", "-t", "tui", "b")
        wait_screen(socket, "Order ticket: BUY AAPL")
        tmux(socket, "send-keys", "-t", "tui", "3")
        tmux(socket, "send-keys", "-t", "tui", "C-s")
        wait_screen(socket, "FILLED")
        tmux(socket, "send-keys", "-t", "tui", "Escape")
        wait_screen(socket, "AAPL      3")
        tmux(socket, "send-keys", "-t", "tui", "q")
    orders = bifrost(config, home, "orders", "--json")
    assert '"filled": 3.0' in orders.stdout
