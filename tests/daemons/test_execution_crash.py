"""kill -9 of the execution daemon in the middle of order bursts, 20 times over.

The execution daemon runs as a real subprocess and is killed with SIGKILL at a
random moment while a sender thread keeps entering orders; it is then restarted.
Afterwards no acknowledged order is lost, retries of unanswered orders create each
order once, no order is stuck, and the portfolio's positions equal the journaled fills.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import BifrostError
from tests.bifrost.conftest import DaemonThread, risk_client
from tests.conftest import write_config

CYCLES = int(os.environ.get("BIFROST_CRASH_CYCLES", "20"))
"""kill -9 cycles; bench/crash_recovery.py runs 50."""
pytestmark = pytest.mark.timeout(120 + 12 * CYCLES)


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    return load_config(write_config(tmp_path, services=("data", "portfolio", "execution")))


@pytest.fixture
def helpers(config: BifrostConfig, home: Path) -> Iterator[None]:
    """Data (quotes) and portfolio (booking) in threads for the whole test."""
    threads = [DaemonThread(config, home, "data"), DaemonThread(config, home, "portfolio")]
    try:
        for thread in threads:
            thread.start()
        yield
    finally:
        for thread in reversed(threads):
            thread.stop()


class Execution:
    """The execution daemon as a subprocess that can be killed and started again."""

    def __init__(self, config: BifrostConfig, home: Path) -> None:
        self.command = [
            sys.executable,
            "-m",
            "cli.main",
            "--config",
            str(config.path),
            "--home",
            str(home),
            "daemon",
            "run",
            "execution",
        ]
        self.log = open(home / "execution.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, bus: BifrostClient) -> None:
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while not bus.answers("execution", timeout_ms=200):
            assert self.process.poll() is None, "execution daemon died at start"
            assert time.monotonic() < deadline, "execution daemon did not come up"

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def burst(config: BifrostConfig, home: Path, prefix: str, stop: threading.Event) -> tuple[set, set]:
    """Enter orders until `stop` (standing in for risk, the one caller execution takes
    orders from); returns (acknowledged ids, ids whose outcome is unknown)."""
    acknowledged, unknown = set(), set()
    rng = random.Random(prefix)
    with risk_client(config, home, timeout_ms=300, retries=0) as client:
        n = 0
        while not stop.is_set():
            n += 1
            spec = {
                "client_order_id": f"{prefix}-{n}",
                "symbol": rng.choice(["AAPL", "MSFT"]),
                "side": rng.choice(["BUY", "SELL"]),
                "quantity": float(rng.randint(1, 5)),
            }
            if rng.random() < 0.3:
                spec |= {"type": "LIMIT", "limit_price": 100.0 if spec["side"] == "BUY" else 900.0}
            try:
                client.call("execution", "order.submit", spec, idempotent=False)
                acknowledged.add(spec["client_order_id"])
            except BifrostError:
                unknown.add(spec["client_order_id"])
                client.rpc("execution").reset()
    return acknowledged, unknown


def test_kill_9_during_bursts_loses_duplicates_and_strands_nothing(
    config: BifrostConfig, home: Path, helpers: None
) -> None:
    execution = Execution(config, home)
    acknowledged: set[str] = set()
    unknown: set[str] = set()
    rng = random.Random(7)
    try:
        with risk_client(config, home, timeout_ms=2000) as bus:
            for cycle in range(CYCLES):
                execution.start(bus)
                stop = threading.Event()
                result: list[tuple[set, set]] = []
                sender = threading.Thread(
                    target=lambda c=cycle, out=result, halt=stop: out.append(
                        burst(config, home, f"c{c}", halt)
                    )
                )
                sender.start()
                time.sleep(rng.uniform(0.05, 0.4))
                execution.kill()
                stop.set()
                sender.join(timeout=30)
                acknowledged |= result[0][0]
                unknown |= result[0][1]
            execution.start(bus)
            check_journal(bus, acknowledged, unknown)
    finally:
        execution.stop()


def check_journal(bus: BifrostClient, acknowledged: set[str], unknown: set[str]) -> None:
    orders = bus.call("execution", "orders.list", {"limit": 100_000})["orders"]
    ids = [o["client_order_id"] for o in orders]
    assert len(acknowledged) > CYCLES
    assert acknowledged <= set(ids), "an acknowledged order is missing from the journal"
    assert len(ids) == len(set(ids))
    for client_id in unknown:  # a retry of an unanswered order enters it at most once
        spec = next((o for o in orders if o["client_order_id"] == client_id), None)
        if spec is not None:
            again = bus.call(
                "execution",
                "order.submit",
                {
                    k: spec[k]
                    for k in (
                        "client_order_id",
                        "symbol",
                        "side",
                        "quantity",
                        "type",
                        "limit_price",
                        "tif",
                    )
                },
            )
            assert again["client_order_id"] == client_id
    after = bus.call("execution", "orders.list", {"limit": 100_000})["orders"]
    assert len(after) == len(orders)
    open_in_journal = [
        o for o in after if o["status"] in ("SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED")
    ]
    held = bus.call("execution", "health")["details"]["open_orders"]
    assert held == len(open_in_journal), "an open order is stuck outside the broker"
    fills = bus.call("execution", "fills.list", {"limit": 100_000})["fills"]
    assert len({f["trade_id"] for f in fills}) == len(fills)
    expected: dict[str, float] = {}
    for f in fills:
        expected[f["symbol"]] = expected.get(f["symbol"], 0.0) + (
            f["quantity"] if f["side"] == "BUY" else -f["quantity"]
        )

    def positions() -> dict[str, float]:
        rows = bus.call("portfolio", "portfolio.positions", {})["positions"]
        return {p["symbol"]: p["quantity"] for p in rows if p["quantity"]}

    deadline = time.monotonic() + 10
    while positions() != {s: q for s, q in expected.items() if q}:
        assert time.monotonic() < deadline, f"portfolio {positions()} != journal {expected}"
        time.sleep(0.2)
