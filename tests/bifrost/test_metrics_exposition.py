"""Every daemon's /metrics page parses as Prometheus text and has what operators graph."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import daemons
from bifrost.client import BifrostClient
from bifrost.config import load_config
from bifrost.local_config import write_local_config
from bifrost.metrics import BAD_FRAME_REASONS
from tests.bifrost.conftest import DaemonThread

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("service", sorted(daemons.DAEMONS))
def test_metrics_page_parses_and_holds_latency_counters_queues_and_process(
    service: str, tmp_path: Path
) -> None:
    config = load_config(write_local_config(tmp_path, (service,)))
    home = tmp_path / "home"
    home.mkdir()
    runner = DaemonThread(config, home, service)
    try:
        runner.start()
        with BifrostClient(config, timeout_ms=5000) as client:
            client.call(service, "health")
            client.call(service, "ready")
        url = f"http://127.0.0.1:{config.service(service).http_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            page = response.read().decode()
    finally:
        runner.stop()
    families = {f.name: f for f in text_string_to_metric_families(page)}
    latency = families["bifrost_rpc_latency_seconds"]
    assert latency.type == "histogram"
    assert {s.labels.get("method") for s in latency.samples} >= {"health", "ready"}
    for name in (
        "bifrost_messages_in",
        "bifrost_messages_out",
        "bifrost_bad_frames",
        "bifrost_rpc_requests",
        "bifrost_handler_errors",
    ):
        assert families[name].type == "counter", name
    assert "bifrost_queue_depth" in families
    assert "process_cpu_seconds" in families and "process_resident_memory_bytes" in families
    bad = {s.labels["reason"]: s.value for s in families["bifrost_bad_frames"].samples}
    assert bad == dict.fromkeys(BAD_FRAME_REASONS, 0)
    assert [name for name in families if "start_time" in name] == ["process_start_time_seconds"]
