"""Tracing with OpenTelemetry, for the tools traders' and operators' desks already read.

Every daemon makes spans of the calls it serves and makes (bifrost.telemetry.spans) and
sends them over OTLP/HTTP when `[telemetry] otlp_endpoint` is set; the W3C
`traceparent` in each request ties the hops of one order together across services and
hosts. Off by default, and then free: `start_tracing` returns None without importing
OpenTelemetry, and the bus skips every tracing step on a None. `bifrost trace ID`
(bifrost.trace) needs none of this: it reads the journal and the logs by cid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bifrost.telemetry.config import TelemetryConfig

TRACEPARENT = "traceparent"
"""The field of an event body (a fill) that carries the W3C trace context of its hop."""

if TYPE_CHECKING:
    from bifrost.logs import JsonLogger
    from bifrost.telemetry.spans import Tracing


def start_tracing(
    config: TelemetryConfig, service: str, log: JsonLogger | None = None
) -> Tracing | None:
    """`service`'s tracer when telemetry is configured, else None (nothing imported).
    `log` gets the SDK's own warnings (a collector that does not answer)."""
    if not config.enabled:
        return None
    from bifrost.telemetry.spans import Tracing

    return Tracing(config, service, log)
