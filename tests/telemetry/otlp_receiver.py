"""A small OTLP/HTTP collector on loopback for tests: it keeps every span it is sent.

It speaks the protocol an OpenTelemetry Collector's OTLP/HTTP receiver speaks (POST
/v1/traces, a protobuf `ExportTraceServiceRequest`, answered with an empty
`ExportTraceServiceResponse`), so the daemons' real exporter is what is tested.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SERVER = Span.SpanKind.SPAN_KIND_SERVER
CLIENT = Span.SpanKind.SPAN_KIND_CLIENT
PRODUCER = Span.SpanKind.SPAN_KIND_PRODUCER
CONSUMER = Span.SpanKind.SPAN_KIND_CONSUMER


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the collector got it, with its service's name."""

    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    """The parent span's id, "" for the root of a trace."""
    attributes: dict[str, Any]
    error: bool


class OtlpReceiver:
    """An OTLP/HTTP endpoint on 127.0.0.1 and a free port; `close()` stops it."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.posts: list[str] = []
        """The path of every POST, in order."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL to configure as `otlp_endpoint`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def received(self) -> list[ReceivedSpan]:
        """Every span received so far."""
        with self._lock:
            return list(self.spans)

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _keep(self, path: str, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = []
        for resource_spans in request.resource_spans:
            service = str(_values(resource_spans.resource.attributes).get("service.name"))
            for scope_spans in resource_spans.scope_spans:
                spans += [
                    ReceivedSpan(
                        service,
                        span.name,
                        span.kind,
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                        _values(span.attributes),
                        span.status.code == span.status.STATUS_CODE_ERROR,
                    )
                    for span in scope_spans.spans
                ]
        with self._lock:
            self.posts.append(path)
            self.spans += spans

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                receiver._keep(self.path, body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads what was received, not the access log."""

        return Handler


def _values(attributes: Any) -> dict[str, Any]:
    """OTLP key-values as a plain map (strings, ints, floats and bools)."""
    values: dict[str, Any] = {}
    pair: KeyValue
    for pair in attributes:
        kind = pair.value.WhichOneof("value")
        values[pair.key] = getattr(pair.value, kind) if kind else None
    return values
