"""Prometheus metrics of one service: bus traffic, bad frames, RPC latency, handler errors.

Hot-path counters (events published, frames received) are plain integers on the
bus objects; they are read only when /metrics is scraped, so counting costs the
publisher nothing. Served requests are counted the same way: per method and code a
plain integer, and per method a latency histogram kept as a list of bucket counts
and a sum; Prometheus families are built from them at scrape time (prometheus_client's
own counter and histogram took a lock and a check per increment, on every request).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

disable_created_metrics()  # `_created` samples double the page and nobody graphs them

RPC_BUCKETS = (
    0.0001, 0.00025, 0.0005,
    0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05,
    0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
    10.0, 30.0, 60.0,
)  # fmt: skip
"""Upper bounds of the RPC latency buckets: from a 100 µs health check to a backtest or a
training run answered after a minute."""

BAD_FRAME_REASONS = (
    "frame_count",  # an RPC message without the frames a request has
    "decode",  # bytes that are not a valid request
    "rate_limited",  # over the client's request rate
    "reply_dropped",  # a reply dropped because the client's queue was full
    "unauthenticated",  # a handshake refused by CURVE or ZAP
    "forbidden",  # a request its caller's role or identity may not make
)
"""Every reason `bifrost_bad_frames_total` counts; each is exported from the start, at 0,
so a rate or an alert on a reason works before the first such frame."""


class _LiveCounters(Collector):
    """Exposes integer attributes of live objects as Prometheus counters at scrape time."""

    def __init__(self) -> None:
        self._sources: list[tuple[str, str, dict[str, str], Callable[[], float]]] = []

    def add(self, name: str, doc: str, labels: dict[str, str], read: Callable[[], float]) -> None:
        self._sources.append((name, doc, labels, read))

    def collect(self) -> Iterator[Metric]:
        families: dict[str, CounterMetricFamily] = {}
        for name, doc, labels, read in self._sources:
            family = families.get(name)
            if family is None:
                family = families[name] = CounterMetricFamily(name, doc, labels=list(labels))
            family.add_metric(list(labels.values()), read())
        yield from families.values()


class _ServedRequests(Collector):
    """Requests answered, by method and code, and their latency by method: plain numbers
    updated on the loop thread and turned into Prometheus families when scraped."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self.latency: dict[str, list[float]] = {}
        """Method -> one count per bucket of RPC_BUCKETS, one for +Inf, then the sum."""

    def observe(self, method: str, code: str, seconds: float) -> None:
        """One answered request."""
        counts = self.counts
        key = (method, code)
        counts[key] = counts.get(key, 0) + 1
        latency = self.latency.get(method)
        if latency is None:
            latency = self.latency[method] = [0.0] * (len(RPC_BUCKETS) + 2)
        latency[bisect_left(RPC_BUCKETS, seconds)] += 1  # `le` bounds are inclusive
        latency[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        # Copies first: the loop thread may add a series while this scrape runs.
        requests = CounterMetricFamily(
            "bifrost_rpc_requests",
            "RPC requests answered, by method and reply code",
            labels=["method", "code"],
        )
        for (method, code), count in list(self.counts.items()):
            requests.add_metric([method, code], count)
        latency = HistogramMetricFamily(
            "bifrost_rpc_latency_seconds",
            "Time from reading a request to sending its reply",
            labels=["method"],
        )
        bounds = [floatToGoString(bound) for bound in RPC_BUCKETS] + ["+Inf"]
        for method, values in list(self.latency.items()):
            values = list(values)
            cumulative = 0.0
            buckets: list[tuple[str, float]] = []
            for bound, observed in zip(bounds, values, strict=False):
                cumulative += observed
                buckets.append((bound, cumulative))
            latency.add_metric([method], buckets, values[-1])
        yield requests
        yield latency


class ServiceMetrics:
    """The metric registry of one daemon; rendered as Prometheus text on /metrics."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self._live = _LiveCounters()
        self.registry.register(self._live)
        self._served = _ServedRequests()
        self.registry.register(self._served)
        self.request_served = self._served.observe
        """RpcObserver: one answered request (method, code, seconds)."""
        self.bad_frames = Counter(
            "bifrost_bad_frames",
            "Frames refused before reaching a handler, by reason",
            ["reason"],
            registry=self.registry,
        )
        for reason in BAD_FRAME_REASONS:
            self.bad_frames.labels(reason)
        self.handler_errors = Counter(
            "bifrost_handler_errors",
            "Handlers that raised an unexpected exception",
            ["method"],
            registry=self.registry,
        )
        self.ready = Gauge("bifrost_ready", "1 when the service is ready", registry=self.registry)
        self.queue_depth = Gauge(
            "bifrost_queue_depth",
            "Work waiting for the loop thread, by queue",
            ["queue"],
            registry=self.registry,
        )
        # CPU, memory, open files and process_start_time_seconds (the service's start time)
        ProcessCollector(registry=self.registry)

    def count_live(self, name: str, doc: str, read: Callable[[], float], **labels: str) -> None:
        """Expose a counter whose value is read from a live object at scrape time."""
        self._live.add(name, doc, labels, read)

    def bad_frame(self, reason: str) -> None:
        """RpcObserver: one refused frame."""
        self.bad_frames.labels(reason).inc()

    def handler_failed(self, method: str) -> None:
        """RpcObserver: one handler crash (answered INTERNAL)."""
        self.handler_errors.labels(method).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def totals(self) -> dict[str, float]:
        """Every sample summed over its labels: a compact view for the `metrics` RPC."""
        out: dict[str, float] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name.endswith(("_created", "_bucket")):
                    continue
                out[sample.name] = out.get(sample.name, 0.0) + sample.value
        return out
