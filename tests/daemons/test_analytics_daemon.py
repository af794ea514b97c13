"""The analytics daemon on real services: a live report with costs, stored and published."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bifrost.bus import topics
from bifrost.config import load_config
from bifrost.errors import NotFound
from tests.bifrost.conftest import risk_client, services_running
from tests.conftest import wait_for, write_config

SERVICES = ("data", "portfolio", "execution", "analytics")


def order(client_id: str, side: str, quantity: float) -> dict:
    return {"client_order_id": client_id, "symbol": "AAPL", "side": side, "quantity": quantity}


def test_live_report_is_built_stored_and_published(tmp_path: Path, home: Path) -> None:
    config = load_config(write_config(tmp_path, services=SERVICES))
    with services_running(config, home, SERVICES) as bus:
        health = bus.call("analytics", "health")
        assert health["state"] == "ready" and health["details"] == {"reports_built": 0}
        reports = bus.subscribe("analytics", [topics.prefix(topics.REPORT)])
        try:
            time.sleep(0.3)  # quotes reach execution; the subscription is joined
            with risk_client(config, home) as risk:  # no risk service in this deployment
                risk.call("execution", "order.submit", order("a-1", "BUY", 100))
                risk.call("execution", "order.submit", order("a-2", "SELL", 40))
            time.sleep(1.2)  # the data service writes recorded quotes once a second
            report = bus.call("analytics", "analytics.report", {"subject": "live"})
            events = wait_for(lambda: reports.poll(100))
        finally:
            reports.close()
        assert report["kind"] == "live" and report["summary"]["points"] >= 1
        assert report["trades"]["trades"] == 1  # 40 of the 100 bought were sold
        costs = report["tca"]["summary"]
        assert costs["fills"] == 2 and costs["fills_with_arrival"] == 2
        assert costs["shortfall_bps"] is not None and costs["slippage_bps"] > 0  # half spread
        assert report["exposure"]["positions"][0]["quantity"] == 60
        assert events[0].topic == topics.report("live")
        assert events[0].body["report_id"] == report["report_id"]
        stored = bus.call("analytics", "analytics.list", {})["reports"]
        assert [r["report_id"] for r in stored] == [report["report_id"]]
        shown = bus.call("analytics", "analytics.show", {"report_id": report["report_id"]})
        assert shown["tca"] == report["tca"]
        with pytest.raises(NotFound, match="no run 'nope'"):
            bus.call("analytics", "analytics.report", {"subject": "nope"})
        assert bus.call("analytics", "health")["state"] == "ready"
