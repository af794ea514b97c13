"""Several subscriptions read as one stream: wait on all of them, get back their events.

A reader that follows more than one service (the TUI's desk, the book screen) waits on
every SUB socket at once with one poller instead of polling each in turn, and gets the
events already decoded and gap-healed by each `Subscriber`. The sockets stay here, in
the bus; the reader sees only events.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from types import TracebackType

import zmq

from bifrost.bus.pubsub import Event, Subscriber


class EventPoller:
    """Waits on several subscribers and hands back what any of them received.

    Owns the subscribers: `close` (or leaving a `with` block) closes them all.
    """

    def __init__(self, subscribers: Iterable[Subscriber]) -> None:
        self.subscribers = list(subscribers)
        self._poller = zmq.Poller()
        for subscriber in self.subscribers:
            self._poller.register(subscriber.socket, zmq.POLLIN)

    def __enter__(self) -> EventPoller:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def poll(self, timeout_ms: int, max_events: int = 5000) -> list[Event]:
        """Events waiting on any subscriber after at most `timeout_ms` (none on timeout).

        Each subscriber gives at most `max_events` per call, in its own order; a busy
        one cannot starve the others, since every ready subscriber is read each call.
        With no subscribers it just waits out the timeout, so a reader's loop never spins.
        """
        if not self.subscribers:
            time.sleep(timeout_ms / 1000)  # zmq's poll returns at once when given no socket
            return []
        ready = {socket for socket, _ in self._poller.poll(timeout_ms)}
        events: list[Event] = []
        for subscriber in self.subscribers:
            if subscriber.socket in ready:
                events.extend(subscriber.poll(0, max_events=max_events))
        return events

    def close(self) -> None:
        """Close every subscriber; idempotent."""
        for subscriber in self.subscribers:
            subscriber.close()
