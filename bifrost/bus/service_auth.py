"""Methods only one service may call, and how a caller proves it is that service.

Execution changes orders only on risk's word: its order-changing methods name risk as
their one caller, and the RPC server checks who is calling before the handler runs.

- On a CURVE socket the proof is the caller's ZAP-authenticated User-Id: it must be
  the host key of the host the service runs on (`host-<HOST>`), which only that host's
  daemons hold. Nothing the client writes in a request counts.
- On a loopback socket (no CURVE) the proof is a local service token: 32 random bytes
  in `<home>/service.token`, created once with mode 0600 by whichever daemon needs it
  first. The calling service signs each request with it (HMAC-SHA256 over the method,
  the correlation id and the packed params); the server recomputes the signature and
  compares in constant time. The token itself never travels, so a process squatting
  on the server's port learns nothing it could use for another request, and a signed
  request cannot be altered without the signature failing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bifrost.bus import codec
from bifrost.errors import ConfigError

TOKEN_FILE = "service.token"
TOKEN_BYTES = 32


def token_path(home: Path) -> Path:
    """Where the local service token of a data dir lives."""
    return home / TOKEN_FILE


def service_token(home: Path) -> bytes:
    """The data dir's service token, created (0600, atomically) when there is none yet.

    Written to a private temporary file and hard-linked into place, so a daemon that
    reads it at the same moment sees either no file or the whole token, and two daemons
    creating it at once end up with the same one.
    """
    path = token_path(home)
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        scratch = home / f".{TOKEN_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(TOKEN_BYTES) + "\n")
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass  # another daemon made it first; theirs is the token
        finally:
            scratch.unlink()
    return _read_token(path)


def _read_token(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & 0o077:
        raise ConfigError(
            f"service token {path} is readable by group or others (mode {mode & 0o777:04o}); "
            f"run `chmod 600 {path}`",
            {"file": str(path)},
        )
    try:
        token = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except ValueError:
        token = b""
    if len(token) != TOKEN_BYTES:
        raise ConfigError(f"service token {path} is not {TOKEN_BYTES} bytes of hex; delete it")
    return token


def request_proof(token: bytes, method: str, cid: str, params: Mapping[str, Any]) -> bytes:
    """The signature a service puts on one request: HMAC-SHA256 of method, cid and params."""
    message = b"\0".join((method.encode(), cid.encode(), codec.pack(params)))
    return hmac.new(token, message, hashlib.sha256).digest()


@dataclass
class ServiceCallers:
    """Decides whether a request comes from a named service (see the module doc)."""

    identities: dict[str, str]
    """Service name -> the CURVE User-Id its daemons present (their host's key name)."""
    home: Path
    """The data dir whose service token loopback callers sign with."""
    _token: bytes | None = field(default=None, init=False, repr=False)

    def admits(self, service: str, request: codec.Request, user: str, secured: bool) -> bool:
        """True when `request` (authenticated as `user` on a CURVE socket) is `service`'s."""
        if secured:
            expected = self.identities.get(service)
            return expected is not None and hmac.compare_digest(user, expected)
        if request.auth is None:
            return False
        proof = request_proof(self.token(), request.method, request.cid, request.params)
        return hmac.compare_digest(proof, request.auth)

    def token(self) -> bytes:
        """The service token (read, or created, on first use)."""
        if self._token is None:
            self._token = service_token(self.home)
        return self._token
