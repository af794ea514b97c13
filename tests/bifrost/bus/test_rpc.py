"""Tests of bifrost/bus/rpc.py: the ROUTER method server and the Lazy Pirate DEALER client.

Every server here is a real RpcServer on a free loopback port, answered from its own
thread the way a daemon loop does (poll the socket, `serve_pending`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import polars as pl
import pytest
import zmq

from bifrost.bus import codec
from bifrost.bus.arrow import frame_to_bulk, ipc_to_frame
from bifrost.bus.rpc import CallContext, Method, RpcClient, RpcServer
from bifrost.bus.schema import Optional, Schema
from bifrost.errors import (
    BadRequest,
    Internal,
    Rejected,
    Timeout,
    Unavailable,
    UnknownMethod,
)
from bifrost.local_config import free_ports
from bifrost.metrics import ServiceMetrics

ADD_PARAMS = Schema("add params", {"a": int, "b": int, "note": Optional(str)})


class ServerLoop:
    """A real RpcServer served from a thread; may bind late or drop the first requests."""

    def __init__(
        self,
        ctx: zmq.Context,
        endpoint: str,
        methods: list[Method],
        *,
        delay: float = 0.0,
        drop_first: int = 0,
    ) -> None:
        self.ctx = ctx
        self.endpoint = endpoint
        self.methods = methods
        self.delay = delay
        self.drop_first = drop_first
        self.dropped = 0
        self.metrics = ServiceMetrics("test")
        self.errors: list[tuple[str, str, BaseException]] = []
        self.server: RpcServer | None = None
        self.bound = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-rpc-server", daemon=True)

    def start(self) -> ServerLoop:
        self._thread.start()
        if not self.delay:
            assert self.bound.wait(5), "server did not bind"
        return self

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        server = RpcServer(
            self.ctx,
            self.endpoint,
            self.metrics,
            log_error=lambda m, c, e: self.errors.append((m, c, e)),
        )
        for method in self.methods:
            server.add(method)
        self.server = server
        self.bound.set()
        while not self._stop.is_set():
            if not server.socket.poll(20):
                continue
            if self.dropped < self.drop_first:
                server.socket.recv_multipart()  # lost on the way: never answered
                self.dropped += 1
                continue
            server.serve_pending(readable=True)  # as the daemon loop calls it

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self.server is not None:
            self.server.close()

    def count(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def serve(zmq_ctx: zmq.Context) -> Iterator[Callable[..., ServerLoop]]:
    """Start ServerLoops on free loopback ports; all are stopped at teardown."""
    loops: list[ServerLoop] = []

    def start(*methods: Method, endpoint: str | None = None, **options: Any) -> ServerLoop:
        address = endpoint or f"tcp://127.0.0.1:{free_ports(1)[0]}"
        loop = ServerLoop(zmq_ctx, address, list(methods), **options)
        loops.append(loop)
        return loop.start()

    yield start
    for loop in loops:
        loop.stop()


@pytest.fixture
def client(zmq_ctx: zmq.Context) -> Iterator[Callable[..., RpcClient]]:
    """Make RpcClients that are closed at teardown."""
    made: list[RpcClient] = []

    def make(endpoint: str, **options: Any) -> RpcClient:
        options.setdefault("timeout_ms", 1000)
        made.append(RpcClient(zmq_ctx, endpoint, name="test", **options))
        return made[-1]

    yield make
    for rpc in made:
        rpc.close()


@pytest.fixture
def dealer(zmq_ctx: zmq.Context) -> Iterator[Callable[[str], zmq.Socket]]:
    """Raw DEALER sockets, for frames the RpcClient would never send."""
    sockets: list[zmq.Socket] = []

    def make(endpoint: str, kind: int = zmq.DEALER) -> zmq.Socket:
        socket = zmq_ctx.socket(kind)
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(endpoint)
        sockets.append(socket)
        return socket

    yield make
    for socket in sockets:
        socket.close(linger=0)


class Calls:
    """Handlers that record each run."""

    def __init__(self) -> None:
        self.runs: list[tuple[dict[str, Any], CallContext]] = []

    def add(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.runs.append((params, ctx))
        return {"sum": params["a"] + params["b"]}

    def echo(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.runs.append((params, ctx))
        return {"method": ctx.method, "cid": ctx.cid}

    def slow(self, params: dict[str, Any], ctx: CallContext) -> str:
        self.runs.append((params, ctx))
        time.sleep(0.3)
        return "late"

    def crash(self, params: dict[str, Any], ctx: CallContext) -> None:
        self.runs.append((params, ctx))
        raise ZeroDivisionError("division by zero")

    def reject(self, params: dict[str, Any], ctx: CallContext) -> None:
        self.runs.append((params, ctx))
        raise Rejected("order exceeds max notional", {"limit": 1000})


def reply_of(socket: zmq.Socket, timeout_ms: int = 2000) -> dict[str, Any]:
    assert socket.poll(timeout_ms), "no reply"
    return codec.decode_reply(socket.recv_multipart()[-1])


def test_rpc_call_known_method_returns_result(serve, client) -> None:
    calls = Calls()
    loop = serve(Method("add", calls.add, ADD_PARAMS))
    assert client(loop.endpoint).call("add", {"a": 2, "b": 3}) == {"sum": 5}
    assert len(calls.runs) == 1
    assert loop.count("bifrost_rpc_requests_total", method="add", code="OK") == 1


def test_rpc_call_context_carries_method_and_cid(serve, client) -> None:
    loop = serve(Method("echo", Calls().echo))
    result = client(loop.endpoint).call("echo", cid="trace-123")
    assert result == {"method": "echo", "cid": "trace-123"}


def test_rpc_call_unknown_method_raises_unknown_method(serve, client) -> None:
    loop = serve(Method("add", Calls().add, ADD_PARAMS))
    with pytest.raises(UnknownMethod, match="no method 'sub'") as caught:
        client(loop.endpoint).call("sub", {"a": 1})
    assert caught.value.details == {"methods": ["add"]}
    # Unknown names share one label value, so callers cannot mint metric series.
    assert loop.count("bifrost_rpc_requests_total", method="(unknown)", code="UNKNOWN_METHOD") == 1


def test_rpc_call_params_of_wrong_type_is_bad_request_before_handler(serve, client) -> None:
    calls = Calls()
    loop = serve(Method("add", calls.add, ADD_PARAMS))
    with pytest.raises(BadRequest, match=r"add params\.b: expected int, got string"):
        client(loop.endpoint).call("add", {"a": 1, "b": "2"})
    assert calls.runs == []


def test_rpc_call_unknown_param_is_bad_request_before_handler(serve, client) -> None:
    calls = Calls()
    loop = serve(Method("add", calls.add, ADD_PARAMS))
    with pytest.raises(BadRequest, match="unknown field 'c'"):
        client(loop.endpoint).call("add", {"a": 1, "b": 2, "c": 3})
    with pytest.raises(BadRequest, match="missing field 'b'"):
        client(loop.endpoint).call("add", {"a": 1})
    assert calls.runs == []
    assert loop.count("bifrost_rpc_requests_total", method="add", code="BAD_REQUEST") == 2


def test_rpc_handler_exception_is_internal_and_counted(serve, client) -> None:
    calls = Calls()
    loop = serve(Method("crash", calls.crash), Method("add", calls.add, ADD_PARAMS))
    rpc = client(loop.endpoint)
    with pytest.raises(Internal, match="crash failed: ZeroDivisionError: division by zero"):
        rpc.call("crash", cid="c-9")
    assert loop.count("bifrost_handler_errors_total", method="crash") == 1
    assert loop.count("bifrost_rpc_requests_total", method="crash", code="INTERNAL") == 1
    assert [(m, c, type(e)) for m, c, e in loop.errors] == [("crash", "c-9", ZeroDivisionError)]
    assert rpc.call("add", {"a": 1, "b": 1}) == {"sum": 2}  # the server lives on


def test_rpc_handler_bifrost_error_keeps_code_and_details(serve, client) -> None:
    loop = serve(Method("order", Calls().reject))
    with pytest.raises(Rejected, match="max notional") as caught:
        client(loop.endpoint).call("order")
    assert caught.value.details == {"limit": 1000}
    assert loop.count("bifrost_handler_errors_total", method="order") == 0


def test_rpc_call_slow_handler_non_idempotent_raises_timeout_once(serve, client) -> None:
    calls = Calls()
    loop = serve(Method("slow", calls.slow, idempotent=False))
    started = time.monotonic()
    with pytest.raises(Timeout, match="outcome is unknown"):
        client(loop.endpoint, retries=3).call("slow", timeout_ms=100)
    assert time.monotonic() - started < 0.3  # one attempt, not four
    time.sleep(0.4)  # let the handler finish; a retry would show as a second run
    assert len(calls.runs) == 1


def test_rpc_server_deadline_passed_before_dispatch_answers_timeout_without_running(
    serve, dealer
) -> None:
    calls = Calls()
    loop = serve(Method("echo", calls.echo, Schema("echo params", {}, open=True)))
    socket = dealer(loop.endpoint)
    # A near-1-MiB request takes tens of ms to read and check: longer than its 1 ms budget.
    socket.send(codec.encode_request(3, "echo", {"pad": [0] * 1_000_000}, "", 1))
    reply = reply_of(socket)
    assert (reply["id"], reply["ok"], reply["error"]["code"]) == (3, False, "TIMEOUT")
    assert calls.runs == []


def test_rpc_idempotent_call_server_up_late_is_retried_and_answers(serve, client) -> None:
    calls = Calls()
    loop = serve(Method("add", calls.add, ADD_PARAMS), delay=0.4)
    rpc = client(loop.endpoint, timeout_ms=150, retries=8)
    started = time.monotonic()
    assert rpc.call("add", {"a": 20, "b": 22}, idempotent=True) == {"sum": 42}
    assert time.monotonic() - started >= 0.4  # the first tries went unanswered
    assert len(calls.runs) >= 1


def test_rpc_idempotent_call_first_request_dropped_is_retried_once(serve, client) -> None:
    calls = Calls()
    loop = serve(Method("add", calls.add, ADD_PARAMS), drop_first=1)
    rpc = client(loop.endpoint, timeout_ms=200, retries=2)
    assert rpc.call("add", {"a": 1, "b": 2}, idempotent=True) == {"sum": 3}
    assert loop.dropped == 1
    assert len(calls.runs) == 1


def test_rpc_non_idempotent_call_first_request_dropped_raises_timeout_not_retried(
    serve, client
) -> None:
    calls = Calls()
    loop = serve(Method("add", calls.add, ADD_PARAMS, idempotent=False), drop_first=1)
    rpc = client(loop.endpoint, timeout_ms=200, retries=2)
    with pytest.raises(Timeout) as caught:
        rpc.call("add", {"a": 1, "b": 2})
    assert caught.value.details == {"endpoint": loop.endpoint, "method": "add"}
    time.sleep(0.3)  # a retry would arrive now and run the handler
    assert loop.dropped == 1
    assert calls.runs == []
    assert loop.server is not None and loop.server.received == 0


def test_rpc_idempotent_call_no_server_raises_unavailable(client) -> None:
    endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    rpc = client(endpoint, timeout_ms=50, retries=2)
    with pytest.raises(Unavailable, match=r"3 tries, 50 ms each") as caught:
        rpc.call("health", idempotent=True)
    assert caught.value.details == {"endpoint": endpoint, "method": "health"}


def test_rpc_fail_fast_call_nothing_listening_raises_unavailable_at_once(client) -> None:
    endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    rpc = client(endpoint, timeout_ms=2000, retries=2)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="nothing listens at") as caught:
        rpc.call("health", idempotent=True, fail_fast=True)
    assert time.monotonic() - started < 1.0  # not 3 tries of 2 s
    assert caught.value.details == {"endpoint": endpoint, "method": "health"}


def test_rpc_fail_fast_call_server_listening_answers(serve, client) -> None:
    loop = serve(Method("add", Calls().add, ADD_PARAMS))
    rpc = client(loop.endpoint, timeout_ms=2000, retries=0)
    assert rpc.call("add", {"a": 2, "b": 3}, idempotent=True, fail_fast=True) == {"sum": 5}
    assert rpc.call("add", {"a": 1, "b": 1}, idempotent=True, fail_fast=True) == {"sum": 2}


def test_rpc_client_after_timeout_next_call_uses_fresh_connection(serve, client) -> None:
    calls = Calls()
    loop = serve(Method("slow", calls.slow), Method("add", calls.add, ADD_PARAMS))
    rpc = client(loop.endpoint)
    with pytest.raises(Timeout):
        rpc.call("slow", timeout_ms=50)
    # The late "late" reply to the first call must not be taken as this call's answer.
    assert rpc.call("add", {"a": 1, "b": 1}, timeout_ms=2000) == {"sum": 2}


def test_rpc_garbage_bytes_from_dealer_get_bad_request(serve, dealer) -> None:
    loop = serve(Method("add", Calls().add, ADD_PARAMS))
    socket = dealer(loop.endpoint)
    socket.send(b"\xc1 this is not msgpack")
    reply = reply_of(socket)
    assert (reply["ok"], reply["id"], reply["error"]["code"]) == (False, None, "BAD_REQUEST")
    assert reply["error"]["message"].startswith("not a valid msgpack frame")
    assert loop.count("bifrost_bad_frames_total", reason="decode") == 1


def test_rpc_malformed_request_reply_names_its_id(serve, dealer) -> None:
    loop = serve(Method("add", Calls().add, ADD_PARAMS))
    socket = dealer(loop.endpoint)
    socket.send(codec.pack({"v": 2, "id": 42, "method": 7}))
    reply = reply_of(socket)
    assert (reply["id"], reply["error"]["code"]) == (42, "BAD_REQUEST")
    assert reply["error"]["message"] == "request.method: expected str, got int"


def test_rpc_request_with_timestamp_from_dealer_gets_bad_request(serve, dealer) -> None:
    loop = serve(Method("add", Calls().add, ADD_PARAMS))
    socket = dealer(loop.endpoint)
    socket.send(
        msgpack.packb(
            {"v": 2, "id": 1, "method": "add", "params": {"a": msgpack.Timestamp(1, 0), "b": 1}}
        )
    )
    reply = reply_of(socket)
    assert reply["error"]["code"] == "BAD_REQUEST"
    assert "ext" in reply["error"]["message"]


def test_rpc_extra_frames_from_dealer_get_bad_request(serve, dealer) -> None:
    loop = serve(Method("add", Calls().add, ADD_PARAMS))
    socket = dealer(loop.endpoint)
    socket.send_multipart([codec.encode_request(3, "add", {"a": 1, "b": 2}, "", None), b"two"])
    reply = reply_of(socket)
    assert reply["id"] == 3
    assert reply["error"] == {
        "code": "BAD_REQUEST",
        "message": "request has 2 frames, expected 1",
        "details": {},
    }
    assert loop.count("bifrost_bad_frames_total", reason="decode") == 1


def test_rpc_oversized_request_from_dealer_gets_bad_request(serve, dealer) -> None:
    calls = Calls()
    loop = serve(Method("add", calls.add, ADD_PARAMS))
    socket = dealer(loop.endpoint)
    socket.send(codec.encode_request(1, "add", {"a": 1, "b": 2, "note": "x" * (1 << 20)}, "", None))
    reply = reply_of(socket)
    assert reply["error"]["code"] == "BAD_REQUEST"
    assert "exceeds the limit of 1048576" in reply["error"]["message"]
    assert calls.runs == []


def test_rpc_req_socket_request_gets_reply_through_delimiter(serve, dealer) -> None:
    loop = serve(Method("add", Calls().add, ADD_PARAMS))
    socket = dealer(loop.endpoint, zmq.REQ)
    socket.send(codec.encode_request(5, "add", {"a": 2, "b": 2}, "", None))
    assert reply_of(socket) == {"v": 2, "id": 5, "ok": True, "result": {"sum": 4}}
    socket.send(b"garbage")
    assert reply_of(socket)["error"]["code"] == "BAD_REQUEST"


def test_rpc_server_after_garbage_still_answers_good_calls(serve, client, dealer) -> None:
    loop = serve(Method("add", Calls().add, ADD_PARAMS))
    socket = dealer(loop.endpoint)
    for frame in (b"", b"\x00", b"\x80", codec.pack([1, 2, 3]), b"\xdd\xff\xff\xff\xff"):
        socket.send(frame)
        assert reply_of(socket)["error"]["code"] == "BAD_REQUEST"
    assert client(loop.endpoint).call("add", {"a": 1, "b": 2}) == {"sum": 3}
    assert loop.count("bifrost_bad_frames_total", reason="decode") == 5


def test_rpc_server_same_method_twice_is_value_error(zmq_ctx: zmq.Context) -> None:
    server = RpcServer(zmq_ctx, "inproc://rpc-dup", ServiceMetrics("test"))
    try:
        server.add(Method("add", Calls().add))
        with pytest.raises(ValueError, match="already registered"):
            server.add(Method("add", Calls().add))
    finally:
        server.close()


def test_rpc_server_serve_pending_with_nothing_waiting_returns_zero(zmq_ctx: zmq.Context) -> None:
    server = RpcServer(zmq_ctx, "inproc://rpc-idle", ServiceMetrics("test"))
    try:
        assert server.serve_pending() == 0
        assert server.serve_pending(readable=True) == 0  # a stale word from a poll
        assert server.received == 0
    finally:
        server.close()


def test_rpc_bulk_payloads_travel_as_their_own_frames_both_ways(serve, client) -> None:
    def reverse(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return {"size": len(params["blob"]), "blob": codec.Bulk(bytes(params["blob"])[::-1])}

    loop = serve(Method("reverse", reverse, Schema("p", {"blob": bytes})))
    blob = bytes(range(256)) * 4096  # 1 MiB: over the request map's limit, fine as bulk
    result = client(loop.endpoint).call("reverse", {"blob": codec.Bulk(blob)})
    assert result["size"] == len(blob)
    assert isinstance(result["blob"], memoryview)  # the client's view of ZeroMQ's message
    assert bytes(result["blob"]) == blob[::-1]


def test_rpc_arrow_frame_reply_reads_back_equal(serve, client) -> None:
    frame = pl.DataFrame({"ts": [1, 2, 3], "close": [1.5, 2.5, 3.5], "sym": ["A", "B", "C"]})
    loop = serve(Method("bars", lambda p, c: {"rows": 3, "arrow": frame_to_bulk(frame)}))
    result = client(loop.endpoint).call("bars")
    assert ipc_to_frame(result["arrow"]).equals(frame)


def test_rpc_wire_v1_request_gets_an_error_naming_both_versions(serve, dealer) -> None:
    loop = serve(Method("add", Calls().add, ADD_PARAMS))
    socket = dealer(loop.endpoint)
    socket.send(codec.pack({"v": 1, "id": 8, "method": "add", "params": {"a": 1, "b": 1}}))
    reply = reply_of(socket)
    assert (reply["id"], reply["error"]["code"]) == (8, "BAD_REQUEST")
    assert "protocol version 1 is not 2" in reply["error"]["message"]
    assert "wire v2" in reply["error"]["message"]
