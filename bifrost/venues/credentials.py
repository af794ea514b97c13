"""Venue API keys in the key store: `KEYS/venues/NAME.toml`, mode 0600, like CURVE secrets.

A file readable by group or others is refused, naming the chmod that fixes it. The
`Credentials` value never prints its secrets (repr and str show the key's last four
characters only), so a log line, a trace or an error that carries it stays clean.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bifrost.bus.keys import check_name, refuse_if_shared
from bifrost.errors import ConfigError, NotFound

VENUE_KEYS = "venues"
"""The key store's folder of venue credentials."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """One venue account's API key and secret (and passphrase, for venues that use one)."""

    api_key: str
    secret: str
    passphrase: str = ""

    def __repr__(self) -> str:
        return f"Credentials(api_key=…{self.api_key[-4:]}, secret=***)"

    __str__ = __repr__

    def secrets(self) -> list[str]:
        """Every secret string here, for tests and redaction."""
        return [s for s in (self.api_key, self.secret, self.passphrase) if s]


class CredentialStore:
    """Reads and writes the venue credentials of one key store directory."""

    def __init__(self, keys_dir: Path) -> None:
        self.directory = keys_dir / VENUE_KEYS

    def path(self, venue: str) -> Path:
        """Where the credentials of `venue` live."""
        check_name(venue)
        return self.directory / f"{venue}.toml"

    def save(self, venue: str, credentials: Credentials) -> Path:
        """Store (or replace) the credentials of `venue`, never readable by others."""
        path = self.path(venue)
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        temporary = path.with_suffix(".tmp")
        temporary.unlink(missing_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(f"# API credentials of venue {venue}; keep this file mode 0600.\n")
            for key in ("api_key", "secret", "passphrase"):
                value = getattr(credentials, key)
                file.write(f"{key} = {_toml_string(value)}\n")
        os.replace(temporary, path)
        return path

    def load(self, venue: str) -> Credentials:
        """The credentials of `venue`; NotFound says how to store them, and a file others
        can read is refused."""
        path = self.path(venue)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise NotFound(
                f"no credentials for venue {venue}: store them with `bifrost venues login {venue}`",
                {"venue": venue},
            ) from None
        refuse_if_shared(path, mode, "credentials file")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            # The parser's message may quote the file's text: say only where it is.
            raise ConfigError(f"{path} is not valid TOML", {"file": str(path)}) from None
        if not isinstance(raw.get("api_key"), str) or not isinstance(raw.get("secret"), str):
            raise ConfigError(f"{path} needs api_key and secret", {"file": str(path)})
        return Credentials(raw["api_key"], raw["secret"], str(raw.get("passphrase", "")))

    def has(self, venue: str) -> bool:
        """True when credentials of `venue` are stored."""
        return self.path(venue).exists()

    def remove(self, venue: str) -> bool:
        """Forget the credentials of `venue`; False when there were none."""
        path = self.path(venue)
        if not path.exists():
            return False
        path.unlink()
        return True


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if any(ord(c) < 0x20 for c in escaped):
        raise ConfigError("credentials may not contain control characters")
    return f'"{escaped}"'
