"""The allow-list a secured daemon enforces, kept current while the daemon runs.

`bifrost keys allow` and `bifrost keys revoke` rewrite `allowed.toml` in one rename. A
running daemon looks at the file's inode, size and modification time once a second
(and re-reads it at once on SIGHUP); when they changed it reads the file with the
same checks as at start and swaps the new list in:

- the ZAP handler asks `name_of` for every handshake, so a key taken off is refused
  from its next connection, and a key put on is admitted from its next one;
- the RPC server's `roles` (the same dict object) lose the name, so a connection the
  revoked key already holds gets FORBIDDEN from its next request.

A file that cannot be used (malformed, empty, gone, or open to group or others) is
logged and the list in force is kept: a reload never stops the daemon, and a broken
file never opens it up.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from bifrost.bus.keys import AllowedClient, KeyStore
from bifrost.errors import ConfigError

CHECK_EVERY_S = 1.0
"""How often a daemon looks whether allowed.toml changed."""

Log = Callable[..., None]
"""Called as log(level, event, **fields), like bifrost.logs.JsonLogger.log."""


class AllowList:
    """The clients a secured daemon admits: the key store's allow-list, re-read on change."""

    def __init__(self, store: KeyStore, log: Log) -> None:
        """Read the allow-list as at start: a ConfigError when it cannot be served."""
        self.store = store
        self._log = log
        self._stamp = self._file_stamp()
        self.clients = store.served_allow_list()
        self._names = _names_by_key(self.clients)
        self.roles: dict[str, str] = {c.name: c.role for c in self.clients}
        """Client name -> role; the RPC server holds this same dict."""

    def name_of(self, public_key: bytes) -> str | None:
        """The client name of a Z85 public key; None when it is not allowed.

        Called on the ZAP thread; a reload swaps the whole dict, never edits it there.
        """
        return self._names.get(public_key)

    def check(self) -> None:
        """Reload when allowed.toml changed since it was last read (the daemon's timer)."""
        if self._file_stamp() != self._stamp:
            self.reload("file changed")

    def reload(self, why: str = "SIGHUP") -> None:
        """Read allowed.toml again and enforce it; an unusable file keeps the list in force."""
        self._stamp = self._file_stamp()
        try:
            clients = self.store.served_allow_list()
        except (ConfigError, OSError) as exc:
            message = exc.message if isinstance(exc, ConfigError) else str(exc)
            self._log(
                "error",
                "auth.allow_list_kept",
                why=why,
                error=message,
                clients=len(self.clients),
            )
            return
        before = {c.name: c for c in self.clients}
        after = {c.name: c for c in clients}
        self.clients = clients
        self._names = _names_by_key(clients)
        self.roles.clear()  # the loop thread's dict: RPC requests read it on the same thread
        self.roles.update({c.name: c.role for c in clients})
        self._log(
            "info",
            "auth.allow_list_reloaded",
            why=why,
            clients=len(clients),
            added=sorted(after.keys() - before.keys()),
            removed=sorted(before.keys() - after.keys()),
            changed=sorted(n for n in after.keys() & before.keys() if after[n] != before[n]),
        )

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.store.allow_list_path)
        except OSError:
            return None
        return (info.st_ino, info.st_size, info.st_mtime_ns)


def _names_by_key(clients: list[AllowedClient]) -> dict[bytes, str]:
    return {c.public_key.encode("ascii"): c.name for c in clients}
