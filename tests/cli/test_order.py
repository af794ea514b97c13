"""`bifrost order buy|replace|cancel` against real daemons: all go through risk.

A resting 5-share limit buy replaced into 6,000 shares breaks the quantity limit: the
command exits 4 naming the rule and the order is unchanged. A replace within the
limits and a cancel succeed. The CLI mints client ids itself, and a bad argument fails
before anything is sent.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bifrost.client import BifrostClient
from bifrost.config import load_config
from tests.bifrost.conftest import services_running
from tests.cli.test_stack import bifrost
from tests.conftest import write_config

pytestmark = pytest.mark.timeout(120)

SERVICES = ("data", "portfolio", "execution", "risk", "compliance")
LIMITS = "[risk]\nmax_order_quantity = 1000.0\n"


def resting_price(bus: BifrostClient) -> float:
    """A limit buy price below AAPL's bid yet inside risk's price collar."""
    time.sleep(0.3)  # risk has a quote for the collar
    quote = bus.call("data", "snapshot", {"prefix": "quote.AAPL"})["topics"]["quote.AAPL"]
    return float(quote["body"]["bid"]) * 0.98


def test_order_replace_past_a_limit_exits_4_and_leaves_the_order(
    tmp_path: Path, home: Path
) -> None:
    config_path = write_config(tmp_path, services=SERVICES, extra=LIMITS)
    with services_running(load_config(config_path), home, SERVICES) as bus:
        price = f"{resting_price(bus):.2f}"
        placed = bifrost(
            config_path, home, "order", "buy", "AAPL", "5", "--limit", price,
            "--client-id", "cli-1", "--json",
        )  # fmt: skip
        assert placed.returncode == 0, placed.stderr
        before = json.loads(placed.stdout)

        refused = bifrost(config_path, home, "order", "replace", "cli-1", "--qty", "6000", "--json")
        assert refused.returncode == 4, refused.stderr
        error = json.loads(refused.stdout)["error"]
        assert (error["code"], error["details"]["rule"]) == ("REJECTED", "max_order_quantity")
        after = bus.call("execution", "order.get", {"client_order_id": "cli-1"})
        keys = ("quantity", "status", "filled")
        assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
        # The CLI writes prices as exact decimal text; the service keeps the float.
        assert before["limit_price"] == price
        assert Decimal(str(after["limit_price"])) == Decimal(before["limit_price"])

        replaced = bifrost(config_path, home, "order", "replace", "cli-1", "--qty", "6", "--json")
        assert replaced.returncode == 0, replaced.stderr
        new_id = json.loads(replaced.stdout)["client_order_id"]
        assert new_id != "cli-1" and new_id.startswith("o-")  # minted by the CLI
        canceled = bifrost(config_path, home, "order", "cancel", new_id, "--json")
        assert canceled.returncode == 0, canceled.stderr
        order = bus.call("execution", "order.get", {"client_order_id": new_id})
        assert order["status"] == "CANCELED"


def test_order_replace_takes_the_new_client_id_given(tmp_path: Path, home: Path) -> None:
    config_path = write_config(tmp_path, services=SERVICES)
    with services_running(load_config(config_path), home, SERVICES) as bus:
        price = resting_price(bus)
        placed = bifrost(
            config_path, home, "order", "buy", "AAPL", "5", "--limit", f"{price:.2f}",
            "--client-id", "cli-2", "--json",
        )  # fmt: skip
        assert placed.returncode == 0, placed.stderr
        replaced = bifrost(
            config_path, home, "order", "replace", "cli-2", "--limit", f"{price - 0.01:.2f}",
            "--new-client-id", "cli-2b", "--json",
        )  # fmt: skip
        assert replaced.returncode == 0, replaced.stderr
        assert json.loads(replaced.stdout)["client_order_id"] == "cli-2b"
        old = bus.call("execution", "order.get", {"client_order_id": "cli-2"})
        assert old["status"] == "CANCELED"


def test_order_buy_without_client_id_sends_one_minted_here(tmp_path: Path, home: Path) -> None:
    config_path = write_config(tmp_path, services=SERVICES)
    with services_running(load_config(config_path), home, SERVICES) as bus:
        placed = bifrost(config_path, home, "order", "buy", "AAPL", "2", "--json")
        assert placed.returncode == 0, placed.stderr
        client_id = json.loads(placed.stdout)["client_order_id"]
        assert client_id.startswith("o-")
        events = bus.call("execution", "order.events", {"client_order_id": client_id})["events"]
        assert events


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("buy", "AAPL", "0"), "quantity"),
        (("buy", "AAPL", "nan"), "quantity"),
        (("sell", "AAPL", "3", "--limit", "0"), "limit_price"),
        (("buy", "AAPL", "3", "--take-profit", "200"), "stop_loss"),
        (("buy", "AAPL", "3", "--tif", "SOMETIMES"), "tif"),
        (("buy", " ", "3"), "symbol"),
        (("replace", "cli-1", "--qty", "-1"), "quantity"),
        (("replace", "cli-1", "--new-client-id", "cli-1"), "new_client_order_id"),
    ],
)
def test_order_bad_argument_fails_before_anything_is_sent(
    tmp_path: Path, home: Path, arguments: tuple[str, ...], field: str
) -> None:
    # No service runs: the command must fail on its argument, not on reaching risk.
    config_path = write_config(tmp_path, services=SERVICES)
    refused = bifrost(config_path, home, "order", *arguments, "--json")
    assert refused.returncode == 1, refused.stderr
    error = json.loads(refused.stdout)["error"]
    assert (error["code"], error["details"]["field"]) == ("BAD_REQUEST", field)
