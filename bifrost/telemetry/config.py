"""The `[telemetry]` config section: where OpenTelemetry spans go, if anywhere.

Off by default. With no `otlp_endpoint` a daemon imports nothing of OpenTelemetry and
its RPC path does no tracing work. With one, each daemon sends its spans over OTLP/HTTP
(protobuf) to that collector: `http://127.0.0.1:4318` is where an OpenTelemetry
Collector (or Jaeger, Tempo, ...) on the same machine usually listens, and spans go to
its `/v1/traces`. As on the bus, plain http is for loopback only: spans name orders and
accounts, so a collector on another machine is reached over https.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from bifrost.errors import BadRequest
from bifrost.research.config import is_loopback

TRACES_PATH = "/v1/traces"
"""The OTLP/HTTP path of spans, added to the endpoint unless it already ends with it."""


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    """Tracing with OpenTelemetry: off unless a collector is named."""

    otlp_endpoint: str | None = None
    """The collector's OTLP/HTTP URL (`http://127.0.0.1:4318`; https off loopback);
    unset: no spans are made."""
    service_name_prefix: str = "bifrost"
    """Each daemon reports as `PREFIX-SERVICE` (`bifrost-risk`), its OpenTelemetry
    service.name."""
    sample_ratio: float = 1.0
    """Share of new traces kept (0 to 1); a call that arrives traced follows its caller's
    choice, so a trace is kept whole or not at all."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.sample_ratio <= 1.0:
            raise BadRequest(f"sample_ratio {self.sample_ratio} must be between 0 and 1")
        if not self.service_name_prefix.strip():
            raise BadRequest("service_name_prefix must not be empty")
        if self.otlp_endpoint is not None:
            check_endpoint(self.otlp_endpoint)

    @property
    def enabled(self) -> bool:
        """True when spans are made and sent."""
        return self.otlp_endpoint is not None

    @property
    def traces_url(self) -> str:
        """The URL spans are posted to: the endpoint with `/v1/traces` (unless it has it)."""
        assert self.otlp_endpoint is not None, "tracing is off"
        base = self.otlp_endpoint.rstrip("/")
        return base if base.endswith(TRACES_PATH) else base + TRACES_PATH

    def service_name(self, service: str) -> str:
        """The OpenTelemetry service.name of a daemon: `bifrost-risk`."""
        return f"{self.service_name_prefix}-{service}"

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready view."""
        return asdict(self)


def check_endpoint(endpoint: str) -> None:
    """BadRequest unless `endpoint` is an http(s) URL with a host, http only to loopback."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as exc:
        raise BadRequest(f"otlp_endpoint '{endpoint}' is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(
            f"otlp_endpoint '{endpoint}' must be an http:// or https:// URL with a host "
            "(an OTLP/HTTP collector, such as http://127.0.0.1:4318)"
        )
    if parts.query or parts.fragment:
        raise BadRequest(f"otlp_endpoint '{endpoint}' must not have a query or a fragment")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        secure = f"https://{parts.netloc}{parts.path}"
        raise BadRequest(
            f"otlp_endpoint '{endpoint}' is off loopback: use {secure} "
            "(plain http is only for 127.0.0.0/8, ::1 and localhost)"
        )
    if port == 0:
        raise BadRequest(f"otlp_endpoint '{endpoint}' has no valid port")
