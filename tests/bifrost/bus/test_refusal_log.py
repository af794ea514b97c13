"""Refused handshakes: every one counted, one log line per peer and reason a minute."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from bifrost.bus.curve import MAX_PEERS_LOGGED, ClientCurve, RefusalLog
from bifrost.bus.keys import KeyStore, host_key_name
from bifrost.config import BifrostConfig
from tests.bifrost.bus.test_curve import secure_config
from tests.bifrost.conftest import DaemonThread
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(60)
ATTEMPTS = 30
REFUSED = "client key not on the allow-list"


class Recorded:
    """A RefusalLog's output and a clock the test moves."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.counted = 0
        self.time = 1000.0

    def log(self, reason: str, **details: Any) -> None:
        self.lines.append({"reason": reason, **details})

    def count(self) -> None:
        self.counted += 1

    def refusals(self, window_s: float = 60.0) -> RefusalLog:
        return RefusalLog(self.log, self.count, window_s, now=lambda: self.time)


def test_a_burst_from_one_peer_is_one_line_then_one_line_with_its_count() -> None:
    out = Recorded()
    refusals = out.refusals()
    for _ in range(ATTEMPTS):
        refusals.refused(REFUSED, {"peer": "10.0.0.9", "client_key": "K"}, mechanism="CURVE")
        out.time += 0.3
        refusals.flush()
    assert out.counted == ATTEMPTS
    assert [line["count"] for line in out.lines] == [1]
    out.time += 60
    refusals.flush()
    assert out.lines[1] == {
        "reason": REFUSED,
        "peer": "10.0.0.9",
        "client_key": "K",
        "mechanism": "CURVE",
        "count": ATTEMPTS - 1,
        "over_s": 69.0,
    }


def test_a_peer_that_keeps_retrying_gets_one_line_a_minute() -> None:
    out = Recorded()
    refusals = out.refusals()
    for second in range(3 * 60):  # one refusal a second for three minutes, errors varying
        refusals.refused("handshake failed", {"socket": "rpc"}, protocol_error=100 + second % 2)
        out.time += 1
        refusals.flush()
    assert [line["count"] for line in out.lines] == [1, 59, 60, 60]
    assert sum(line["count"] for line in out.lines) == out.counted == 180


def test_other_peers_and_reasons_get_lines_of_their_own() -> None:
    out = Recorded()
    refusals = out.refusals()
    refusals.refused(REFUSED, {"peer": "10.0.0.9", "client_key": "K"}, mechanism="CURVE")
    refusals.refused(REFUSED, {"peer": "10.0.0.9", "client_key": "L"}, mechanism="CURVE")
    refusals.refused("handshake failed", {"socket": "rpc"}, protocol_error=104)
    refusals.refused("handshake failed", {"socket": "pub"}, protocol_error=32)
    assert len(out.lines) == 4


def test_a_flood_of_fresh_peers_shares_one_line_past_the_limit() -> None:
    out = Recorded()
    refusals = out.refusals()
    for number in range(MAX_PEERS_LOGGED + 500):
        refusals.refused(REFUSED, {"client_key": str(number)})
    assert len(out.lines) == MAX_PEERS_LOGGED + 1
    refusals.flush(everything=True)
    assert out.lines[-1]["count"] == 499
    assert out.lines[-1]["peer"] == "more peers than are followed one by one"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[BifrostConfig, DaemonThread, KeyStore]]:
    """The data daemon on secured host a (its log in a buffer), and mallory's key pair,
    which is not on the allow-list."""
    store = KeyStore(tmp_path / "keys")
    store.generate(host_key_name("a"), "admin")
    store.generate("viewer", "viewer")
    KeyStore(tmp_path / "laptop").generate("mallory", "admin")
    for name in ("mallory.key", "mallory.key_secret"):
        shutil.copy2(tmp_path / "laptop" / name, store.directory / name)
    os.chmod(store.directory / "mallory.key_secret", 0o600)
    config = secure_config(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    runner = DaemonThread(config, home)
    runner.daemon.log.stream = io.StringIO()
    try:
        runner.start()
        yield config, runner, store
    finally:
        runner.stop()


def refused_lines(runner: DaemonThread) -> list[dict]:
    text = runner.daemon.log.stream.getvalue()  # type: ignore[attr-defined]
    return [r for r in map(json.loads, text.splitlines()) if r["event"] == "auth.refused"]


def unauthenticated(runner: DaemonThread) -> float:
    registry = runner.daemon.metrics.registry
    value = registry.get_sample_value("bifrost_bad_frames_total", {"reason": "unauthenticated"})
    return value or 0.0


@pytest.mark.parametrize("server_key", ["right", "wrong"])
def test_thirty_refused_handshakes_are_one_log_line_and_thirty_counts(
    running, tmp_path: Path, server_key: str
) -> None:
    config, runner, store = running
    mallory = store.key_pair("mallory")
    if server_key == "right":  # her key is refused by ZAP
        server = store.public_key(host_key_name("a"))
        client_pair = mallory
    else:  # the viewer holds a wrong server key: the handshake never completes
        server = KeyStore(tmp_path / "impostor").generate(host_key_name("a"), "admin").public
        client_pair = store.key_pair("viewer")
    ctx = zmq.Context()
    try:
        for attempt in range(1, ATTEMPTS + 1):  # one after the other, as a client retries
            socket = ctx.socket(zmq.DEALER)
            socket.setsockopt(zmq.LINGER, 0)
            socket.setsockopt(zmq.RECONNECT_IVL, -1)  # one handshake per socket
            ClientCurve(server, client_pair.public, client_pair.secret).apply(socket)
            socket.connect(config.service("data").rpc)
            wait_for(lambda: unauthenticated(runner) >= attempt, timeout=5)  # noqa: B023
    finally:
        ctx.destroy(linger=0)
    burst = refused_lines(runner)
    assert len(burst) == 1 and burst[0]["count"] == 1
    runner.stop()  # the ZAP thread logs what it only counted
    lines = refused_lines(runner)
    assert len(lines) == 2
    assert lines[1]["reason"] == lines[0]["reason"]
    assert sum(line["count"] for line in lines) == unauthenticated(runner) == ATTEMPTS
