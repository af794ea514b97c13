"""CURVE on the wire: securing sockets and the ZAP handler that checks client keys.

A secured service runs one `ZapHandler` thread in its ZeroMQ context. Every CURVE
handshake on the service's ROUTER and PUB sockets asks it (ZAP, RFC 27) whether the
client's public key is on the allow-list; the reply's User-Id is the client's name,
which the RPC server turns into a role. The same thread watches both sockets'
monitors, so a client without CURVE or with the wrong server key is logged too,
although such a handshake never reaches ZAP.

On the client side `bifrost.bus.connection_watch` reads a DEALER's monitor so a call
that gets no answer can say why: the server refused our key, or the handshake never
completed (wrong server key), rather than a bare timeout.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zmq
import zmq.utils.z85
from zmq.utils.monitor import recv_monitor_message

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
HANDSHAKE_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)
_monitor_ids = itertools.count(1)

Refusal = Callable[..., None]
"""Called as refused(reason, **details) for every refused handshake."""


@dataclass(frozen=True, slots=True)
class ServerCurve:
    """What a secured server socket needs: its host's key pair (Z85)."""

    public: bytes
    secret: bytes

    def apply(self, socket: zmq.SyncSocket) -> None:
        """Make `socket` a CURVE server; call before bind."""
        socket.setsockopt(zmq.CURVE_SERVER, 1)
        socket.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        socket.setsockopt(zmq.CURVE_SECRETKEY, self.secret)
        socket.setsockopt(zmq.ZAP_DOMAIN, b"bifrost")


@dataclass(frozen=True, slots=True)
class ClientCurve:
    """What a client socket needs: the server's public key and the client's own pair (Z85)."""

    server_public: bytes
    public: bytes
    secret: bytes

    def apply(self, socket: zmq.SyncSocket) -> None:
        """Make `socket` a CURVE client of that server; call before connect."""
        socket.setsockopt(zmq.CURVE_SERVERKEY, self.server_public)
        socket.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        socket.setsockopt(zmq.CURVE_SECRETKEY, self.secret)


class ZapHandler:
    """Answers ZAP requests from an allow-list {public key (Z85): client name}; one thread."""

    def __init__(self, ctx: zmq.SyncContext, allowed: dict[bytes, str], refused: Refusal) -> None:
        self.ctx = ctx
        self.allowed = dict(allowed)
        self.refused = refused
        self._zap = ctx.socket(zmq.REP)
        self._zap.setsockopt(zmq.LINGER, 0)
        self._zap.bind(ZAP_ENDPOINT)
        self._monitors: list[tuple[str, str]] = []  # (monitor endpoint, socket label)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zap", daemon=True)

    def watch(self, socket: zmq.SyncSocket, label: str) -> None:
        """Log refused handshakes on `socket` (call before start)."""
        endpoint = f"inproc://bifrost-monitor-{next(_monitor_ids)}"
        socket.monitor(endpoint, HANDSHAKE_FAILED)
        self._monitors.append((endpoint, label))

    def start(self) -> None:
        """Start answering on the handler thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and close its sockets; idempotent."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if not self._thread.is_alive():
            self._zap.close(linger=0)

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._zap, zmq.POLLIN)
        monitors: dict[zmq.SyncSocket, str] = {}
        for endpoint, label in self._monitors:
            pair = self.ctx.socket(zmq.PAIR)
            pair.connect(endpoint)
            monitors[pair] = label
            poller.register(pair, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                for socket, _ in poller.poll(100):
                    if socket is self._zap:
                        self._answer(self._zap.recv_multipart())
                    else:
                        self._handshake_failed(recv_monitor_message(socket), monitors[socket])
        finally:
            for pair in monitors:
                pair.close(linger=0)

    def _answer(self, request: list[bytes]) -> None:
        version, request_id = request[0], request[1]
        address = request[3].decode("ascii", "replace") if len(request) > 3 else ""
        mechanism = request[5] if len(request) > 5 else b""
        name = None
        key_text = ""
        if mechanism == b"CURVE" and len(request) > 6 and len(request[6]) == 32:
            key = zmq.utils.z85.encode(request[6])
            key_text = key.decode("ascii")
            name = self.allowed.get(key)
        if name is None:
            self.refused(
                "client key not on the allow-list",
                peer=address,
                mechanism=mechanism.decode("ascii", "replace"),
                client_key=key_text,
            )
            reply = [version, request_id, b"400", b"client key not allowed", b"", b""]
        else:
            reply = [version, request_id, b"200", b"OK", name.encode(), b""]
        self._zap.send_multipart(reply)

    def _handshake_failed(self, message: dict[str, Any], label: str) -> None:
        event = message["event"]
        if event == zmq.EVENT_MONITOR_STOPPED:
            return
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            return  # a ZAP denial, already logged with the key in _answer
        reason = (
            "handshake failed: no CURVE, or a CURVE client holding the wrong server key"
            if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
            else "handshake failed"
        )
        self.refused(
            reason, socket=label, handshake=zmq.Event(event).name, protocol_error=message["value"]
        )
