"""Deferred replies (bifrost/bus/rpc.py) and calls that do not block (bifrost/bus/pending_calls.py).

One real RpcServer on a loopback port whose handler defers its answer, a second loop
that holds its replies until a group commit, and a PendingCalls client driven the way
a daemon's loop drives it: poll, read the replies, expire the late ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from bifrost.bus.group_commit import GroupCommit
from bifrost.bus.pending_calls import CONNECT_GRACE_S, PendingCalls
from bifrost.bus.rpc import CallContext, Deferred, Method, RpcClient, RpcServer
from bifrost.bus.schema import Schema
from bifrost.errors import BifrostError, Internal, Rejected, Timeout, Unavailable
from bifrost.local_config import free_ports
from bifrost.metrics import ServiceMetrics

pytestmark = pytest.mark.timeout(30)
ECHO = Schema("echo params", {"n": int})


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def make_server(ctx: zmq.Context, methods: list[Method]) -> RpcServer:
    endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    server = RpcServer(ctx, endpoint, ServiceMetrics("test"))
    for method in methods:
        server.add(method)
    return server


def pump(server: RpcServer, calls: PendingCalls | None = None, seconds: float = 0.05) -> None:
    """One daemon-loop stretch: serve requests, read replies, expire late calls."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        server.serve_pending()
        if calls is not None:
            calls.on_readable()
            calls.expire()
        time.sleep(0.001)


def connected(server: RpcServer, calls: PendingCalls) -> None:
    """Until the DEALER's connection is complete (it queues only to a connected peer)."""
    deadline = time.monotonic() + 10
    while True:
        answers: list[Any] = []
        calls.send(
            "ping",
            {"n": 0},
            cid="p",
            timeout_ms=1000,
            on_reply=answers.append,
            on_error=lambda error: None,
        )
        pump(server, calls, 0.05)
        if answers:
            return
        assert time.monotonic() < deadline, "never connected"


def test_a_deferred_reply_reaches_the_caller_when_resolved_and_not_before(ctx):
    held: list[tuple[Deferred, int]] = []

    def later(params: dict[str, Any], call: CallContext) -> Deferred:
        deferred = call.defer()
        held.append((deferred, params["n"]))
        return deferred

    ping = Method("ping", lambda p, c: p, ECHO)
    server = make_server(ctx, [Method("later", later, ECHO), ping])
    calls = PendingCalls(ctx, server.endpoint, name="test")
    replies: list[Any] = []
    errors: list[BifrostError] = []
    try:
        connected(server, calls)
        for n in (1, 2, 3):
            calls.send(
                "later",
                {"n": n},
                cid=f"c{n}",
                timeout_ms=5000,
                on_reply=replies.append,
                on_error=errors.append,
            )
        deadline = time.monotonic() + 5
        while len(held) < 3 and time.monotonic() < deadline:
            pump(server, calls)
        assert [n for _, n in held] == [1, 2, 3]
        pump(server, calls, 0.1)
        assert replies == [] and len(calls) == 3  # nothing answered yet
        held[1][0].resolve({"n": 20})
        held[2][0].reject(Rejected("no", {"rule": "r"}))
        held[2][0].resolve({"n": 30})  # a second answer is ignored
        held[0][0].resolve({"n": 10})
        deadline = time.monotonic() + 5
        while len(replies) + len(errors) < 3 and time.monotonic() < deadline:
            pump(server, calls)
        assert replies == [{"n": 20}, {"n": 10}]
        assert [type(e) for e in errors] == [Rejected] and errors[0].details["rule"] == "r"
        assert len(calls) == 0
    finally:
        calls.close()
        server.close()


def test_a_silent_service_is_a_timeout_naming_it_and_a_stopped_one_fails_at_once(ctx):
    ping = Method("ping", lambda p, c: p, ECHO)
    server = make_server(ctx, [Method("never", lambda p, c: c.defer(), ECHO), ping])
    calls = PendingCalls(ctx, server.endpoint, name="compliance")
    errors: list[BifrostError] = []
    try:
        connected(server, calls)
        calls.send(
            "never",
            {"n": 1},
            cid="x",
            timeout_ms=200,
            on_reply=lambda r: None,
            on_error=errors.append,
        )
        pump(server, calls, 0.1)
        assert errors == []
        pump(server, calls, 0.3)
        assert [type(e) for e in errors] == [Timeout]
        assert errors[0].details == {"service": "compliance", "method": "never"}
    finally:
        calls.close()
        server.close()
    nobody = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    silent = PendingCalls(ctx, nobody, name="execution")
    refused: list[BifrostError] = []
    try:
        started = time.monotonic()
        silent.send(
            "x", {}, cid="y", timeout_ms=3000, on_reply=lambda r: None, on_error=refused.append
        )
        assert refused == [] and len(silent) == 1  # waits a moment for a connection
        while not refused and time.monotonic() - started < 3:
            silent.expire()
            time.sleep(0.02)
        waited = time.monotonic() - started
        assert [type(e) for e in refused] == [Unavailable]
        assert "execution" in refused[0].message
        assert CONNECT_GRACE_S <= waited < CONNECT_GRACE_S + 0.5  # not the 3 s deadline
    finally:
        silent.close()


def test_a_request_sent_before_its_service_is_up_goes_out_once_it_is(ctx):
    endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    calls = PendingCalls(ctx, endpoint, name="strategy")
    replies: list[Any] = []
    server: RpcServer | None = None
    try:
        calls.send(
            "ping",
            {"n": 7},
            cid="early",
            timeout_ms=3000,
            on_reply=replies.append,
            on_error=lambda error: replies.append(error),
        )
        server = RpcServer(ctx, endpoint, ServiceMetrics("test"))  # the service comes up
        server.add(Method("ping", lambda p, c: p, ECHO))
        deadline = time.monotonic() + 5
        while not replies and time.monotonic() < deadline:
            pump(server, calls, 0.02)
        assert replies == [{"n": 7}]
    finally:
        calls.close()
        if server is not None:
            server.close()


def test_group_commit_answers_after_the_commit_and_fails_all_when_it_fails(ctx):
    commits: list[int] = []
    fail = {"now": False}

    def commit() -> None:
        if fail["now"]:
            raise OSError("disk full")
        commits.append(1)

    group = GroupCommit(commit)
    server = make_server(ctx, [Method("put", lambda p, c: group.reply(c, {"n": p["n"]}), ECHO)])
    clients = [RpcClient(ctx, server.endpoint, timeout_ms=3000) for _ in range(2)]
    try:
        results: list[Any] = []

        def call(client: RpcClient, n: int) -> None:
            try:
                results.append(client.call("put", {"n": n}))
            except BifrostError as exc:
                results.append(exc)

        threads = [threading.Thread(target=call, args=(c, i)) for i, c in enumerate(clients)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 5
        while group.waiting < 2 and time.monotonic() < deadline:
            server.serve_pending()
            time.sleep(0.001)
        assert results == []
        assert group.run() == 2 and commits == [1]
        for thread in threads:
            thread.join(5)
        assert sorted(r["n"] for r in results) == [0, 1]
        assert group.largest == 2

        fail["now"] = True
        results.clear()
        thread = threading.Thread(target=call, args=(clients[0], 7))
        thread.start()
        while not group.waiting and time.monotonic() < deadline + 5:
            server.serve_pending()
            time.sleep(0.001)
        with pytest.raises(OSError):
            group.run()
        thread.join(5)
        assert [type(r) for r in results] == [Internal]
        assert "disk full" in results[0].message
    finally:
        for client in clients:
            client.close()
        server.close()
