"""`bifrost order replace|cancel` against real daemons: both go through risk.

A resting 5-share limit buy replaced into 6,000 shares breaks the quantity limit: the
command exits 4 naming the rule and the order is unchanged. A replace within the
limits and a cancel succeed.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bifrost.config import load_config
from tests.bifrost.conftest import services_running
from tests.cli.test_stack import bifrost
from tests.conftest import write_config

pytestmark = pytest.mark.timeout(120)

SERVICES = ("data", "portfolio", "execution", "risk", "compliance")
LIMITS = "[risk]\nmax_order_quantity = 1000.0\n"


def test_order_replace_past_a_limit_exits_4_and_leaves_the_order(
    tmp_path: Path, home: Path
) -> None:
    config_path = write_config(tmp_path, services=SERVICES, extra=LIMITS)
    with services_running(load_config(config_path), home, SERVICES) as bus:
        time.sleep(0.3)  # risk has a quote for the collar
        quote = bus.call("data", "snapshot", {"prefix": "quote.AAPL"})["topics"]["quote.AAPL"]
        price = f"{quote['body']['bid'] * 0.98:.2f}"
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
        assert json.loads(replaced.stdout)["client_order_id"] == "cli-1.r"
        canceled = bifrost(config_path, home, "order", "cancel", "cli-1.r", "--json")
        assert canceled.returncode == 0, canceled.stderr
        order = bus.call("execution", "order.get", {"client_order_id": "cli-1.r"})
        assert order["status"] == "CANCELED"
