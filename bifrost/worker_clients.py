"""One bus client per worker thread, for a daemon whose jobs call other services.

A BifrostClient is not shared across threads, so each worker thread of a daemon's pool
gets its own, made on first use; the daemon closes them all once its pool has stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bifrost.client import BifrostClient


class WorkerClients:
    """The clients of a pool's threads, each made by `new_client` on the thread's first use."""

    def __init__(self, new_client: Callable[[], BifrostClient]) -> None:
        self._new_client = new_client
        self._local = threading.local()
        self._clients: list[BifrostClient] = []

    def get(self) -> BifrostClient:
        """The calling thread's own client."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._new_client()
            self._clients.append(client)
        return client

    def close(self) -> None:
        """Close every thread's client (after the pool has stopped)."""
        for client in self._clients:
            client.close()
