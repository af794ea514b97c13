"""The order path risk -> compliance -> execution on real daemons, and the audit trail.

An allowed order fills; a restricted one is REJECTED naming the rule and never reaches
execution; compliance down means no order passes (fail closed); rule changes by RPC
are kept and audited; events lost while compliance was down are recorded from
execution's journal; the chain holds across a restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import BadRequest, Rejected, Unavailable
from bifrost.model.commands import SubmitOrder
from tests.bifrost.conftest import DaemonThread, risk_client, services_running
from tests.conftest import wait_for, write_config

TRADING = ("data", "portfolio", "execution", "risk")
RULES = '[compliance]\nrestricted = ["BTC-USD"]\nwatch = ["MSFT"]\n'


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    return load_config(write_config(tmp_path, services=(*TRADING, "compliance"), extra=RULES))


@pytest.fixture
def bus(config: BifrostConfig, home: Path) -> Iterator[BifrostClient]:
    with services_running(config, home, (*TRADING, "compliance")) as client:
        time.sleep(0.3)  # quotes reach execution, risk and compliance
        yield client


def buy(symbol: str, quantity: float, **extra: Any) -> dict[str, Any]:
    return SubmitOrder.new(symbol, "BUY", quantity, **extra).to_wire()


def kinds(bus: BifrostClient) -> dict[str, int]:
    return dict(bus.call("compliance", "compliance.report", {})["counts"])


def test_allowed_order_fills_and_is_audited(bus: BifrostClient) -> None:
    order = bus.call("risk", "order.submit", buy("AAPL", 10, client_order_id="ok-1"))
    assert order["status"] == "FILLED"
    assert wait_for(lambda: kinds(bus).get("fill") == 1)
    assert kinds(bus)["decision"] == 1
    assert kinds(bus)["order"] >= 3  # SUBMITTED, ACCEPTED, FILLED
    assert bus.call("compliance", "compliance.verify", {})["ok"]


def test_restricted_order_is_rejected_with_its_rule_and_never_reaches_execution(
    bus: BifrostClient,
) -> None:
    with pytest.raises(Rejected, match="restricted list") as caught:
        bus.call("risk", "order.submit", buy("BTC-USD", 1, client_order_id="no-1"))
    assert caught.value.details["rule"] == "restricted"
    assert bus.call("execution", "orders.list", {})["orders"] == []
    hits = bus.call("compliance", "compliance.report", {})["hits"]
    assert [(h["rule"], h["outcome"], h["symbol"]) for h in hits] == [
        ("restricted", "rejected", "BTC-USD")
    ]


def test_watch_hit_passes_and_raises_a_compliance_alert(bus: BifrostClient) -> None:
    alerts = bus.subscribe("compliance", ["alert."])
    try:
        time.sleep(0.2)  # the subscription reaches the publisher
        bus.call("risk", "order.submit", buy("MSFT", 1, client_order_id="w-1"))
        events = wait_for(lambda: alerts.poll(50))
    finally:
        alerts.close()
    assert (events[0].topic, events[0].body["kind"]) == ("alert.compliance", "watch")
    hits = bus.call("compliance", "compliance.report", {})["hits"]
    assert [(h["rule"], h["outcome"]) for h in hits] == [("watch", "allowed")]


def test_rule_change_by_rpc_is_kept_audited_and_applied(
    bus: BifrostClient, config: BifrostConfig, home: Path
) -> None:
    reply = bus.call("compliance", "compliance.set_rule", {"rule": "restricted", "value": "AAPL"})
    assert reply["rules"]["restricted"] == ["AAPL"] and reply["changed"] == ["restricted"]
    with pytest.raises(Rejected):
        bus.call("risk", "order.submit", buy("AAPL", 1))
    records = bus.call("compliance", "compliance.report", {})["records"]
    rule = next(r for r in records if r["kind"] == "rule")
    assert rule["body"] == {"rule": "restricted", "old": ["BTC-USD"], "new": ["AAPL"]}


def test_bad_rule_values_get_a_clear_error_and_change_nothing(bus: BifrostClient) -> None:
    with pytest.raises(BadRequest, match="must be a whole number"):
        bus.call("compliance", "compliance.set_rule", {"rule": "max_orders_per_day", "value": 1.5})
    with pytest.raises(BadRequest, match="no compliance rule 'nope'"):
        bus.call("compliance", "compliance.set_rule", {"rule": "nope", "value": 1})
    assert bus.call("compliance", "compliance.rules", {})["changed"] == []
    assert "rule" not in kinds(bus)


def test_orders_fail_closed_while_compliance_is_down(config: BifrostConfig, home: Path) -> None:
    with services_running(config, home, TRADING) as bus:
        time.sleep(0.3)  # risk has a quote to value the order
        with pytest.raises(Unavailable, match="compliance is not answering"):
            bus.call("risk", "order.submit", buy("AAPL", 1))
        assert bus.call("execution", "orders.list", {})["orders"] == []


def test_events_missed_while_down_are_recorded_once_and_the_chain_survives_restart(
    config: BifrostConfig, home: Path
) -> None:
    with services_running(config, home, TRADING) as bus:
        time.sleep(0.3)
        # Straight to execution, standing in for risk: compliance is not running (risk
        # would refuse the order), so it cannot hear the events.
        with risk_client(config, home) as risk:
            risk.call("execution", "order.submit", buy("AAPL", 5, client_order_id="gap-1"))
        for _ in range(2):
            compliance = DaemonThread(config, home, "compliance")
            compliance.start()
            try:
                counts = kinds(bus)
                verified = bus.call("compliance", "compliance.verify", {})
            finally:
                compliance.stop()
            assert (counts["order"], counts["fill"]) == (3, 1)  # the same after a restart
            assert verified["ok"]


def test_limit_changes_and_the_kill_switch_are_audited(bus: BifrostClient) -> None:
    bus.call("risk", "risk.limits", {"set": {"max_order_quantity": 500}})
    bus.call("risk", "risk.kill", {"reason": "drill"})
    assert wait_for(lambda: {"risk.limits_changed", "risk.state"} <= set(kinds(bus)))
    records = bus.call("compliance", "compliance.report", {})["records"]
    state = next(r for r in records if r["kind"] == "risk.state")
    assert (state["body"]["state"], state["body"]["reason"]) == ("HALTED", "drill")


def test_an_order_crossing_its_own_resting_order_is_a_wash_trade(bus: BifrostClient) -> None:
    sell = SubmitOrder.new("AAPL", "SELL", 5, type="LIMIT", limit_price=195.0).to_wire()
    assert bus.call("risk", "order.submit", sell)["status"] == "ACCEPTED"
    assert wait_for(lambda: bus.health("compliance")["details"]["resting_orders"] == 1)
    crossing = buy("AAPL", 5, type="LIMIT", limit_price=195.5)
    with pytest.raises(Rejected, match="cross own resting SELL") as caught:
        bus.call("risk", "order.submit", crossing)
    assert caught.value.details["rule"] == "wash_trade"
