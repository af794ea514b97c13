"""The one way the CLI and the TUI talk to running daemons.

`BifrostClient` knows the config, so callers name services, not endpoints. It
keeps one DEALER per service, retries only idempotent methods, and builds
subscribers whose gap recovery asks the right publisher for its snapshot.
Not thread-safe: give each thread (or TUI worker) its own client.

A service on a host that needs CURVE (not loopback, or `secure = true`) is reached
with this client's key pair (`identity`: BIFROST_KEY, else [security] client) and the
host's server key `host-<HOST>.key`, both from the key store.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import zmq

from bifrost.bus import methods
from bifrost.bus.curve import ClientCurve
from bifrost.bus.keys import KeyPair, KeyStore, host_key_name
from bifrost.bus.pubsub import Subscriber
from bifrost.bus.rpc import CallTracer, RpcClient
from bifrost.config import BifrostConfig, resolve_home
from bifrost.errors import BifrostError, Unauthenticated, Unavailable

READ_METHODS = frozenset(
    {
        methods.HEALTH,
        methods.READY,
        methods.METRICS,
        methods.CONFIG,
        methods.SNAPSHOT,
        methods.JOBS_LIST,
    }
)
"""Methods that only read, so retrying them is always safe."""
BUSY_SERVICE_WAIT_MS = 2000
"""How long a service that listens gets to answer `health` before it counts as down: a
busy service is slow, not down (one that does not listen counts as down at once)."""


class BifrostClient:
    """Calls and subscriptions to the services of one config."""

    def __init__(
        self,
        config: BifrostConfig,
        timeout_ms: int = 3000,
        retries: int = 2,
        *,
        identity: str | None = None,
        keys_dir: Path | None = None,
        service_token: bytes | None = None,
        tracing: CallTracer | None = None,
    ) -> None:
        self.config = config
        self.service_token = service_token
        """Set only in the risk daemon: its requests are signed as the service's
        (bifrost.bus.service_auth), which execution demands of order changes."""
        self.tracing = tracing
        """A daemon's tracer (bifrost.telemetry): each call is a span and carries its
        traceparent. None (the CLI's and the TUI's) sends none."""
        self.timeout_ms = timeout_ms
        self.retries = retries
        self.identity = identity or os.environ.get("BIFROST_KEY") or config.security.client
        self.keys = KeyStore(keys_dir or config.keys_dir(resolve_home()))
        self._own_pair: KeyPair | None = None
        self._ctx = zmq.Context()
        self._rpc: dict[str, RpcClient] = {}

    def __enter__(self) -> BifrostClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rpc(self, service: str) -> RpcClient:
        """The request connection to `service` (made on first use)."""
        client = self._rpc.get(service)
        if client is None:
            spec = self.config.service(service)
            client = RpcClient(
                self._ctx,
                spec.rpc,
                name=service,
                timeout_ms=self.timeout_ms,
                retries=self.retries,
                curve=self.curve_for(service),
                service_token=self.service_token,
                tracing=self.tracing,
            )
            self._rpc[service] = client
        return client

    def call(
        self,
        service: str,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        idempotent: bool | None = None,
        timeout_ms: int | None = None,
        cid: str | None = None,
    ) -> Any:
        """Call one method; read methods are retried, others only when told they are safe."""
        safe = method in READ_METHODS if idempotent is None else idempotent
        return self.rpc(service).call(
            method, params, idempotent=safe, timeout_ms=timeout_ms, cid=cid
        )

    def health(
        self, service: str, timeout_ms: int = 500, *, fail_fast: bool = False
    ) -> dict[str, Any]:
        """The service's `health`, or Unavailable when it does not answer quickly.

        `fail_fast` gives up at once when nothing listens at the service's endpoint.
        """
        result: dict[str, Any] = self.rpc(service).call(
            methods.HEALTH, idempotent=True, timeout_ms=timeout_ms, fail_fast=fail_fast
        )
        return result

    def answers(self, service: str, timeout_ms: int = BUSY_SERVICE_WAIT_MS) -> bool:
        """True when `service` is part of this config and answers `health`: at once False
        when nothing listens at its endpoint, else within `timeout_ms`.

        A command picks its route by this answer, so a running service that is slow for
        a moment (a loaded machine) must not be taken for one that is down: the command
        would go to the file the service holds.
        """
        if service not in self.config.services:
            return False
        try:
            self.health(service, timeout_ms=timeout_ms, fail_fast=True)
        except (Unavailable, Unauthenticated):
            return False
        return True

    def require(self, service: str) -> dict[str, Any]:
        """`health` of a service the caller cannot work without; Unavailable says what to do."""
        try:
            return self.health(service, fail_fast=True)
        except Unavailable:
            spec = self.config.service(service)
            raise Unavailable(
                f"the {service} service is not running at {spec.rpc}; start it with `bifrost up`",
                {"service": service, "endpoint": spec.rpc},
            ) from None

    def subscribe(self, service: str, prefixes: Iterable[str]) -> Subscriber:
        """A subscriber to `service`'s events whose gaps heal through its `snapshot`."""
        spec = self.config.service(service)

        def fetch_snapshot(src: str, prefix: str) -> dict[str, Any]:
            owner = src.partition("@")[0]
            if owner not in self.config.services:
                raise Unavailable(f"no service for event source '{src}'")
            result: dict[str, Any] = self.call(owner, methods.SNAPSHOT, {"prefix": prefix})
            return result

        return Subscriber(
            self._ctx, [spec.pub], prefixes, fetch_snapshot, curve=self.curve_for(service)
        )

    def curve_for(self, service: str) -> ClientCurve | None:
        """The CURVE keys for reaching `service`, or None when its host needs none."""
        spec = self.config.service(service)
        if not self.config.hosts[spec.host].needs_curve:
            return None
        if not self.identity:
            raise Unauthenticated(
                f"the {service} service on host {spec.host} requires CURVE keys and this "
                "client has none: set BIFROST_KEY=NAME or [security] client (make a pair "
                "with `bifrost keys gen NAME --role viewer|trader|admin`)",
                {"service": service, "host": spec.host},
            )
        if self._own_pair is None:
            self._own_pair = self.keys.key_pair(self.identity)
        server = self.keys.public_key(host_key_name(spec.host))
        return ClientCurve(server, self._own_pair.public, self._own_pair.secret)

    def close(self) -> None:
        """Close every connection; idempotent."""
        for client in self._rpc.values():
            client.close()
        self._rpc.clear()
        self._ctx.destroy(linger=0)


__all__ = ["BifrostClient", "BifrostError"]
