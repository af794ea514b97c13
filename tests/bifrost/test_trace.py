"""`trace_hops` over real daemons: every hop of an order, compliance included, in causal order."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.logs import JsonLogger
from bifrost.trace import trace_hops
from tests.bifrost.conftest import services_running
from tests.conftest import write_config

SERVICES = ("data", "portfolio", "execution", "risk", "compliance")
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def bus(tmp_path: Path, home: Path) -> Iterator[BifrostClient]:
    """The order path serving from threads; the config logs warnings only."""
    config: BifrostConfig = load_config(write_config(tmp_path, services=SERVICES))
    assert config.site.log_level == "warning"
    with services_running(config, home, SERVICES) as client:
        time.sleep(0.3)  # quotes reach execution and risk
        yield client


def test_trace_of_an_allowed_order_has_risk_then_compliance_then_execution(
    bus: BifrostClient, home: Path
) -> None:
    order = {"symbol": "AAPL", "side": "BUY", "quantity": 10, "client_order_id": "traced-1"}
    assert bus.call("risk", "order.submit", order, cid="cid-traced-1")["status"] == "FILLED"
    hops = trace_hops(bus, home, "traced-1")
    events = [(hop["service"], hop["event"]) for hop in hops]
    assert ("compliance", "compliance.allowed") in events
    passed = events.index(("risk", "risk.passed"))
    allowed = events.index(("compliance", "compliance.allowed"))
    submitted = events.index(("execution", "journal.submitted"))
    assert passed < allowed < submitted


def test_trace_hops_in_the_same_microsecond_follow_the_order_path(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    stamp = "2025-01-02T10:00:00.000001+00:00"
    for service in ("execution", "compliance", "risk"):  # written in the wrong order
        line = f'{{"ts": "{stamp}", "service": "{service}", "event": "{service}.hop", '
        (folder / f"{service}.log").write_text(line + '"cid": "c1"}\n')
    config = load_config(write_config(tmp_path))  # nothing runs: the logs are read
    with BifrostClient(config, timeout_ms=300, retries=0) as client:
        hops = trace_hops(client, tmp_path, "c1")
    assert [hop["service"] for hop in hops] == ["risk", "compliance", "execution"]


def test_logger_below_its_threshold_remembers_cid_lines_for_tracing() -> None:
    stream = io.StringIO()
    log = JsonLogger("risk", "local", level="warning", stream=stream)
    log.info("risk.passed", "c1", symbol="AAPL")
    log.info("risk.heartbeat")
    assert stream.getvalue() == ""
    assert [record["event"] for record in log.with_cid("c1")] == ["risk.passed"]
