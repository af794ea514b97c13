"""Trading US equities at Alpaca as a user does it: the stack against a local Alpaca stub.

alpaca-py, unmocked, talks to the stub (tests/venues/alpaca_stub.py) over loopback; the
data service takes its live quotes from the venue alone (no synthetic feed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bifrost.local_config import write_local_config
from tests.venues.alpaca_stub import TEST_API_KEY, TEST_SECRET, AlpacaStub

pytestmark = pytest.mark.timeout(180)
SERVICES = ("data", "portfolio", "execution", "risk", "compliance")


def cli(config: Path, home: Path, *args: str, stdin: str | None = None) -> Any:
    """Run the CLI against the test config and home."""
    command = [sys.executable, "-m", "cli.main", "--config", str(config), "--home", str(home)]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=60, input=stdin, check=False
    )


@pytest.fixture
def alpaca_stack(tmp_path: Path) -> Iterator[tuple[Path, Path, AlpacaStub]]:
    """The stub streaming AAPL and MSFT, and a stack whose only live source is Alpaca."""
    stub = AlpacaStub(("AAPL", "MSFT"), auto_fill=True)
    urls = stub.start()
    feed = '[feed]\nsources = ["alpaca"]\nsymbols = ["AAPL"]\n'
    extra = '\n[venues.alpaca]\nkind = "alpaca"\nsymbols = ["AAPL", "MSFT"]\n'
    extra += "\n[venues.alpaca.urls]\n" + "".join(f'{k} = "{v}"\n' for k, v in urls.items())
    config = write_local_config(tmp_path, SERVICES, feed=feed, extra=extra)
    home = tmp_path / "home"
    try:
        login = cli(
            config,
            home,
            "venues",
            "login",
            "alpaca",
            "--stdin",
            stdin=f"{TEST_API_KEY}\n{TEST_SECRET}\n",
        )
        assert login.returncode == 0, login.stderr
        up = cli(config, home, "up", "--timeout", "90")
        assert up.returncode == 0, up.stderr
        yield config, home, stub
    finally:
        cli(config, home, "down")
        stub.stop()


def wait_for_json(config: Path, home: Path, *args: str, until: Any, timeout: float) -> Any:
    """Run a --json command until `until(document)` holds; the document."""
    deadline = time.monotonic() + timeout
    while True:
        result = cli(config, home, *args, "--json")
        document = json.loads(result.stdout) if result.returncode == 0 else None
        if document is not None and until(document):
            return document
        assert time.monotonic() < deadline, result.stdout + result.stderr
        time.sleep(0.3)


def test_an_equity_order_fills_at_alpaca_and_shows_everywhere(
    alpaca_stack: tuple[Path, Path, AlpacaStub],
) -> None:
    config, home, stub = alpaca_stack
    wait_for_json(
        config,
        home,
        "venues",
        "status",
        until=lambda d: d["venues"]["alpaca"]["state"] == "up",
        timeout=20,
    )
    bought = cli(config, home, "order", "buy", "AAPL", "3", "--client-id", "o-alpaca-1", "--json")
    order = json.loads(bought.stdout)
    assert order["status"] == "FILLED", bought.stdout + bought.stderr
    assert stub.order_status("o-alpaca-1") == "filled"
    positions = wait_for_json(
        config,
        home,
        "positions",
        until=lambda d: any(p["symbol"] == "AAPL" for p in d["positions"]),
        timeout=10,
    )
    assert next(p for p in positions["positions"] if p["symbol"] == "AAPL")["quantity"] == 3
    watch = cli(config, home, "watch", "AAPL", "--json", "--count", "2")
    quotes = [json.loads(line) for line in watch.stdout.splitlines()]
    assert watch.returncode == 0 and [q["symbol"] for q in quotes] == ["AAPL", "AAPL"]
    rejected = json.loads(cli(config, home, "order", "buy", "AAPL", "100000", "--json").stdout)
    assert rejected.get("status") == "REJECTED" or rejected.get("error", {}).get("code")
