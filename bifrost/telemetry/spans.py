"""Spans of one daemon's RPC calls, made with the OpenTelemetry SDK and sent over OTLP/HTTP.

Imported only when `[telemetry] otlp_endpoint` is set (see `bifrost.telemetry`). Each
daemon has a TracerProvider of its own, named for its service, rather than the global
one: several daemons may share a process (tests, `bifrost demo`), and a library should
not take over the process's global provider. The current span lives in OpenTelemetry's
context, which is per thread, and each daemon serves from its own loop thread.

A call served is a SERVER span named for its method, the child of the `traceparent` the
request carried (a new trace without one); while its handler runs it is the current
span, so the calls the handler makes are its children. A call made is a CLIENT span,
the child of whatever span is current; its `traceparent` goes into the request. A reply
that comes later (bifrost.bus.pending_calls) ends the CLIENT span, and its callback runs
in the caller's context again, so the next hop of a deferred order is a child of the
same SERVER span.

An event that is an order's hop (its fill) is a PRODUCER span where it is published, the
child of the span its order was entered under, and a CONSUMER span where it is handled;
the event's body carries the PRODUCER span's `traceparent` from one to the other.

The SDK's own warnings (a collector that does not answer) go to the daemon's JSON log
as `telemetry.problem` lines, not as plain text on stderr.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bifrost.bus import methods
from bifrost.logs import JsonLogger
from bifrost.telemetry.config import TelemetryConfig

EXPORT_TIMEOUT_S = 2.0
"""Longest one export to the collector may take, its retries included."""
CLOSE_TIMEOUT_S = 2.0
"""Longest a stopping daemon waits for its last spans to reach the collector."""
QUIET_METHODS = frozenset({methods.HEALTH, methods.READY, methods.METRICS})
"""Probes that supervisors and monitors send every second or so: traced only as part of
a trace that is already under way, never as new traces of their own."""
OK = "OK"

_propagator = TraceContextTextMapPropagator()


class ServerSpan:
    """The span of one call being served: current while its handler runs, ended when its
    reply leaves (later, for a deferred reply)."""

    __slots__ = ("_span",)

    traceparent = None
    """A served call sends nothing on: calls its handler makes carry their own."""

    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def within(self) -> AbstractContextManager[object]:
        """This span is the current one inside the block."""
        return trace.use_span(self._span, end_on_exit=False)

    def end(self, code: str) -> None:
        """End with the reply's code ("OK" or an error code)."""
        _finish(self._span, code)


class ClientSpan:
    """The span of one call made to another service, from its sending to its reply."""

    __slots__ = ("_caller", "_span", "traceparent")

    def __init__(self, span: trace.Span, caller: otel_context.Context) -> None:
        self._span = span
        self._caller = caller
        self.traceparent: str | None = _traceparent_of(span)
        """The W3C trace context the request carries, naming this span as the parent."""

    def within(self) -> AbstractContextManager[object]:
        """The caller's context (the span that was current when the call was made) is
        current again inside the block: where the reply's callback runs."""
        return _attached(self._caller)

    def end(self, code: str) -> None:
        """End with the reply's code ("OK" or an error code)."""
        _finish(self._span, code)


class Untraced:
    """A call that makes no span (a quiet probe): nothing to send, nothing to end."""

    __slots__ = ()

    traceparent = None

    def within(self) -> AbstractContextManager[object]:
        """Nothing changes inside the block."""
        return nullcontext()

    def end(self, code: str) -> None:
        """Nothing to end."""


UNTRACED = Untraced()


class Tracing:
    """One daemon's tracer: spans of the calls it serves and makes, batched to OTLP/HTTP."""

    def __init__(
        self, config: TelemetryConfig, service: str, log: JsonLogger | None = None
    ) -> None:
        self.service = service
        resource = Resource.create({"service.name": config.service_name(service)})
        sampler = ParentBased(TraceIdRatioBased(config.sample_ratio))
        self.provider = TracerProvider(resource=resource, sampler=sampler)
        exporter = OTLPSpanExporter(endpoint=config.traces_url, timeout=EXPORT_TIMEOUT_S)
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("bifrost.bus")
        self._sdk_log = None if log is None else _SdkLog(log)
        if self._sdk_log is not None:
            logging.getLogger("opentelemetry").addHandler(self._sdk_log)

    def serving(
        self, method: str, cid: str, traceparent: str | None, params: dict[str, Any]
    ) -> ServerSpan | Untraced:
        """A SERVER span for a call of `method`, the child of `traceparent` (a new trace
        without one or when it does not parse)."""
        if traceparent is None and method in QUIET_METHODS:
            return UNTRACED
        parent = _context_of(traceparent)
        span = self.tracer.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=_attributes(self.service, method, cid, params),
        )
        return ServerSpan(span)

    def calling(
        self, service: str, method: str, cid: str, params: dict[str, Any]
    ) -> ClientSpan | Untraced:
        """A CLIENT span for a call of `method` at `service`, the child of the current span
        (a new trace when there is none)."""
        caller = otel_context.get_current()
        if method in QUIET_METHODS and not trace.get_current_span(caller).is_recording():
            return UNTRACED
        span = self.tracer.start_span(
            method,
            context=caller,
            kind=SpanKind.CLIENT,
            attributes=_attributes(service, method, cid, params),
        )
        return ClientSpan(span, caller)

    def current_traceparent(self) -> str | None:
        """The W3C traceparent naming the current span; None outside a recording one."""
        span = trace.get_current_span()
        return _traceparent_of(span) if span.is_recording() else None

    @contextmanager
    def producing(
        self, name: str, topic: str, parent: str | None, cid: str, body: dict[str, Any]
    ) -> Iterator[str | None]:
        """A PRODUCER span for an event about an order published on `topic`, the child of
        `parent` (a new trace without one). Yields the traceparent the event carries, so
        the services that handle it continue the order's trace."""
        span = self.tracer.start_span(
            name,
            context=_context_of(parent),
            kind=SpanKind.PRODUCER,
            attributes=_event_attributes(self.service, "publish", topic, cid, body),
        )
        try:
            yield _traceparent_of(span)
        finally:
            _finish(span, OK)

    @contextmanager
    def consuming(
        self, name: str, topic: str, traceparent: str, cid: str, body: dict[str, Any]
    ) -> Iterator[None]:
        """A CONSUMER span, current inside the block, for handling an event that carried
        `traceparent`; it ends in error when the block raises."""
        span = self.tracer.start_span(
            name,
            context=_context_of(traceparent),
            kind=SpanKind.CONSUMER,
            attributes=_event_attributes(self.service, "process", topic, cid, body),
        )
        code = "INTERNAL"
        try:
            with trace.use_span(span, end_on_exit=False):
                yield
            code = OK
        finally:
            _finish(span, code)

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        """Send the spans still waiting and stop; gives up after `timeout_s` (a collector
        that is down must not hold a stopping daemon). True when it finished in time; an
        export the collector refused is the SDK's to report (`telemetry.problem`)."""
        closing = threading.Thread(
            target=self.provider.shutdown, name=f"otel-close-{self.service}", daemon=True
        )
        closing.start()
        closing.join(timeout_s)
        if closing.is_alive():
            return False  # its log handler stays for what the export still has to say
        if self._sdk_log is not None:
            logging.getLogger("opentelemetry").removeHandler(self._sdk_log)
        return True


class _SdkLog(logging.Handler):
    """The SDK's warnings and errors as the daemon's JSON log lines."""

    def __init__(self, log: JsonLogger) -> None:
        super().__init__(logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning"
        error = record.exc_info[1] if record.exc_info else None
        details = {"error": f"{type(error).__name__}: {error}"} if error else {}
        self._log.log(level, "telemetry.problem", message=record.getMessage(), **details)


def _attributes(service: str, method: str, cid: str, params: dict[str, Any]) -> dict[str, str]:
    """What a span of a call says: the service called, the method, the correlation id and
    the order's client id when the call is about one order."""
    attributes = {"rpc.system": "bifrost", "rpc.service": service, "rpc.method": method}
    if cid:
        attributes["bifrost.cid"] = cid
    client_order_id = params.get("client_order_id")
    if type(client_order_id) is str:
        attributes["bifrost.client_order_id"] = client_order_id
    return attributes


def _event_attributes(
    service: str, operation: str, topic: str, cid: str, body: dict[str, Any]
) -> dict[str, str]:
    """What a span of an event says: the service, publish or process, the topic, the
    correlation id, and the order and trade the event is about."""
    attributes = {
        "messaging.system": "bifrost",
        "messaging.operation": operation,
        "messaging.destination.name": topic,
        "bifrost.service": service,
    }
    if cid:
        attributes["bifrost.cid"] = cid
    for field in ("client_order_id", "trade_id"):
        if type(body.get(field)) is str:
            attributes[f"bifrost.{field}"] = body[field]
    return attributes


def _context_of(traceparent: str | None) -> otel_context.Context:
    """The context whose parent is `traceparent`; an empty one (a new trace) without one
    or when it does not parse."""
    return _propagator.extract({"traceparent": traceparent} if traceparent else {})


def _traceparent_of(span: trace.Span) -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, trace.set_span_in_context(span))
    return carrier.get("traceparent")


def _finish(span: trace.Span, code: str) -> None:
    span.set_attribute("bifrost.code", code)
    if code != OK:
        span.set_status(Status(StatusCode.ERROR, code))
    span.end()


@contextmanager
def _attached(context: otel_context.Context) -> Iterator[None]:
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)
