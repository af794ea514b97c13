"""`bifrost alert raise`: an operator's alert reaches the bus through risk, or fails
naming why when no service takes it (what systemd's OnFailure= unit runs)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bifrost.bus import topics
from bifrost.client import BifrostClient
from bifrost.config import load_config
from tests.bifrost.conftest import DaemonThread
from tests.cli.test_stack import bifrost
from tests.conftest import write_config

pytestmark = pytest.mark.timeout(60)


def test_an_alert_is_published_on_the_risk_services_alert_topic(tmp_path: Path) -> None:
    config_path, home = write_config(tmp_path, services=("risk", "compliance")), tmp_path / "h"
    config = load_config(config_path)
    thread = DaemonThread(config, home, "risk")
    try:
        thread.start()
        with BifrostClient(config) as client:
            alerts = client.subscribe("risk", [topics.ALERT])
            time.sleep(0.3)  # the subscription is on before the alert goes out
            result = bifrost(
                config_path, home, "alert", "raise", "--source", "systemd",
                "bifrost-data.service failed and gave up restarting", "--json",
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout) == {"service": "risk", "published": "alert.risk"}
            events = []
            deadline = time.monotonic() + 5
            while not events and time.monotonic() < deadline:
                events = alerts.poll(200)
    finally:
        thread.stop()
    body = events[0].body
    assert events[0].topic == "alert.risk" and body["kind"] == "ops"
    assert body["message"] == "systemd: bifrost-data.service failed and gave up restarting"


def test_with_no_service_to_take_it_the_alert_fails_naming_each(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, services=("risk", "compliance"))
    result = bifrost(config_path, tmp_path / "h", "alert", "raise", "data is down")
    assert result.returncode != 0
    text = " ".join(result.stderr.split())
    assert "no service took the alert" in text and "risk:" in text and "compliance:" in text
