"""Garbage through CURVE: a secured daemon answers it, hangs up on raw TCP, counts the refusals.

A data daemon on host `local` at 127.0.0.2, marked `secure = true`, gets 2,000 garbage
frames from an admin CURVE DEALER (so they pass the handshake and reach the RPC
layer) and 50 raw TCP connections to its RPC and PUB ports that send a plain ZMTP
NULL greeting or random bytes. Every frame is answered with an error, every raw
connection is hung up on, the NULL greetings are counted as unauthenticated, and
the daemon stays ready for the admin client.
"""

from __future__ import annotations

import io
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from bifrost.bus import codec
from bifrost.bus.curve import ClientCurve
from bifrost.bus.keys import KeyStore, host_key_name
from bifrost.bus.rpc import RpcClient
from bifrost.config import BifrostConfig, load_config
from bifrost.daemon import Daemon
from bifrost.local_config import write_local_config
from tests.bifrost.conftest import DaemonThread
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(30)

FRAMES = 2000
RAW_CONNECTIONS = 50
NULL_GREETING = (
    b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" * 32
)
"""A ZMTP 3.0 greeting for the NULL mechanism: a ZeroMQ peer that speaks no CURVE."""


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[BifrostConfig, DaemonThread, ClientCurve]]:
    """The secured data daemon running, and the admin client's CURVE keys."""
    config = load_config(write_local_config(tmp_path, address="127.0.0.2", secure=True))
    home = tmp_path / "home"
    home.mkdir()
    store = KeyStore(config.keys_dir(home))
    host = store.generate(host_key_name("local"), "admin")
    admin = store.generate("admin", "admin")
    runner = DaemonThread(config, home)
    runner.daemon.log.stream = io.StringIO()  # auth.refused warnings stay out of the output
    try:
        runner.start()
        yield config, runner, ClientCurve(host.public, admin.public, admin.secret)
    finally:
        runner.stop()


def garbage(rng: random.Random) -> list[bytes]:
    """One malformed request: random bytes, a truncated or ill-typed request, bad params."""
    good = codec.encode_request(rng.randint(1, 2**31), "health", {}, "fuzz", 1000)
    kind = rng.randrange(6)
    if kind == 0:
        return [rng.randbytes(rng.randint(0, 200))]
    if kind == 1:
        return [good[: rng.randrange(len(good))]]
    if kind == 2:
        return [rng.randbytes(4), good]  # one frame too many
    if kind == 3:
        return [msgpack.packb({"v": 1, "id": "x", "method": 7, "params": [], "cid": None})]
    if kind == 4:
        return [codec.encode_request(3, "snapshot", {"prefix": [1], "x": 2}, "fuzz", 1000)]
    return [codec.encode_request(4, rng.randbytes(8).hex(), {}, "fuzz", 1000)]


def unauthenticated(daemon: Daemon) -> float:
    value = daemon.metrics.registry.get_sample_value(
        "bifrost_bad_frames_total", {"reason": "unauthenticated"}
    )
    return value or 0.0


def raw_connection(address: str, port: int, payload: bytes) -> bool:
    """Send `payload` over plain TCP; True when the daemon hangs up on it."""
    with socket.create_connection((address, port), timeout=2) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(4096):
                pass
        except TimeoutError:
            return False
        except OSError:
            pass  # reset by the daemon
    return True


def test_garbage_through_curve_and_raw_tcp_is_refused_counted_and_survived(secured) -> None:
    config, runner, admin = secured
    daemon = runner.daemon
    spec = config.service("data")
    rng = random.Random(8)
    codes: dict[str, int] = {}
    ctx = zmq.Context()
    try:
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        admin.apply(dealer)
        dealer.connect(spec.rpc)
        replies: list[dict[str, Any]] = []
        for i in range(FRAMES):
            dealer.send_multipart(garbage(rng))
            while dealer.poll(0 if i - len(replies) < 200 else 3000):
                replies.append(codec.decode_reply(dealer.recv_multipart()[-1]))
        while len(replies) < FRAMES and dealer.poll(3000):
            replies.append(codec.decode_reply(dealer.recv_multipart()[-1]))
        for reply in replies:
            code = "OK" if reply["ok"] else reply["error"]["code"]
            codes[code] = codes.get(code, 0) + 1
        assert len(replies) == FRAMES
        assert set(codes) <= {"BAD_REQUEST", "UNKNOWN_METHOD"}, codes

        before = unauthenticated(daemon)
        hung_up = [
            raw_connection(
                spec.address,
                (spec.rpc_port, spec.pub_port)[i % 4 // 2],
                NULL_GREETING if i % 2 == 0 else rng.randbytes(rng.randint(1, 300)),
            )
            for i in range(RAW_CONNECTIONS)
        ]
        assert all(hung_up)
        # Every NULL greeting is counted. (Bytes that do not start with the ZMTP
        # signature are dropped by libzmq before the handshake, unseen by the monitor.)
        wait_for(lambda: unauthenticated(daemon) - before >= RAW_CONNECTIONS // 2)

        client = RpcClient(ctx, spec.rpc, name="data", timeout_ms=3000, curve=admin)
        try:
            assert client.call("health")["state"] == "ready"
        finally:
            client.close()
    finally:
        ctx.destroy(linger=0)
    assert daemon.state == "ready"
    assert daemon.metrics.registry.get_sample_value(
        "bifrost_bad_frames_total", {"reason": "decode"}
    )
