"""Calls to another service that do not block the caller's loop: replies go to callbacks.

A daemon that must ask another service before it can answer its own caller (risk asks
compliance, then execution) sends the request and returns to its loop; the reply,
matched by request id, runs the callback later on the same loop thread. Every request
keeps its deadline: one that passes without an answer runs the callback with a
Timeout naming the service and the method, so a silent hop is a refusal, never a
hang, and one slow hop never stalls the requests of other callers.

The DEALER socket queues messages only to a completed connection (ZMQ_IMMEDIATE), so a
request is never left in a queue to be delivered, stale, when a service comes back. A
request that finds no connection is tried again on every `expire` for
`CONNECT_GRACE_S` (a service that just restarted is reconnected to within about 0.1 s),
then fails with Unavailable naming the service.

With a `CallTracer` each request is a span, ended by its reply (or its failure), whose
callback then runs in the context the request was sent from: the next hop of a deferred
order is traced as part of the same call as the first.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any, cast

import zmq

from bifrost.bus import codec
from bifrost.bus.curve import ClientCurve
from bifrost.bus.rpc import CallSpan, CallTracer, receive_reply
from bifrost.bus.service_auth import request_proof
from bifrost.errors import BifrostError, Timeout, Unavailable, error_from_wire

CONNECT_GRACE_S = 0.5
"""How long a request waits for a connection to its service before it fails."""

OnReply = Callable[[Any], None]
OnError = Callable[[BifrostError], None]


class PendingCalls:
    """One DEALER connection to a service and the requests in flight on it (loop thread only)."""

    def __init__(
        self,
        ctx: zmq.SyncContext,
        endpoint: str,
        *,
        name: str,
        curve: ClientCurve | None = None,
        service_token: bytes | None = None,
        tracing: CallTracer | None = None,
    ) -> None:
        self.name = name
        self.endpoint = endpoint
        self.service_token = service_token
        self.tracing = tracing
        self.socket = ctx.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.IMMEDIATE, 1)
        if curve is not None:
            curve.apply(self.socket)
        self.socket.connect(endpoint)
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[float, str, OnReply, OnError]] = {}
        self._unsent: list[tuple[float, int, bytes, float, str, OnReply, OnError]] = []
        """(give up at, id, frame, deadline, method, callbacks): no connection yet."""

    def __len__(self) -> int:
        return len(self._waiting) + len(self._unsent)

    def send(
        self,
        method: str,
        params: dict[str, Any],
        *,
        cid: str,
        timeout_ms: int,
        on_reply: OnReply,
        on_error: OnError,
    ) -> None:
        """Send one request; exactly one of the callbacks runs later (or now, on failure)."""
        request_id = next(self._ids)
        auth = None
        if self.service_token is not None:
            auth = request_proof(self.service_token, method, cid, params)
        traceparent = None
        if self.tracing is not None:
            span = self.tracing.calling(self.name, method, cid, params)
            traceparent = span.traceparent
            on_reply, on_error = _ending(span, on_reply, on_error)
        frame = codec.encode_request(
            request_id, method, params, cid, timeout_ms, auth, traceparent=traceparent
        )
        now = time.monotonic()
        deadline = now + timeout_ms / 1000
        give_up = min(deadline, now + CONNECT_GRACE_S)
        self._unsent.append((give_up, request_id, frame, deadline, method, on_reply, on_error))
        self._send_unsent(now)

    def _send_unsent(self, now: float) -> None:
        """Send the requests that waited for a connection, in order; fail those whose
        grace passed."""
        while self._unsent:
            give_up, request_id, frame, deadline, method, on_reply, on_error = self._unsent[0]
            try:
                self.socket.send(frame, zmq.NOBLOCK)
            except zmq.Again:
                if now < give_up:
                    return
                self._unsent.pop(0)
                on_error(
                    Unavailable(
                        f"{self.name} is not connected at {self.endpoint}, so {method} could "
                        "not be sent; is it running? try `bifrost up`",
                        {"service": self.name, "method": method},
                    )
                )
                continue
            self._unsent.pop(0)
            self._waiting[request_id] = (deadline, method, on_reply, on_error)

    def on_readable(self) -> None:
        """Read every reply waiting on the socket and run its callback."""
        socket = self.socket
        # ZMQ_EVENTS is an int option; pyzmq types every option as int | bytes.
        while cast(int, socket.get(zmq.EVENTS)) & zmq.POLLIN:
            try:
                reply = receive_reply(socket)
            except BifrostError:
                continue  # a garbage reply cannot be matched to a request; its deadline will
            entry = self._waiting.pop(reply.get("id"), None)  # type: ignore[arg-type]
            if entry is None:
                continue  # a reply after its deadline: the caller was told already
            _, _, on_reply, on_error = entry
            if reply["ok"]:
                on_reply(reply.get("result"))
            else:
                on_error(error_from_wire(reply["error"]))

    def expire(self, now: float | None = None) -> int:
        """Send what waited for a connection; fail every request whose deadline passed;
        returns how many failed on their deadline."""
        now = time.monotonic() if now is None else now
        self._send_unsent(now)
        late = [rid for rid, entry in self._waiting.items() if entry[0] <= now]
        for request_id in late:
            _, method, _, on_error = self._waiting.pop(request_id)
            on_error(
                Timeout(
                    f"{self.name} did not answer {method} in time",
                    {"service": self.name, "method": method},
                )
            )
        return len(late)

    def close(self) -> None:
        """Fail what is in flight as Unavailable and close the socket."""
        waiting, self._waiting = self._waiting, {}
        unsent, self._unsent = self._unsent, []
        cut_short = [(m, fail) for _, m, _, fail in waiting.values()]
        cut_short += [(m, fail) for _, _, _, _, m, _, fail in unsent]
        for method, on_error in cut_short:
            on_error(Unavailable(f"{method} to {self.name} was cut short: the caller is stopping"))
        self.socket.close(linger=0)


def _ending(span: CallSpan, on_reply: OnReply, on_error: OnError) -> tuple[OnReply, OnError]:
    """The callbacks of a traced request: each ends `span` with the reply's code, then runs
    in the context the request was sent from."""

    def replied(result: Any) -> None:
        span.end("OK")
        with span.within():
            on_reply(result)

    def failed(error: BifrostError) -> None:
        span.end(error.code.value)
        with span.within():
            on_error(error)

    return replied, failed
