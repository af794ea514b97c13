"""The TUI's one way to the daemons: new clients from one factory, calls and event feeds.

The app is handed a client factory (`make_app(config, home, client_factory)`), so tests
run every screen against a client that answers from recorded replies, and no screen
builds a connection of its own. Clients are not thread-safe, so each worker thread
takes a client of its own from `TuiBus.client` (or makes a one-off `TuiBus.call`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from bifrost.bus.poller import EventPoller
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig


class ClientFactory(Protocol):
    """Makes a new bus client of the app's config with these timeout and retries."""

    def __call__(self, *, timeout_ms: int, retries: int) -> BifrostClient: ...


def live_clients(config: BifrostConfig) -> ClientFactory:
    """The factory `bifrost tui` uses: real clients of `config`."""

    def make(*, timeout_ms: int, retries: int) -> BifrostClient:
        return BifrostClient(config, timeout_ms=timeout_ms, retries=retries)

    return make


class TuiBus:
    """Clients, calls and event feeds for the screens, all from one client factory."""

    def __init__(self, config: BifrostConfig, home: Path, factory: ClientFactory) -> None:
        self.config = config
        self.home = home
        """The data dir: gateways read a store file there when its daemon is not running."""
        self._factory = factory

    def client(self, timeout_ms: int = 3000, retries: int = 2) -> BifrostClient:
        """A new client for one thread; close it (it is a context manager)."""
        return self._factory(timeout_ms=timeout_ms, retries=retries)

    def call(
        self,
        service: str,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_ms: int = 3000,
        retries: int = 2,
        idempotent: bool | None = None,
    ) -> Any:
        """One call on a client of its own (from a worker thread, never the UI's)."""
        with self.client(timeout_ms, retries) as client:
            return client.call(service, method, params, idempotent=idempotent)

    def events(
        self, client: BifrostClient, follow: Mapping[str, Sequence[str]]
    ) -> EventPoller:
        """One poller over `client`'s subscriptions: topic prefixes by service, skipping
        services the config does not have."""
        return EventPoller(
            client.subscribe(service, prefixes)
            for service, prefixes in follow.items()
            if service in self.config.services
        )
