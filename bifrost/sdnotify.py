"""The systemd notify protocol: READY=1, WATCHDOG=1, STATUS=..., STOPPING=1.

Speaks to the unix datagram socket named by NOTIFY_SOCKET (an abstract socket
when it starts with '@'); does nothing when the variable is unset, so a daemon
started by hand or by `bifrost up` behaves the same.
"""

from __future__ import annotations

import contextlib
import os
import socket


class Notifier:
    """Sends state lines to systemd when run under it."""

    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        if self.address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        """True when a notify socket was given."""
        return self._socket is not None

    def watchdog_interval(self) -> float | None:
        """Seconds between WATCHDOG=1 pings: half of WATCHDOG_USEC, if it is meant for us."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        return int(usec) / 2e6

    def notify(self, *lines: str) -> None:
        """Send one datagram of `KEY=VALUE` lines; a missing listener is not an error."""
        if self._socket is None:
            return
        with contextlib.suppress(OSError):  # systemd gone or not listening: nothing to tell
            self._socket.sendto("\n".join(lines).encode(), self.address)

    def close(self) -> None:
        """Close the socket; idempotent."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
