"""A daemon's /metrics page parses as Prometheus text and has what operators graph."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from bifrost.bus.rpc import RpcClient
from bifrost.daemon import Daemon


def test_metrics_page_parses_and_holds_latency_counters_queues_and_process(
    data_daemon: Daemon, zmq_ctx
) -> None:
    client = RpcClient(zmq_ctx, data_daemon.spec.rpc)
    client.call("health", idempotent=True)
    client.call("ready", idempotent=True)
    url = f"http://127.0.0.1:{data_daemon.spec.http_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        page = response.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(page)}
    latency = families["bifrost_rpc_latency_seconds"]
    assert latency.type == "histogram"
    assert {s.labels.get("method") for s in latency.samples} >= {"health", "ready"}
    for name in (
        "bifrost_messages_in",
        "bifrost_messages_out",
        "bifrost_bad_frames",
        "bifrost_rpc_requests",
    ):
        assert families[name].type == "counter", name
    assert "bifrost_queue_depth" in families
    assert "process_cpu_seconds" in families and "process_resident_memory_bytes" in families
