"""Risk forwards orders without waiting: a frozen compliance holds up only its own orders.

Compliance runs as a real subprocess that the test freezes with SIGSTOP; risk,
execution, portfolio and data run in threads. While an order waits on the frozen
hop, other callers of risk are answered at once; when the deadline passes the order
is refused, naming compliance, and nothing reaches execution. Thawed, the desk trades.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.bus import methods
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import BifrostError, Unavailable
from bifrost.model.commands import SubmitOrder
from tests.bifrost.conftest import services_running
from tests.conftest import write_config

pytestmark = pytest.mark.timeout(120)
SERVICES = ("data", "portfolio", "execution", "risk", "compliance")


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    limits = "[compliance]\npdt_max_day_trades = 0\n"
    return load_config(write_config(tmp_path, services=SERVICES, extra=limits))


@pytest.fixture
def compliance(config: BifrostConfig, home: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Compliance as a subprocess (so it can be frozen); always thawed and stopped."""
    command = [sys.executable, "-m", "cli.main", "--config", str(config.path)]
    command += ["--home", str(home), "daemon", "run", "compliance"]
    with open(home / "compliance.log", "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        with BifrostClient(config) as bus:
            deadline = time.monotonic() + 30
            while not bus.answers("compliance", timeout_ms=200):
                assert process.poll() is None, "compliance died at start"
                assert time.monotonic() < deadline, "compliance did not come up"
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def desk(config: BifrostConfig, home: Path, compliance) -> Iterator[BifrostClient]:
    with services_running(config, home, ("data", "portfolio", "execution", "risk")) as bus:
        yield bus


def test_a_frozen_compliance_refuses_its_order_by_name_and_stalls_nobody_else(
    desk: BifrostClient, config: BifrostConfig, compliance: subprocess.Popen[bytes]
) -> None:
    time.sleep(0.3)  # quotes to fill against
    first = SubmitOrder.new("AAPL", "BUY", 1.0).to_wire()
    assert desk.call("risk", methods.ORDER_SUBMIT, first)["status"] == "FILLED"

    os.kill(compliance.pid, signal.SIGSTOP)
    outcome: list[BaseException | dict] = []
    waiting = SubmitOrder.new("AAPL", "BUY", 1.0)

    def send() -> None:
        with BifrostClient(config, timeout_ms=10_000) as own:
            try:
                outcome.append(own.call("risk", methods.ORDER_SUBMIT, waiting.to_wire()))
            except BifrostError as exc:
                outcome.append(exc)

    started = time.monotonic()
    sender = threading.Thread(target=send)
    sender.start()
    try:
        time.sleep(0.2)  # the order is now waiting on compliance
        answered = []
        for _ in range(5):  # other callers of risk are served meanwhile
            asked = time.monotonic()
            desk.call("risk", methods.RISK_STATE, {})
            answered.append(time.monotonic() - asked)
        assert max(answered) < 0.5, answered
        assert not outcome, "the order was answered before compliance's deadline"
        sender.join(10)
    finally:
        os.kill(compliance.pid, signal.SIGCONT)
    waited = time.monotonic() - started
    (error,) = outcome
    assert isinstance(error, Unavailable), error
    assert error.details["hop"] == "compliance" and "compliance" in error.message
    assert 1.5 < waited < 5.0
    ids = {o["client_order_id"] for o in desk.call("execution", methods.ORDERS_LIST, {})["orders"]}
    assert waiting.client_order_id not in ids  # refused before execution heard of it

    again = SubmitOrder.new("AAPL", "SELL", 1.0).to_wire()
    deadline = time.monotonic() + 10
    while True:  # thawed, compliance answers again and the desk trades
        try:
            assert desk.call("risk", methods.ORDER_SUBMIT, again)["status"] == "FILLED"
            break
        except Unavailable:
            assert time.monotonic() < deadline
            time.sleep(0.2)
