"""A service's metrics page: latency buckets for long calls, every bad-frame reason from
the start, and one start time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import bifrost
from bifrost.metrics import BAD_FRAME_REASONS, ServiceMetrics

pytestmark = pytest.mark.timeout(30)


def page(metrics: ServiceMetrics) -> dict:
    families = text_string_to_metric_families(metrics.render().decode())
    return {family.name: family for family in families}


def test_a_call_answered_after_45_seconds_lands_below_the_60_second_bucket() -> None:
    metrics = ServiceMetrics("strategy")
    metrics.request_served("backtest.run", "OK", 45.0)
    metrics.request_served("health", "OK", 0.0002)
    buckets = {
        (s.labels["method"], s.labels["le"]): s.value
        for s in page(metrics)["bifrost_rpc_latency_seconds"].samples
        if s.name.endswith("_bucket")
    }
    assert buckets[("backtest.run", "30.0")] == 0
    assert buckets[("backtest.run", "60.0")] == 1
    assert buckets[("health", "0.00025")] == 1


def test_every_bad_frame_reason_is_exported_at_zero_before_the_first() -> None:
    samples = page(ServiceMetrics("data"))["bifrost_bad_frames"].samples
    assert {s.labels["reason"]: s.value for s in samples} == dict.fromkeys(BAD_FRAME_REASONS, 0)


def test_the_start_time_is_exported_once_by_the_process_collector() -> None:
    names = page(ServiceMetrics("data")).keys()
    assert [name for name in names if "start_time" in name] == ["process_start_time_seconds"]


def test_every_reason_the_code_counts_is_in_the_exported_list() -> None:
    counted = set()
    for path in Path(bifrost.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "bad_frame"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                counted.add(node.args[0].value)
    assert counted == set(BAD_FRAME_REASONS)
