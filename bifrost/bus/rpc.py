"""Request/reply: a ROUTER server with a method table and a DEALER client (Lazy Pirate).

The server reads `[identity, request]` (or `[identity, "", request]` from a REQ
peer), checks the request and its params against the method's schema, runs the
handler and answers with the same reply shape every time. A garbage frame never
reaches a handler: it gets BAD_REQUEST (or is dropped when it cannot even be
addressed) and is counted. A request whose deadline passed while it waited is
answered TIMEOUT without running.

When the socket is CURVE-secured (`curve` and `roles` given), each request carries
the User-Id that the ZAP handler gave the client's key; its role decides which
methods it may call (FORBIDDEN otherwise) and its rate limit is per identity, so
nothing the client writes in a request can raise its rights.

A method may also name the one service allowed to call it (`Method.caller`);
`ServiceCallers` (bifrost.bus.service_auth) decides from the CURVE User-Id, or on
loopback from the request's signature, whether the caller is that service. Anyone
else gets FORBIDDEN, whatever their role.

A handler that cannot answer at once (it waits on another service, or on a group
commit) returns `ctx.defer()`: a `Deferred` it resolves or rejects later from the
loop thread; the reply then goes to the same caller with the same request id.

The client numbers its requests, waits up to the deadline and, for idempotent
methods only, reconnects and retries (zguide Lazy Pirate). A late reply to an
earlier attempt is recognised by its id and ignored.

Given a `CallTracer` (bifrost.telemetry, when `[telemetry]` is configured), the server
serves each call inside a span that ends when its reply leaves, and the client wraps
each call in a span whose `traceparent` the request carries. Without one (the default)
neither does any tracing work.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import zmq

from bifrost.bus import codec
from bifrost.bus.connection_watch import ConnectionWatch
from bifrost.bus.curve import ClientCurve, ServerCurve
from bifrost.bus.keys import role_rank
from bifrost.bus.schema import Schema
from bifrost.bus.service_auth import ServiceCallers, request_proof
from bifrost.errors import (
    BadRequest,
    BifrostError,
    Forbidden,
    Internal,
    RateLimited,
    Timeout,
    Unauthenticated,
    Unavailable,
    UnknownMethod,
    error_from_wire,
)
from bifrost.ratelimit import TokenBucket

NO_PARAMS = Schema("params", {})
_POLLIN = int(zmq.POLLIN)
_NOBLOCK, _SNDMORE_NOBLOCK = int(zmq.NOBLOCK), int(zmq.SNDMORE | zmq.NOBLOCK)
_RCVTIMEO = int(zmq.RCVTIMEO)
"""Socket options and flags as plain ints: the enums cost more than the calls they pass."""


def _cannot_defer() -> Deferred:
    raise RuntimeError("this call cannot be answered later")


class CallContext(NamedTuple):
    """What a handler may know about the call besides its params.

    A tuple, built per request in one step (`tuple.__new__`), which costs a fraction of
    a frozen dataclass's one attribute set per field.
    """

    method: str
    cid: str
    peer: bytes
    """The ZeroMQ routing identity of the caller."""
    received_ns: int
    user: str = "local"
    """The authenticated client name (CURVE User-Id); "local" on an unsecured loopback socket."""
    role: str = "admin"
    """The caller's role; a loopback socket trusts its own machine's users fully."""
    defer: Callable[[], Deferred] = _cannot_defer
    """Answer later: returns a Deferred, which the handler returns in place of a result."""


_new_context = tuple.__new__
_zmq_poll = zmq.zmq_poll
_send_frame = zmq.backend.Socket.send
"""pyzmq's own send, called as `_send_frame(socket, data, flags, copy)`: `zmq.Socket.send`
wraps it only to handle draft routing ids and groups, which the bus does not use, and
the wrapper costs a Python call on every frame."""


Answer = Callable[[list[Any], str], None]
"""Sends a reply's frames (the reply map, then its bulk frames) with its code."""


class Deferred:
    """A reply promised by a handler and given later, on the loop thread: once, either way."""

    __slots__ = ("_answer", "done")

    def __init__(self, answer: Answer, request_id: int) -> None:
        self._answer = (answer, request_id)
        self.done = False

    def resolve(self, result: Any) -> None:
        """Answer with `result` (ignored once answered)."""
        if not self.done:
            self.done = True
            answer, request_id = self._answer
            answer(codec.encode_ok(request_id, result), "OK")

    def reject(self, error: BifrostError) -> None:
        """Answer with a typed error (ignored once answered)."""
        if not self.done:
            self.done = True
            answer, request_id = self._answer
            answer([codec.encode_error(request_id, error)], error.code.value)


Handler = Callable[[dict[str, Any], CallContext], Any]


@dataclass(frozen=True, slots=True)
class Method:
    """One RPC method: its handler, the schema of its params and whether retry is safe."""

    name: str
    handler: Handler
    params: Schema = NO_PARAMS
    idempotent: bool = True
    role: str = "viewer"
    """Least role allowed to call it: viewer (read), trader (+orders), admin."""
    caller: str | None = None
    """The one service allowed to call it (checked by identity), or None for any client."""


class RpcObserver(Protocol):
    """Receives the server's counts (the daemon turns them into metrics)."""

    def request_served(self, method: str, code: str, seconds: float) -> None:
        """A request was answered with `code` ("OK" or an error code)."""

    def bad_frame(self, reason: str) -> None:
        """A frame was refused before reaching a handler."""

    def handler_failed(self, method: str) -> None:
        """A handler raised something that is not a BifrostError."""


class CallSpan(Protocol):
    """The span of one call, served or made (bifrost.telemetry.spans makes them)."""

    @property
    def traceparent(self) -> str | None:
        """What a call made puts in its request to name this span its parent (None for
        a call served, or one that makes no span)."""

    def within(self) -> AbstractContextManager[object]:
        """The context that work belonging to the call runs in: a served call's handler
        runs inside its span; a made call's reply callback runs in the caller's context."""

    def end(self, code: str) -> None:
        """End the span with the reply's code ("OK" or an error code)."""


class CallTracer(Protocol):
    """Opens spans around calls; a None in its place means tracing is off."""

    def serving(
        self, method: str, cid: str, traceparent: str | None, params: dict[str, Any]
    ) -> CallSpan:
        """The span of a call being served, the child of the caller's `traceparent`."""

    def calling(self, service: str, method: str, cid: str, params: dict[str, Any]) -> CallSpan:
        """The span of a call to `service`, the child of the current span."""


Refused = Callable[[str, str, str, str], None]
"""Called as refused(method, cid, user, reason) when a role check turns a request away."""


@dataclass
class RpcServer:
    """A ROUTER socket serving a method table; call `serve_pending` when it is readable."""

    ctx: zmq.SyncContext
    endpoint: str
    observer: RpcObserver
    log_error: Callable[[str, str, BaseException], None] = lambda method, cid, exc: None
    methods: dict[str, Method] = field(default_factory=dict)
    rate_per_second: float = 20_000.0
    """Requests a second each client may send (a burst of twice that is allowed)."""
    curve: ServerCurve | None = None
    roles: dict[str, str] | None = None
    """Client name -> role, for a CURVE socket; None on an unsecured (loopback) socket."""
    refused: Refused = lambda method, cid, user, reason: None
    callers: ServiceCallers | None = None
    """Who counts as which service, for methods with a `caller`; None refuses them all."""
    tracing: CallTracer | None = None
    """Spans of the calls served, when telemetry is on."""

    def __post_init__(self) -> None:
        if (self.curve is None) != (self.roles is None):
            raise ValueError("a secured RpcServer needs both curve keys and roles")
        self.socket = self.ctx.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVHWM, 10_000)
        if self.curve is not None:
            self.curve.apply(self.socket)
        try:
            self.socket.bind(self.endpoint)
        except zmq.ZMQError:
            self.socket.close(linger=0)
            raise
        self.received = 0
        self._waiting = [(self.socket, _POLLIN)]
        """The poll item that asks whether a request is waiting."""
        self._buckets: dict[bytes, TokenBucket] = {}
        self._params_where: dict[str, str] = {}
        """Method name -> how its params are named in errors (formatted once, not per call)."""

    def add(self, method: Method) -> None:
        """Register a method; a name can be registered once."""
        if method.name in self.methods:
            raise ValueError(f"method {method.name} is already registered")
        self.methods[method.name] = method

    def serve_pending(self, max_requests: int = 1000, readable: bool = False) -> int:
        """Answer the requests waiting on the socket; returns how many were read.

        `readable`: the caller's poll has just found the socket readable, so the first
        request is read without asking the socket first (one state read per wake-up).
        """
        socket = self.socket
        recv, waiting = socket.recv, self._waiting
        secured = self.roles is not None
        for count in range(max_requests):
            # A zero-timeout poll of this one socket: cheaper than the zmq.Again a recv on
            # empty would raise, and than reading ZMQ_EVENTS (pyzmq looks the option up
            # in an enum on every get).
            if (count or not readable) and not _zmq_poll(waiting, 0):
                return count
            self.received += 1
            if secured:
                parts = socket.recv_multipart(_NOBLOCK, copy=False)
                user = str(parts[-1].get("User-Id") or "")
                self._serve([part.bytes for part in parts], user)
                continue
            try:
                frames = [recv(_NOBLOCK)]
            except zmq.Again:  # the poll's word was stale: nothing waits after all
                self.received -= 1
                return count
            # A ROUTER's identity frame always has the message's frames after it. Whether
            # more follow a frame is read from the frame itself: asking the socket
            # (RCVMORE) costs pyzmq an enum lookup, several times the receive.
            more = True
            while more:
                frame = recv(_NOBLOCK, copy=False)
                frames.append(frame.bytes)
                more = frame.more
            self._serve(frames, "local")
        return max_requests

    def _serve(self, frames: list[bytes], user: str) -> None:
        received = time.monotonic_ns()
        # A secured socket limits each identity (however many connections it opens).
        client = user.encode() if self.roles is not None else frames[0]
        if not self._allowed(client, frames[0], received / 1e9):
            return
        # [identity, request, bulk...] from a DEALER, [identity, "", request, bulk...] from REQ.
        split = 2 if len(frames) >= 3 and frames[1] == b"" else 1
        route, payload, bulk = frames[:split], frames[split : split + 1], frames[split + 1 :]
        if not payload:
            self.observer.bad_frame("frame_count")
            return  # nothing to answer: an identity alone, or a REQ envelope with no request
        try:
            request = codec.decode_request(payload[0], bulk)
        except BadRequest as exc:
            self.observer.bad_frame("decode")
            self._send(route, [codec.encode_error(codec.request_id_of(payload[0]), exc)])
            return
        # Unknown names are one label value, so a caller cannot mint unlimited metric series.
        label = request.method if request.method in self.methods else "(unknown)"
        served = self.observer.request_served

        def answer(reply: list[Any], code: str) -> None:
            # Counted before the reply leaves, so a caller that sees the reply sees the count.
            served(label, code, (time.monotonic_ns() - received) / 1e9)
            self._send(route, reply)

        if self.tracing is not None:
            self._dispatch_traced(self.tracing, request, label, route[0], received, user, answer)
            return
        outcome = self._dispatch(request, route[0], received, user, answer)
        if outcome is not None:
            answer(*outcome)

    def _dispatch_traced(
        self,
        tracing: CallTracer,
        request: codec.Request,
        label: str,
        peer: bytes,
        received: int,
        user: str,
        answer: Answer,
    ) -> None:
        """`_dispatch` inside the call's span, which ends as the reply leaves (later, for a
        deferred reply). The span is named by `label`, so unknown names share one."""
        span = tracing.serving(label, request.cid, request.traceparent, request.params)

        def answer_and_end(reply: list[Any], code: str) -> None:
            span.end(code)
            answer(reply, code)

        with span.within():
            outcome = self._dispatch(request, peer, received, user, answer_and_end)
        if outcome is not None:
            answer_and_end(*outcome)

    def _allowed(self, client: bytes, peer: bytes, now: float) -> bool:
        """Per-client token bucket; over the limit is answered RATE_LIMITED, unread."""
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) > 10_000:  # forget idle clients, whose buckets are full
                self._buckets = {k: b for k, b in self._buckets.items() if b.tokens < b.burst}
            rate = self.rate_per_second
            bucket = self._buckets[client] = TokenBucket.full(rate, 2 * rate, now)
        if bucket.take(now):
            return True
        self.observer.bad_frame("rate_limited")
        retry = bucket.retry_after()
        error = RateLimited(
            f"more than {self.rate_per_second:g} requests a second from this client; "
            f"retry in {retry * 1000:.0f} ms",
            {"retry_after_ms": round(retry * 1000, 1)},
        )
        self._send([peer], [codec.encode_error(None, error)])
        return False

    def _dispatch(
        self,
        request: codec.Request,
        peer: bytes,
        received: int,
        user: str,
        answer: Answer,
    ) -> tuple[list[Any], str] | None:
        """The reply and its code, or None when the handler deferred it."""
        name = request.method
        method = self.methods.get(name)
        try:
            if method is None:
                raise UnknownMethod(f"no method '{name}'", {"methods": sorted(self.methods)})
            if self.roles is None:
                role = "admin"  # a loopback socket trusts its own machine's users fully
            else:
                role = self.roles.get(user, "")
                if not role or role_rank(role) < role_rank(method.role):
                    held = role or "not on the allow-list"
                    reason = f"{name} needs the {method.role} role; '{user}' is {held}"
                    self.refused(name, request.cid, user, reason)
                    raise Forbidden(reason, {"method": name, "needs": method.role})
            if method.caller is not None and not self._from_service(method.caller, request, user):
                reason = (
                    f"{name} is accepted only from the {method.caller} service; "
                    f"'{user}' did not prove to be it"
                )
                self.refused(name, request.cid, user, reason)
                raise Forbidden(reason, {"method": name, "caller": method.caller})
            if request.deadline_ms is not None:
                waited_ms = (time.monotonic_ns() - received) / 1e6
                if waited_ms > request.deadline_ms:
                    raise Timeout(f"deadline of {request.deadline_ms} ms passed before handling")
            where = self._params_where.get(name) or self._params_where.setdefault(
                name, f"{name} params"
            )
            params = method.params.check(request.params, where)
            request_id = request.id
            context = _new_context(
                CallContext,
                (
                    name,
                    request.cid,
                    peer,
                    time.time_ns(),
                    user,
                    role,
                    lambda: Deferred(answer, request_id),
                ),
            )
            result = method.handler(params, context)
            if isinstance(result, Deferred):
                return None
            return codec.encode_ok(request.id, result), "OK"
        except BifrostError as exc:
            return [codec.encode_error(request.id, exc)], exc.code.value
        except Exception as exc:
            self.observer.handler_failed(request.method)
            self.log_error(request.method, request.cid, exc)
            error = Internal(f"{request.method} failed: {type(exc).__name__}: {exc}")
            return [codec.encode_error(request.id, error)], error.code.value

    def _from_service(self, service: str, request: codec.Request, user: str) -> bool:
        secured = self.roles is not None
        return self.callers is not None and self.callers.admits(service, request, user, secured)

    def _send(self, route: list[bytes], reply: list[Any]) -> None:
        # Part by part with int flags: send_multipart's enum arithmetic costs more than a send.
        socket = self.socket
        try:
            for part in route:
                _send_frame(socket, part, _SNDMORE_NOBLOCK)
            for part in reply[:-1]:
                _send_frame(socket, part, _SNDMORE_NOBLOCK)
            # A bulk frame goes uncopied (pyzmq copies small ones anyway).
            _send_frame(socket, reply[-1], _NOBLOCK, len(reply) == 1)
        except zmq.Again:
            self.observer.bad_frame("reply_dropped")

    def close(self) -> None:
        """Close the socket; idempotent."""
        self.socket.close(linger=0)


class RpcClient:
    """A DEALER connection to one service; not thread-safe (one per thread)."""

    def __init__(
        self,
        ctx: zmq.SyncContext,
        endpoint: str,
        *,
        name: str = "",
        timeout_ms: int = 3000,
        retries: int = 2,
        curve: ClientCurve | None = None,
        service_token: bytes | None = None,
        tracing: CallTracer | None = None,
    ) -> None:
        self.ctx = ctx
        self.curve = curve
        self.tracing = tracing
        """When set, every call is made inside a span whose traceparent it carries."""
        self.service_token = service_token
        """When set, every request is signed with it: this client speaks for a service."""
        self.endpoint = endpoint
        self.name = name or endpoint
        self.timeout_ms = timeout_ms
        self.retries = retries
        self._ids = itertools.count(1)
        self._cids = itertools.count(1)
        self._cid_prefix = os.urandom(6).hex()
        """Correlation ids are this client's random prefix plus a counter: unique, cheap."""
        self._socket: zmq.SyncSocket | None = None
        self._rcvtimeo = -1
        """The receive timeout set on `_socket` (ms; -1, libzmq's default, waits forever)."""
        self._watch: ConnectionWatch | None = None

    def _connect(self) -> zmq.SyncSocket:
        if self._socket is None:
            socket = self.ctx.socket(zmq.DEALER)
            socket.setsockopt(zmq.LINGER, 0)
            if self.curve is not None:
                self.curve.apply(socket)
            self._watch = ConnectionWatch(self.ctx, socket, secured=self.curve is not None)
            socket.connect(self.endpoint)
            self._socket = socket
            self._rcvtimeo = -1
        return self._socket

    def _explain_silence(self, method: str, fail_fast: bool) -> None:
        """Raise what the connection says about a call that got no answer, if anything.

        UNAUTHENTICATED when a CURVE handshake failed; with `fail_fast`, UNAVAILABLE when
        nothing listens at the endpoint (the connection was refused, so the request was
        never delivered).
        """
        if self._watch is None:
            return
        problem = self._watch.problem()
        if problem:
            raise Unauthenticated(
                f"{self.name} at {self.endpoint} did not answer {method}: {problem}",
                {"endpoint": self.endpoint, "method": method},
            )
        if fail_fast and self._watch.refused:
            self.reset()
            raise Unavailable(
                f"nothing listens at {self.endpoint} for {self.name}; "
                "is it running? try `bifrost up`",
                {"endpoint": self.endpoint, "method": method},
            )

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_ms: int | None = None,
        idempotent: bool = False,
        cid: str | None = None,
        fail_fast: bool = False,
    ) -> Any:
        """Call `method`; returns its result or raises the typed error of the reply.

        Waits `timeout_ms` per attempt. Only an idempotent call is retried (on a
        fresh socket); a non-idempotent call that times out raises Timeout, since
        the service may have acted on it. With `fail_fast`, a refused connection (nothing
        listens) raises Unavailable at once instead of waiting for a service to come up:
        for probes that only ask whether it runs now.
        """
        timeout = self.timeout_ms if timeout_ms is None else timeout_ms
        cid = cid or f"{self._cid_prefix}{next(self._cids):x}"
        if self.tracing is None:
            return self._call(method, params, timeout, idempotent, cid, fail_fast, None)
        span = self.tracing.calling(self.name, method, cid, params or {})
        code = "INTERNAL"
        try:
            result = self._call(
                method, params, timeout, idempotent, cid, fail_fast, span.traceparent
            )
            code = "OK"
            return result
        except BifrostError as exc:
            code = exc.code.value
            raise
        finally:
            span.end(code)

    def _call(
        self,
        method: str,
        params: dict[str, Any] | None,
        timeout: int,
        idempotent: bool,
        cid: str,
        fail_fast: bool,
        traceparent: str | None,
    ) -> Any:
        """`call` with its defaults resolved; the request carries `traceparent` if any."""
        attempts = 1 + (self.retries if idempotent else 0)
        plain, names, bulk = codec.split_bulk(params or {})
        auth = None
        if self.service_token is not None:
            if names:
                raise ValueError("a signed request cannot carry bulk frames")
            auth = request_proof(self.service_token, method, cid, plain)
        for _ in range(attempts):
            request_id = next(self._ids)
            frame = codec.encode_request(
                request_id, method, plain, cid, timeout, auth, names, traceparent
            )
            reply = self._exchange([frame, *bulk], request_id, timeout, fail_fast)
            if reply is not None:
                if reply["ok"]:
                    return reply.get("result")
                raise error_from_wire(reply["error"])
            self._explain_silence(method, fail_fast)
            self.reset()
        if idempotent:
            raise Unavailable(
                f"{self.name} did not answer {method} at {self.endpoint} "
                f"({attempts} tries, {timeout} ms each); is it running? try `bifrost up`",
                {"endpoint": self.endpoint, "method": method},
            )
        raise Timeout(
            f"{self.name} did not answer {method} within {timeout} ms; its outcome is unknown",
            {"endpoint": self.endpoint, "method": method},
        )

    def _exchange(
        self, frames: list[Any], request_id: int, timeout_ms: int, fail_fast: bool = False
    ) -> dict[str, Any] | None:
        socket = self._connect()
        if len(frames) == 1:
            _send_frame(socket, frames[0], 0)
        else:  # bulk frames go uncopied
            socket.send_multipart(frames, copy=False)
        deadline = time.monotonic() + timeout_ms / 1000
        wait_ms = timeout_ms
        while wait_ms > 0:
            if fail_fast:
                if not self._connected(socket, wait_ms):
                    return None
                wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
            reply = self._receive(socket, wait_ms)
            if reply is None:
                return None
            if reply.get("id") == request_id:
                return reply
            if reply.get("id") is None and not reply["ok"]:
                raise error_from_wire(reply["error"])
            wait_ms = int((deadline - time.monotonic()) * 1000)  # a late reply: wait on
        return None

    def _receive(self, socket: zmq.SyncSocket, timeout_ms: int) -> dict[str, Any] | None:
        """The next reply, or None when none comes within `timeout_ms`.

        A blocking receive with the socket's own timeout: one call, where polling first
        built a poller per call (pyzmq's `Socket.poll`), which cost more than the receive.
        """
        if self._rcvtimeo != timeout_ms:
            socket.setsockopt(_RCVTIMEO, timeout_ms)
            self._rcvtimeo = timeout_ms
        try:
            return receive_reply(socket)
        except zmq.Again:
            return None

    def _connected(self, socket: zmq.SyncSocket, timeout_ms: int) -> bool:
        """False when the connection is refused (nothing listens) before a reply is
        readable or `timeout_ms` passes; True otherwise. For `fail_fast` calls."""
        watch = self._watch
        if watch is None or watch.connected:
            return True
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(watch.pipe, zmq.POLLIN)
        deadline = time.monotonic() + timeout_ms / 1000
        while (left := deadline - time.monotonic()) > 0:
            ready = dict(poller.poll(max(1, int(left * 1000))))
            if socket in ready:
                return True
            if watch.pipe in ready:
                watch.read()
                if watch.refused:
                    return False
                if watch.connected:
                    return True
        return False

    def reset(self) -> None:
        """Drop the socket so the next call starts on a fresh connection."""
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def close(self) -> None:
        """Close the connection; idempotent."""
        self.reset()


def receive_reply(socket: zmq.SyncSocket) -> dict[str, Any]:
    """Read one reply (its map, then its bulk frames) from a readable socket and check it.

    The map is copied (it is small); bulk frames are not: their bytes stay in ZeroMQ's
    message and the result holds memoryviews of them. Whether more frames follow is read
    from each frame, which costs less than asking the socket (RCVMORE).
    """
    frame = socket.recv(copy=False)
    header = frame.bytes
    bulk = []
    while frame.more:
        frame = socket.recv(copy=False)
        bulk.append(frame.buffer)
    return codec.decode_reply(header, bulk)
