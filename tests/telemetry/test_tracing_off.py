"""With no `[telemetry]` nothing of OpenTelemetry is imported and requests carry no traceparent.

The daemons of an order's path run in a subprocess of their own (this test process has
imported OpenTelemetry for the other tests) and place one order; the requests that the
bus's clients send are read off a raw ROUTER socket.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from bifrost.bus import codec
from bifrost.bus.pending_calls import PendingCalls
from bifrost.bus.rpc import RpcClient
from bifrost.errors import Timeout
from bifrost.local_config import free_ports
from tests.conftest import write_config

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
PLAIN_REQUEST = {"v", "id", "method", "params", "cid", "deadline_ms"}
ORDER_IN_A_PROCESS = """
import json, sys, time
from pathlib import Path

from bifrost.config import load_config
from bifrost.model.commands import SubmitOrder
from tests.bifrost.conftest import services_running

config = load_config(sys.argv[1])
stack = ("data", "portfolio", "execution", "risk", "compliance")
with services_running(config, Path(sys.argv[2]), stack) as bus:
    time.sleep(0.3)
    order = SubmitOrder.new("AAPL", "BUY", 1, client_order_id="quiet-1").to_wire()
    status = bus.call("risk", "order.submit", order)["status"]
loaded = sorted(m for m in sys.modules if m.partition(".")[0] == "opentelemetry")
print(json.dumps({"status": status, "opentelemetry": loaded}))
"""


def test_daemons_without_telemetry_never_import_opentelemetry(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, services=("data", "portfolio", "execution", "risk", "compliance")
    )
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", ORDER_IN_A_PROCESS, str(config), str(home)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["status"] == "FILLED"
    assert result["opentelemetry"] == []


@pytest.fixture
def router() -> Iterator[tuple[zmq.Context, zmq.Socket, str]]:
    """A raw ROUTER on a free loopback port, standing where a service would listen."""
    ctx = zmq.Context()
    socket = ctx.socket(zmq.ROUTER)
    endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    socket.bind(endpoint)
    yield ctx, socket, endpoint
    ctx.destroy(linger=0)


def request_map(socket: zmq.Socket) -> dict[str, Any]:
    """The next request map the ROUTER reads, undecoded beyond msgpack."""
    assert socket.poll(3000), "no request came"
    _, frame = socket.recv_multipart()
    raw: dict[str, Any] = codec.unpack(frame, codec.MAX_REQUEST_BYTES)
    return raw


def test_a_client_without_tracing_sends_no_traceparent(
    router: tuple[zmq.Context, zmq.Socket, str],
) -> None:
    ctx, socket, endpoint = router
    client = RpcClient(ctx, endpoint, timeout_ms=50, retries=0)
    try:
        with pytest.raises(Timeout):  # nobody answers: the request is all we want
            client.call("order.submit", {"client_order_id": "x"})
        assert set(request_map(socket)) == PLAIN_REQUEST
    finally:
        client.close()


def test_a_deferred_call_without_tracing_sends_no_traceparent(
    router: tuple[zmq.Context, zmq.Socket, str],
) -> None:
    ctx, socket, endpoint = router
    calls = PendingCalls(ctx, endpoint, name="execution")
    try:
        answers: list[Any] = []
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
        assert set(request_map(socket)) == PLAIN_REQUEST
    finally:
        calls.close()
