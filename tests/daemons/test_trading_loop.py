"""The trading loop on real daemons: order -> risk -> execution -> paper fill -> portfolio."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import Rejected
from bifrost.model.commands import SubmitOrder
from tests.bifrost.conftest import services_running
from tests.conftest import wait_for, write_config

SERVICES = ("data", "portfolio", "execution", "risk")


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    return load_config(write_config(tmp_path, services=SERVICES))


@pytest.fixture
def bus(config: BifrostConfig, home: Path) -> Iterator[BifrostClient]:
    """The services serving from threads, started in order; stopped in reverse."""
    with services_running(config, home, SERVICES) as client:
        time.sleep(0.3)  # quotes reach execution and risk

        yield client


def buy(symbol: str, quantity: float, **extra: Any) -> dict[str, Any]:
    return SubmitOrder.new(symbol, "BUY", quantity, **extra).to_wire()


def position(bus: BifrostClient, symbol: str) -> float:
    rows = bus.call("portfolio", "portfolio.positions", {})["positions"]
    return next((p["quantity"] for p in rows if p["symbol"] == symbol), 0.0)


def test_market_order_fills_and_lands_in_portfolio(bus: BifrostClient) -> None:
    order = bus.call(
        "risk", "order.submit", buy("AAPL", 100, client_order_id="loop-1"), cid="trace-loop-1"
    )
    assert (order["status"], order["filled"]) == ("FILLED", 100)
    assert wait_for(lambda: position(bus, "AAPL") == 100)
    pnl = bus.call("portfolio", "portfolio.pnl", {})
    cash = float(pnl["cash"]["USD"])
    assert cash == pytest.approx(100_000 - 100 * order["avg_price"])
    events = bus.call("execution", "order.events", {"cid": "trace-loop-1"})["events"]
    assert [e["status"] for e in events] == ["SUBMITTED", "ACCEPTED", "FILLED"]


def test_risk_rejects_and_nothing_reaches_execution(bus: BifrostClient) -> None:
    with pytest.raises(Rejected, match="exceeds the limit") as caught:
        bus.call("risk", "order.submit", buy("AAPL", 1_000_000, client_order_id="too-big"))
    assert caught.value.details["rule"] == "max_order_quantity"
    assert bus.call("execution", "orders.list", {})["orders"] == []


def test_concurrent_retries_with_one_client_id_make_one_order(
    bus: BifrostClient, config: BifrostConfig
) -> None:
    replies: list[dict[str, Any]] = []

    def send() -> None:
        with BifrostClient(config, timeout_ms=5000) as client:
            spec = buy("MSFT", 10, client_order_id="dup-1", type="LIMIT", limit_price=415.0)
            replies.append(client.call("risk", "order.submit", spec, idempotent=True))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(replies) == 8
    assert {r["client_order_id"] for r in replies} == {"dup-1"}
    orders = bus.call("execution", "orders.list", {})["orders"]
    assert [o["client_order_id"] for o in orders] == ["dup-1"]


def test_kill_switch_cancels_open_orders_within_a_second(bus: BifrostClient) -> None:
    for i in range(5):
        bus.call(
            "risk",
            "order.submit",
            buy("MSFT", 10, client_order_id=f"rest-{i}", type="LIMIT", limit_price=410.0),
        )
    started = time.monotonic()
    reply = bus.call("risk", "risk.kill", {"reason": "test"})
    open_orders = bus.call("execution", "orders.list", {"open_only": True})["orders"]
    elapsed = time.monotonic() - started
    assert sorted(reply["canceled"]) == [f"rest-{i}" for i in range(5)]
    assert open_orders == [] and elapsed < 1.0
    with pytest.raises(Rejected, match="halted"):
        bus.call("risk", "order.submit", buy("MSFT", 1))
    bus.call("risk", "risk.resume", {})
    assert bus.call("risk", "order.submit", buy("MSFT", 1))["status"] == "FILLED"


def test_reducing_state_allows_only_orders_that_shrink_the_position(bus: BifrostClient) -> None:
    bus.call("risk", "order.submit", buy("AAPL", 100))
    wait_for(lambda: bus.call("risk", "risk.state", {})["positions"].get("AAPL") == 100)
    bus.call("risk", "risk.reduce", {})
    with pytest.raises(Rejected, match="only orders that reduce"):
        bus.call("risk", "order.submit", buy("AAPL", 10))
    sold = bus.call("risk", "order.submit", SubmitOrder.new("AAPL", "SELL", 40.0).to_wire())
    assert sold["status"] == "FILLED"
