"""One venue on its own threads, its answers handed to a daemon's loop.

A venue's methods block (HTTP requests, websocket reads), and a daemon's loop never
waits, so a `VenueSession` runs them elsewhere:

- one request thread takes calls in order (submit, cancel, reconcile reads) and hands
  each result or error back through `deliver` (the daemon's `hand_over`), so the
  callback runs on the loop thread;
- one stream thread per stream (`orders` for execution, `market` for data) reads until
  the session stops, reconnecting after a drop with a growing pause (0.5 s to 10 s).

A 429/418 answer (VenueRateLimited) pauses the request thread for the wait the venue
asked for (at most `MAX_BACKOFF_S`), is counted, and the request is tried again, up
to `RATE_LIMIT_TRIES` times; the venue did not act on a rate-limited request, so a
retried submit cannot double an order.

The session's `state` is `connecting` until the first request succeeds, `up` while
requests succeed and the streams read, and `down` from a dropped stream or an
unreachable venue until a request succeeds after the stream reconnected; `on_state`
hears every change on the loop thread.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bifrost.errors import BifrostError
from bifrost.venues.contract import MarketEvent, OrderEvent, Venue
from bifrost.venues.errors import VenueRateLimited, VenueUnavailable

Deliver = Callable[[Callable[[], Any]], None]
"""Runs a callback on the daemon's loop thread (Daemon.hand_over)."""
Done = Callable[[Any, BifrostError | None], None]
"""(result, error) of one request, on the loop thread."""

RATE_LIMIT_TRIES = 3
MAX_BACKOFF_S = 10.0
FIRST_RECONNECT_S = 0.5
"""The pause before the first reconnect; each failed one doubles it up to MAX_BACKOFF_S."""
UP, DOWN, CONNECTING, STOPPED = "up", "down", "connecting", "stopped"


@dataclass(slots=True)
class SessionStats:
    """What `venues status` and the metrics show of one session."""

    requests: int = 0
    failed: int = 0
    rate_limited: int = 0
    reconnects: int = 0
    events: int = 0
    last_error: str = ""


class VenueSession:
    """Runs one venue's blocking calls and streams off the loop (see the module doc)."""

    def __init__(
        self,
        venue: Venue,
        deliver: Deliver,
        on_state: Callable[[str, str], None] | None = None,
    ) -> None:
        self.venue = venue
        self.name = venue.name
        self.deliver = deliver
        self.on_state = on_state
        self.state = CONNECTING
        self.reason = "connecting"
        self.stats = SessionStats()
        self._stream_down = False
        self._stop = threading.Event()
        self._requests: queue.Queue[tuple[Callable[[], Any], Done] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._market_batch: collections.deque[MarketEvent] = collections.deque()
        self._order_batch: collections.deque[OrderEvent] = collections.deque()
        self._batch_lock = threading.Lock()
        self._market_handed = False
        self._order_handed = False
        self._start_thread("requests", self._serve_requests)

    # -- requests ---------------------------------------------------------------------------

    def request(self, call: Callable[[Venue], Any], done: Done) -> None:
        """Run `call(venue)` on the request thread; `done(result, error)` on the loop."""
        self._requests.put((lambda: call(self.venue), done))

    def _serve_requests(self) -> None:
        while True:
            item = self._requests.get()
            if item is None:
                return
            call, done = item
            result, error = self._attempt(call)
            self.deliver(lambda d=done, r=result, e=error: d(r, e))  # type: ignore[misc]

    def _attempt(self, call: Callable[[], Any]) -> tuple[Any, BifrostError | None]:
        for attempt in range(RATE_LIMIT_TRIES):
            self.stats.requests += 1
            try:
                result = call()
            except VenueRateLimited as exc:
                self.stats.rate_limited += 1
                self.stats.last_error = exc.message
                if attempt + 1 == RATE_LIMIT_TRIES or self._stop.wait(
                    min(exc.retry_after_s, MAX_BACKOFF_S)
                ):
                    return None, exc
                continue
            except VenueUnavailable as exc:
                self._failed(exc.message)
                self._set_state(DOWN, exc.reason)
                return None, exc
            except BifrostError as exc:
                self._failed(exc.message)
                return None, exc
            except Exception as exc:  # a library fault must not end the thread
                message = f"{self.name}: {type(exc).__name__} in the venue client"
                self._failed(message)
                return None, VenueUnavailable(self.name, f"{type(exc).__name__} in the client")
            if not self._stream_down:
                self._set_state(UP, "")
            return result, None
        raise AssertionError("unreachable: the last attempt returns")

    def _failed(self, message: str) -> None:
        self.stats.failed += 1
        self.stats.last_error = message

    # -- streams ----------------------------------------------------------------------------

    def stream_orders(
        self, on_events: Callable[[list[OrderEvent]], None], on_reconnect: Callable[[], None]
    ) -> None:
        """Read the account's order updates and fills; batches of them reach `on_events` on
        the loop, and `on_reconnect` runs there after the stream came back from a drop."""
        self._start_stream(
            "orders",
            lambda emit: self.venue.stream_orders(emit, self._stop),
            self._order_batch,
            "_order_handed",
            on_events,
            on_reconnect,
        )

    def stream_market(
        self,
        symbols: list[str],
        on_events: Callable[[list[MarketEvent]], None],
        on_reconnect: Callable[[], None],
    ) -> None:
        """Read quotes, trades and books of `symbols`; batches reach `on_events` on the loop."""
        self._start_stream(
            "market",
            lambda emit: self.venue.stream_market(symbols, emit, self._stop),
            self._market_batch,
            "_market_handed",
            on_events,
            on_reconnect,
        )

    def _start_stream(
        self,
        kind: str,
        read: Callable[[Callable[[Any], None]], None],
        batch: collections.deque[Any],
        handed_flag: str,
        on_events: Callable[[list[Any]], None],
        on_reconnect: Callable[[], None],
    ) -> None:
        def drain() -> None:
            with self._batch_lock:
                events = list(batch)
                batch.clear()
                setattr(self, handed_flag, False)
            if events:
                on_events(events)

        def emit(event: Any) -> None:
            self.stats.events += 1
            with self._batch_lock:
                batch.append(event)
                if getattr(self, handed_flag):
                    return
                setattr(self, handed_flag, True)
            self.deliver(drain)

        def run() -> None:
            pause = FIRST_RECONNECT_S
            dropped = False
            while not self._stop.is_set():
                if dropped:
                    self.stats.reconnects += 1
                    self.deliver(on_reconnect)
                started = time.monotonic()
                try:
                    read(emit)
                    if self._stop.is_set():
                        return
                    reason = f"{kind} stream ended"
                except VenueUnavailable as exc:
                    reason = exc.reason  # the session's reason: its venue is named where shown
                except BifrostError as exc:
                    reason = exc.message
                except Exception as exc:  # a library fault is a drop, not the thread's end
                    reason = f"{kind} stream failed: {type(exc).__name__}"
                if self._stop.is_set():
                    return
                dropped = True
                self._stream_down = True
                self.stats.last_error = reason
                self._set_state(DOWN, reason)
                if time.monotonic() - started > MAX_BACKOFF_S:
                    pause = FIRST_RECONNECT_S  # it had been reading a while: a fresh drop
                if self._stop.wait(pause):
                    return
                pause = min(pause * 2, MAX_BACKOFF_S)
                self._stream_down = False

        self._start_thread(kind, run)

    # -- state ------------------------------------------------------------------------------

    def _set_state(self, state: str, reason: str) -> None:
        if state == self.state and reason == self.reason:
            return
        self.state, self.reason = state, reason
        if self.on_state is not None:
            callback = self.on_state
            self.deliver(lambda: callback(state, reason))

    @property
    def is_up(self) -> bool:
        """True while orders may be sent."""
        return self.state == UP

    def describe(self) -> dict[str, Any]:
        """State, reason and counts, for `venues status` and `health`."""
        return {
            "venue": self.name,
            "kind": self.venue.kind,
            "state": self.state,
            "reason": self.reason,
            "requests": self.stats.requests,
            "failed": self.stats.failed,
            "rate_limited": self.stats.rate_limited,
            "reconnects": self.stats.reconnects,
            "events": self.stats.events,
            "last_error": self.stats.last_error,
        }

    def _start_thread(self, kind: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"venue-{self.name}-{kind}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the threads (a stream ends at its next read) and close the venue."""
        self._stop.set()
        self.state = STOPPED
        self._requests.put(None)
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(Exception):  # a broken client must not stop the stopping
            self.venue.close()
