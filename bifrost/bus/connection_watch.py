"""Why a client's call got no answer, read from its DEALER socket's monitor.

ZeroMQ hides connection trouble: a request to a port where nothing listens, or to a
server that refused the CURVE handshake, simply waits. The monitor tells which it was,
so a call can fail at once with the reason instead of waiting out every retry.
"""

from __future__ import annotations

import itertools

import zmq
from zmq.utils.monitor import recv_monitor_message

from bifrost.bus.curve import HANDSHAKE_FAILED

_monitor_ids = itertools.count(1)


class ConnectionWatch:
    """Follows one client socket's connection: refused, connected, secured or refused keys."""

    EVENTS = (
        zmq.EVENT_CONNECTED
        | zmq.EVENT_CONNECT_RETRIED
        | zmq.EVENT_HANDSHAKE_SUCCEEDED
        | HANDSHAKE_FAILED
    )

    def __init__(self, ctx: zmq.SyncContext, socket: zmq.SyncSocket, secured: bool) -> None:
        endpoint = f"inproc://bifrost-client-monitor-{next(_monitor_ids)}"
        socket.monitor(endpoint, self.EVENTS)
        self.socket = socket
        self.pipe = ctx.socket(zmq.PAIR)
        """Readable when the monitor has news; poll it beside the socket."""
        self.pipe.setsockopt(zmq.LINGER, 0)
        self.pipe.connect(endpoint)
        self.expects_curve = secured
        self.connected = False
        self.secured = False
        self.refused = False
        """Nothing listens: the first connection attempt was refused before any succeeded."""
        self.refusal = ""

    def read(self) -> None:
        """Take in every event the monitor has sent so far."""
        while self.pipe.poll(0):
            event = recv_monitor_message(self.pipe)["event"]
            if event == zmq.EVENT_CONNECTED:
                self.connected = True
            elif event == zmq.EVENT_CONNECT_RETRIED:
                self.refused = not self.connected
            elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.secured = True
            elif event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self.refusal = "the server refused this client's key (not on its allow-list)"
            elif event & HANDSHAKE_FAILED:
                self.refusal = "the CURVE handshake failed (is the server's public key right?)"

    def problem(self) -> str | None:
        """Why the server did not answer, when the connection tells; None otherwise."""
        self.read()
        if self.refusal:
            return self.refusal
        if self.expects_curve and self.connected and not self.secured:
            return (
                "connected, but the CURVE handshake did not complete "
                "(is the server's public key right?)"
            )
        return None

    def close(self) -> None:
        """Stop the monitor and close its pipe; idempotent. Call it before closing the
        socket: a socket closed while monitored leaks libzmq's monitor socket, and a
        client that reconnects often (a caller polling a restarting service) ran out of
        sockets ("Too many open files")."""
        if not self.socket.closed:
            self.socket.disable_monitor()
        self.pipe.close(linger=0)
