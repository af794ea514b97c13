"""Handshake attacks on a CURVE-secured daemon: raw TCP garbage and clients with bad keys.

Used by `bench/fuzz_rpc.py --curve` once the fuzz frames are sent. Four phases, each
spread over the service's RPC and PUB ports and sent in batches:

- raw TCP connections (plain `socket`) that send random bytes and hang up;
- raw TCP connections that send a plain ZMTP 3.0 NULL greeting (no CURVE);
- CURVE clients holding the right server key but a key that is on no allow-list;
- CURVE clients holding an allowed key but the wrong server key.

Bad CURVE clients never reconnect, so each makes exactly one handshake. After every
batch the legitimate admin client must still get an answer to `health`. Each phase
reports how many attempts the daemon refused (hung up on, or never answered) and how
many it counted as `bifrost_bad_frames{reason="unauthenticated"}` on its /metrics page.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import zmq
from prometheus_client.parser import text_string_to_metric_families

from bifrost.bus import codec, methods
from bifrost.bus.curve import ClientCurve
from bifrost.bus.rpc import RpcClient
from bifrost.errors import BifrostError

NULL_GREETING = (
    b"\xff" + b"\x00" * 8 + b"\x7f"  # signature
    + b"\x03\x00"  # ZMTP 3.0
    + b"NULL".ljust(20, b"\x00")  # mechanism
    + b"\x00"  # as-server: no
    + b"\x00" * 31  # filler
)  # fmt: skip
"""A ZMTP 3.0 greeting asking for the NULL mechanism: a ZeroMQ peer without CURVE."""
BATCH = 50
HANG_UP_WAIT_S = 2.0
"""How long a raw connection waits for the daemon to hang up on it."""
COUNT_SETTLE_S = 5.0
"""How long a phase waits for the daemon's refusal count to reach its attempts."""
PROBE_TIMEOUT_MS = 5000


@dataclass
class Phase:
    """What one kind of attack did and what the daemon made of it."""

    kind: str
    attempts: int = 0
    refused: int = 0
    """Attempts the daemon hung up on (raw) or never answered (CURVE clients)."""
    counted: int = 0
    """Growth of bifrost_bad_frames{reason="unauthenticated"} over the phase."""
    admin_calls: int = 0
    admin_answered: int = 0
    admin_worst_ms: float = 0.0


def unauthenticated(http_url: str) -> int:
    """The daemon's bifrost_bad_frames{reason="unauthenticated"}, read from /metrics."""
    with urllib.request.urlopen(f"{http_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name == "bifrost_bad_frames":
            for sample in family.samples:
                if sample.labels.get("reason") == "unauthenticated":
                    return int(sample.value)
    return 0


class AdminProbe:
    """The legitimate admin client: one `health` call after every batch, timed."""

    def __init__(self, client: RpcClient) -> None:
        self.client = client

    def check(self, phase: Phase) -> None:
        """Call `health` once and record whether (and how fast) it was answered."""
        phase.admin_calls += 1
        started = time.monotonic()
        try:
            health = self.client.call(methods.HEALTH, timeout_ms=PROBE_TIMEOUT_MS, idempotent=True)
        except BifrostError:
            return
        if health.get("state") == "ready":
            phase.admin_answered += 1
            elapsed_ms = (time.monotonic() - started) * 1000
            phase.admin_worst_ms = round(max(phase.admin_worst_ms, elapsed_ms), 1)


def hung_up(sock: socket.socket) -> bool:
    """Read until the daemon closes the connection; False if it keeps it open too long."""
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        pass  # reset by the daemon: also a hang-up
    return True


def raw_phase(
    kind: str,
    payload: Callable[[], bytes],
    address: str,
    ports: tuple[int, int],
    count: int,
    probe: AdminProbe,
    count_now: Callable[[], int],
) -> Phase:
    """`count` plain TCP connections, alternating between the ports, each sending `payload()`."""
    phase = Phase(kind)
    before = count_now()
    for start in range(0, count, BATCH):
        opened = []
        for i in range(start, min(count, start + BATCH)):
            sock = socket.create_connection((address, ports[i % 2]), timeout=HANG_UP_WAIT_S)
            opened.append(sock)
            phase.attempts += 1
            try:
                sock.sendall(payload())
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the daemon already hung up
        for sock in opened:
            phase.refused += hung_up(sock)
            sock.close()
        probe.check(phase)
    phase.counted = settle(count_now, before, phase.attempts)
    return phase


def curve_phase(
    kind: str,
    curve: Callable[[], ClientCurve],
    endpoints: tuple[str, str],
    count: int,
    probe: AdminProbe,
    count_now: Callable[[], int],
) -> Phase:
    """`count` CURVE clients, alternating a DEALER on RPC and a SUB on PUB, one try each."""
    phase = Phase(kind)
    before = count_now()
    ctx = zmq.Context()
    try:
        for start in range(0, count, BATCH):
            opened = []
            for i in range(start, min(count, start + BATCH)):
                sock = ctx.socket(zmq.DEALER if i % 2 == 0 else zmq.SUB)
                sock.setsockopt(zmq.LINGER, 0)
                sock.setsockopt(zmq.RECONNECT_IVL, -1)  # one handshake, no retries
                curve().apply(sock)
                if sock.type == zmq.SUB:
                    sock.setsockopt(zmq.SUBSCRIBE, b"")
                sock.connect(endpoints[i % 2])
                if sock.type == zmq.DEALER:  # Again: already turned away, the pipe is gone
                    with contextlib.suppress(zmq.Again):
                        sock.send(
                            codec.encode_request(1, methods.HEALTH, {}, "x", 1000), zmq.NOBLOCK
                        )
                opened.append(sock)
                phase.attempts += 1
            settle(count_now, before, phase.attempts)
            for sock in opened:
                phase.refused += not sock.poll(0)  # a reply or an event would be a breach
                sock.close(linger=0)
            probe.check(phase)
    finally:
        ctx.destroy(linger=0)
    phase.counted = settle(count_now, before, phase.attempts)
    return phase


def settle(count_now: Callable[[], int], before: int, expected: int) -> int:
    """The count's growth since `before`, once it reaches `expected` or stops growing."""
    deadline = time.monotonic() + COUNT_SETTLE_S
    last, still_since = -1, time.monotonic()
    while True:
        grown = count_now() - before
        now = time.monotonic()
        if grown != last:
            last, still_since = grown, now
        if grown >= expected or now >= deadline or now - still_since > 1.0:
            return grown
        time.sleep(0.05)


def attack(
    rng: random.Random,
    *,
    address: str,
    ports: tuple[int, int],
    endpoints: tuple[str, str],
    http_url: str,
    server_public: bytes,
    admin: ClientCurve,
    raw_connections: int,
    bad_clients: int,
    probe: AdminProbe,
) -> list[dict[str, Any]]:
    """Run the four phases against one daemon; returns one dict per phase."""

    def count_now() -> int:
        return unauthenticated(http_url)

    def unknown_key() -> ClientCurve:
        public, secret = zmq.curve_keypair()
        return ClientCurve(server_public, public, secret)

    def wrong_server_key() -> ClientCurve:
        return ClientCurve(zmq.curve_keypair()[0], admin.public, admin.secret)

    half = raw_connections // 2
    phases = [
        raw_phase(
            "raw TCP, random bytes",
            lambda: rng.randbytes(rng.randint(1, 300)),
            address,
            ports,
            half,
            probe,
            count_now,
        ),
        raw_phase(
            "raw TCP, ZMTP NULL greeting",
            lambda: NULL_GREETING,
            address,
            ports,
            raw_connections - half,
            probe,
            count_now,
        ),
        curve_phase(
            "CURVE, unknown client key", unknown_key, endpoints, bad_clients, probe, count_now
        ),
        curve_phase(
            "CURVE, wrong server key", wrong_server_key, endpoints, bad_clients, probe, count_now
        ),
    ]
    return [asdict(phase) for phase in phases]
