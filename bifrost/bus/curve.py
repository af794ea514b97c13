"""CURVE on the wire: securing sockets and the ZAP handler that checks client keys.

A secured service runs one `ZapHandler` thread in its ZeroMQ context. Every CURVE
handshake on the service's ROUTER and PUB sockets asks it (ZAP, RFC 27) whether the
client's public key is on the allow-list; the reply's User-Id is the client's name,
which the RPC server turns into a role. The same thread watches both sockets'
monitors, so a client without CURVE or with the wrong server key is logged too,
although such a handshake never reaches ZAP.

A refused client retries on its own every few hundred milliseconds (ZeroMQ
reconnects), so refusals go through a `RefusalLog`: every one is counted, but a line
is written once per peer and reason a minute, carrying how many it stands for.

On the client side `bifrost.bus.connection_watch` reads a DEALER's monitor so a call
that gets no answer can say why: the server refused our key, or the handshake never
completed (wrong server key), rather than a bare timeout.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
"""Called as refused(reason, count=N, **details) for a line about refused handshakes."""
REFUSAL_WINDOW_S = 60.0
"""A peer refused for one reason gets at most one log line per this many seconds."""
MAX_PEERS_LOGGED = 1000
"""Peers followed one by one per window; refusals from any more share one line per
reason (a flood of fresh keys must not grow the table or the log without bound)."""


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


@dataclass
class _Window:
    """The refusals of one peer and reason since its last log line."""

    opened: float
    unlogged: int = 0


@dataclass
class RefusalLog:
    """Refused handshakes: each one counted, logged once per peer and reason per window.

    The first refusal of a peer for a reason is logged at once with count=1. Those that
    follow within `window_s` are only counted; when the window ends they are logged as
    one line with their count and `over_s` (and the details of the first), and a new
    window opens if any came. Used on one thread (the ZAP handler's).
    """

    log: Refusal
    """Writes one line: log(reason, count=N, **details)."""
    count: Callable[[], None]
    """Called for every refusal (the Prometheus counter)."""
    window_s: float = REFUSAL_WINDOW_S
    now: Callable[[], float] = time.monotonic
    _windows: dict[tuple[str, ...], _Window] = field(default_factory=dict)
    _details: dict[tuple[str, ...], tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def refused(self, reason: str, peer: Mapping[str, str], **details: Any) -> None:
        """One refused handshake of `peer` (what tells it apart: its address and key, or
        the socket when the monitor gives no address); `details` go on its log line."""
        self.count()
        key = (reason, *(f"{name}={value}" for name, value in sorted(peer.items())))
        line = {**peer, **details}
        if key not in self._windows and len(self._windows) >= MAX_PEERS_LOGGED:
            key = (reason, "overflow")
            line = {"peer": "more peers than are followed one by one"}
        window = self._windows.get(key)
        if window is not None:
            window.unlogged += 1
            return
        self._windows[key] = _Window(self.now())
        self._details[key] = (reason, line)
        self.log(reason, count=1, **line)

    def flush(self, everything: bool = False) -> None:
        """Log the counts of windows that ended (`everything`: of all, when stopping)."""
        now = self.now()
        for key, window in list(self._windows.items()):
            if not everything and now - window.opened < self.window_s:
                continue
            reason, details = self._details[key]
            if window.unlogged:
                over_s = round(now - window.opened, 1)
                self.log(reason, count=window.unlogged, over_s=over_s, **details)
            if window.unlogged and not everything:
                self._windows[key] = _Window(now)
            else:
                del self._windows[key]
                del self._details[key]


class ZapHandler:
    """Answers ZAP requests from the allow-list (`name_of` a Z85 public key); one thread."""

    def __init__(
        self,
        ctx: zmq.SyncContext,
        name_of: Callable[[bytes], str | None],
        refusals: RefusalLog,
    ) -> None:
        self.ctx = ctx
        self.name_of = name_of
        self.refusals = refusals
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
                self.refusals.flush()
        finally:
            self.refusals.flush(everything=True)
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
            name = self.name_of(key)
        if name is None:
            self.refusals.refused(
                "client key not on the allow-list",
                {"peer": address, "client_key": key_text},
                mechanism=mechanism.decode("ascii", "replace"),
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
        # The monitor names no peer, and the error of one peer's retries varies (reset,
        # broken pipe): the socket tells refusals apart.
        self.refusals.refused(
            reason,
            {"socket": label},
            handshake=zmq.Event(event).name,
            protocol_error=message["value"],
        )
