"""A strategy started on the strategy daemon trades on the live synthetic feed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import NotFound
from tests.bifrost.conftest import services_running
from tests.conftest import wait_for, write_config

SERVICES = ("data", "portfolio", "execution", "risk", "strategy")
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    path = write_config(tmp_path, services=SERVICES)
    text = path.read_text().replace(
        "quotes_per_second = 100", 'quotes_per_second = 100\nbar_timeframes = ["1s"]'
    )
    path.write_text(text)
    return load_config(path)


@pytest.fixture
def bus(config: BifrostConfig, home: Path) -> Iterator[BifrostClient]:
    """The services serving from threads, started in order; stopped in reverse."""
    with services_running(config, home, SERVICES) as client:
        yield client


def test_live_sma_cross_on_one_second_bars_sends_orders_through_risk(bus) -> None:
    started = bus.call(
        "strategy",
        "strategy.start",
        {
            "name": "sma_cross",
            "symbols": ["AAPL"],
            "timeframe": "1s",
            "params": {"fast": 2, "slow": 3},
            "capital": 20_000.0,
        },
    )
    strategy_id = started["id"]

    def summary() -> dict[str, Any]:
        rows = bus.call("strategy", "strategy.list")["strategies"]
        return next(r for r in rows if r["id"] == strategy_id)

    wait_for(lambda: summary()["orders"] >= 2, timeout=40, every=0.2)
    orders = bus.call("execution", "orders.list", {})["orders"]
    mine = [o for o in orders if o["strategy_id"] == strategy_id]
    ids = [o["client_order_id"] for o in mine]
    assert mine and len(set(ids)) == len(ids)  # minted by the runner, one per order
    assert summary()["last_error"] == ""
    stopped = bus.call("strategy", "strategy.stop", {"strategy_id": strategy_id})
    assert stopped["state"] == "stopped"
    count = summary()["orders"]
    time.sleep(2.5)
    assert summary()["orders"] == count


def test_kill_switch_stops_live_strategies(bus) -> None:
    started = bus.call(
        "strategy",
        "strategy.start",
        {"name": "rsi_reversion", "symbols": ["MSFT"], "timeframe": "1s"},
    )
    reply = bus.call("risk", "risk.kill", {})
    assert reply["strategies_stopped"] == [started["id"]]
    assert reply["seconds"] < 1.0
    rows = bus.call("strategy", "strategy.list")["strategies"]
    assert [r["state"] for r in rows] == ["stopped"]
    bus.call("risk", "risk.resume", {})


def test_start_unknown_strategy_is_not_found(bus) -> None:
    with pytest.raises(NotFound, match="nope"):
        bus.call("strategy", "strategy.start", {"name": "nope", "symbols": ["AAPL"]})
