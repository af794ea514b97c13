"""The W3C `traceparent` in an RPC request (bifrost/bus/codec.py): optional, checked, sent
by traced clients only.

A request of a client that does not trace is the map it always was, and such a map
(from a peer of before tracing) still decodes; a traced client's calls, blocking or
not, carry a well-formed traceparent (their spans go to a collector on loopback).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from bifrost.bus import codec
from bifrost.bus.pending_calls import PendingCalls
from bifrost.bus.rpc import RpcClient
from bifrost.errors import BadRequest, Timeout
from bifrost.local_config import free_ports
from bifrost.telemetry.config import TelemetryConfig
from bifrost.telemetry.spans import Tracing
from tests.telemetry.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.timeout(30)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
W3C = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-(?P<flags>[0-9a-f]{2})$")
"""Version 00 of W3C trace context: trace id, parent span id and flags."""


def sampled(traceparent: str | None) -> bool:
    """True for a well-formed traceparent whose sampled flag is set."""
    match = W3C.match(traceparent or "")
    return match is not None and bool(int(match["flags"], 16) & 1)


def test_request_with_a_traceparent_round_trips() -> None:
    frame = codec.encode_request(7, "order.submit", {"n": 1}, "cid-1", 500, traceparent=TRACEPARENT)
    request = codec.decode_request(frame)
    assert (request.id, request.cid, request.traceparent) == (7, "cid-1", TRACEPARENT)


def test_request_of_a_peer_that_does_not_trace_decodes_with_no_traceparent() -> None:
    plain = {"v": 2, "id": 7, "method": "m", "params": {}, "cid": "c", "deadline_ms": None}
    assert codec.encode_request(7, "m", {}, "c", None) == codec.pack(plain)
    assert codec.decode_request(codec.pack(plain)).traceparent is None


def test_request_whose_traceparent_is_not_text_is_a_bad_request() -> None:
    raw = {"v": 2, "id": 1, "method": "m", "params": {}, "cid": "", "deadline_ms": None}
    with pytest.raises(BadRequest, match="traceparent"):
        codec.decode_request(codec.pack({**raw, "traceparent": 12}))


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    receiver = OtlpReceiver()
    tracer = Tracing(TelemetryConfig(otlp_endpoint=receiver.url), "desk")
    yield tracer
    tracer.close()
    receiver.close()


@pytest.fixture
def router() -> Iterator[tuple[zmq.Context, zmq.Socket, str]]:
    """A raw ROUTER on a free loopback port, standing where a service would listen."""
    ctx = zmq.Context()
    socket = ctx.socket(zmq.ROUTER)
    endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    socket.bind(endpoint)
    yield ctx, socket, endpoint
    ctx.destroy(linger=0)


def next_request(socket: zmq.Socket) -> codec.Request:
    assert socket.poll(3000), "no request came"
    return codec.decode_request(socket.recv_multipart()[1])


def test_a_traced_client_sends_a_w3c_traceparent(
    tracing: Tracing, router: tuple[zmq.Context, zmq.Socket, str]
) -> None:
    ctx, socket, endpoint = router
    client = RpcClient(ctx, endpoint, timeout_ms=50, retries=0, tracing=tracing)
    try:
        with pytest.raises(Timeout):  # nobody answers: the request is all we want
            client.call("order.submit", {"client_order_id": "x"})
        assert sampled(next_request(socket).traceparent)
    finally:
        client.close()


def test_a_traced_deferred_call_sends_a_w3c_traceparent(
    tracing: Tracing, router: tuple[zmq.Context, zmq.Socket, str]
) -> None:
    ctx, socket, endpoint = router
    calls = PendingCalls(ctx, endpoint, name="execution", tracing=tracing)
    answers: list[Any] = []
    try:
        calls.send(
            "order.submit",
            {"client_order_id": "x"},
            cid="c",
            timeout_ms=3000,
            on_reply=answers.append,
            on_error=answers.append,
        )
        for _ in range(300):  # sent once the connection is up (ZMQ_IMMEDIATE)
            if socket.poll(10):
                break
            calls.expire()
        assert sampled(next_request(socket).traceparent)
    finally:
        calls.close()
    assert [type(answer).__name__ for answer in answers] == ["Unavailable"]
