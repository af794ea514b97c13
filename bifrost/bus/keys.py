"""The CURVE key store: key pairs on disk and the allow-list that gives each client a role.

A key store is one directory. Each key pair is two files in ZeroMQ's certificate
format (readable by `zmq.auth.load_certificate`): `NAME.key` holds the public key
and may be copied anywhere; `NAME.key_secret` holds both keys, is created with mode
0600 and is refused when group or others can read it. A host's server pair is named
`host-<HOST>`; its daemons also present it as their client identity.

`allowed.toml` is the allow-list of a host: every client public key its services
accept, with the client's role:

    [clients.alice]
    public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    role = "trader"

Roles are ranked: viewer (read) < trader (+ orders, strategies) < admin (+ kill
switch, limits, config).

A daemon that serves from a key store refuses it when the directory is open to group
or others, or when `allowed.toml` is writable by them: whoever can write there can
add their own key or swap the host's. `allow` and `revoke` replace the file in one
rename, so a daemon re-reading it (bifrost.bus.allow_list) never sees half of it.
"""

from __future__ import annotations

import os
import secrets
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
import zmq.utils.z85

from bifrost.errors import ConfigError, Conflict, NotFound

ROLES: tuple[str, ...] = ("viewer", "trader", "admin")
"""Every role, least to most allowed."""
ALLOW_LIST = "allowed.toml"
SECRET_SUFFIX = ".key_secret"
PUBLIC_SUFFIX = ".key"


def role_rank(role: str) -> int:
    """The position of `role` in ROLES (higher may do more)."""
    return ROLES.index(role)


def host_key_name(host: str) -> str:
    """The name of a host's server key pair."""
    return f"host-{host}"


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A CURVE key pair as Z85 text; `secret` is empty when only the public half is known."""

    name: str
    public: bytes
    secret: bytes = b""


@dataclass(frozen=True, slots=True)
class AllowedClient:
    """One entry of the allow-list."""

    name: str
    public_key: str
    role: str


class KeyStore:
    """Reads and writes the key files and the allow-list of one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def generate(self, name: str, role: str) -> KeyPair:
        """Make a new key pair `name` and allow it with `role`; an existing name is CONFLICT."""
        check_name(name)
        check_role(role)
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        public, secret = zmq.curve_keypair()
        secret_path = self.directory / f"{name}{SECRET_SUFFIX}"
        try:
            # O_EXCL with mode 0600: the secret is never readable by others, not even briefly.
            fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise Conflict(
                f"key '{name}' already exists in {self.directory}; pick another name",
                {"name": name},
            ) from None
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(_certificate(name, role, public, secret))
        (self.directory / f"{name}{PUBLIC_SUFFIX}").write_text(
            _certificate(name, role, public, None), encoding="ascii"
        )
        self.allow(name, public.decode("ascii"), role)
        return KeyPair(name, public, secret)

    @property
    def allow_list_path(self) -> Path:
        """The allow-list file of this store."""
        return self.directory / ALLOW_LIST

    def allow(self, name: str, public_key: str, role: str) -> AllowedClient:
        """Add (or change the role of) a client in the allow-list."""
        check_name(name)
        check_role(role)
        check_public_key(public_key)
        clients = {c.name: c for c in self.allowed()}
        clients[name] = AllowedClient(name, public_key, role)
        self._write_allow_list(list(clients.values()))
        return clients[name]

    def revoke(self, name: str) -> AllowedClient:
        """Take a client off the allow-list (its key files stay); NOT_FOUND when it is not on it."""
        clients = {c.name: c for c in self.allowed()}
        if name not in clients:
            raise NotFound(
                f"'{name}' is not on the allow-list {self.allow_list_path}", {"name": name}
            )
        revoked = clients.pop(name)
        self._write_allow_list(list(clients.values()))
        return revoked

    def _write_allow_list(self, clients: list[AllowedClient]) -> None:
        """Replace allowed.toml in one rename (mode 0600): a daemon that re-reads it sees
        the old list or the new one, never a half-written file."""
        lines = [
            "# Clients this host's services accept, by CURVE public key, with their role.",
            "# Roles: viewer (read), trader (+ orders, strategies), admin (+ kill, limits).",
        ]
        for client in clients:
            lines += [
                "",
                f"[clients.{client.name}]",
                f'public_key = "{client.public_key}"',
                f'role = "{client.role}"',
            ]
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.allow_list_path
        scratch = path.with_name(f".{ALLOW_LIST}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as file:
                file.write("\n".join(lines) + "\n")
            os.replace(scratch, path)
        except BaseException:
            scratch.unlink(missing_ok=True)
            raise

    def served_allow_list(self) -> list[AllowedClient]:
        """The allow-list as a daemon enforces it: a ConfigError naming the chmod to run
        when the directory is open to group or others or the file is writable by them,
        and when the list is missing, malformed or empty."""
        refuse_if_open_directory(self.directory)
        path = self.allow_list_path
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise ConfigError(
                f"{self.directory} has no allow-list of client keys ({ALLOW_LIST}): add "
                "clients with `bifrost keys gen NAME --role ...`",
                {"file": str(path)},
            ) from None
        refuse_if_writable(path, mode, "allow-list")
        clients = self.allowed()
        if not clients:
            raise ConfigError(
                f"the allow-list {path} names no client: add clients with "
                "`bifrost keys gen NAME --role ...`",
                {"file": str(path)},
            )
        for client in clients:
            try:
                check_public_key(client.public_key)
            except ConfigError as exc:
                raise ConfigError(f"{path}: [clients.{client.name}]: {exc.message}") from None
        return clients

    def allowed(self) -> list[AllowedClient]:
        """The allow-list (empty when there is none); a malformed file is a ConfigError."""
        path = self.allow_list_path
        if not path.exists():
            return []
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        clients = raw.get("clients", {})
        if set(raw) - {"clients"} or not isinstance(clients, dict):
            raise ConfigError(f"{path}: only [clients.NAME] tables are allowed")
        result = []
        for name, entry in clients.items():
            if not isinstance(entry, dict) or set(entry) != {"public_key", "role"}:
                raise ConfigError(f"{path}: [clients.{name}] needs exactly public_key and role")
            if entry["role"] not in ROLES:
                raise ConfigError(
                    f"{path}: [clients.{name}] role '{entry['role']}' is not one of "
                    f"{', '.join(ROLES)}"
                )
            result.append(AllowedClient(name, str(entry["public_key"]), entry["role"]))
        return result

    def public_key(self, name: str) -> bytes:
        """The public key of `name` (from NAME.key, else the allow-list)."""
        path = self.directory / f"{name}{PUBLIC_SUFFIX}"
        if path.exists():
            public, _ = zmq.auth.load_certificate(path)
            return public
        for client in self.allowed():
            if client.name == name:
                return client.public_key.encode("ascii")
        raise NotFound(
            f"no public key '{name}' in {self.directory}: copy {name}{PUBLIC_SUFFIX} there "
            f"(made by `bifrost keys gen {name}` on its machine)",
            {"name": name},
        )

    def key_pair(self, name: str) -> KeyPair:
        """The full pair `name`; refused when the secret file is missing or readable by others."""
        path = self.directory / f"{name}{SECRET_SUFFIX}"
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise NotFound(
                f"no secret key '{name}' in {self.directory}: make it with "
                f"`bifrost keys gen {name}` (or copy {name}{SECRET_SUFFIX} there, mode 0600)",
                {"name": name},
            ) from None
        refuse_if_shared(path, mode, "secret key file")
        public, secret = zmq.auth.load_certificate(path)
        if not secret:
            raise ConfigError(f"{path} holds no secret-key")
        return KeyPair(name, public, secret)

    def names(self) -> list[str]:
        """Every key pair or public key in the store, sorted."""
        if not self.directory.exists():
            return []
        found = {p.name.removesuffix(SECRET_SUFFIX) for p in self.directory.glob("*.key_secret")}
        found |= {p.stem for p in self.directory.glob("*.key")}
        return sorted(found)


def refuse_if_shared(path: Path, mode: int, what: str) -> None:
    """ConfigError when a secret file (`what`) is readable by group or others, naming the
    chmod that fixes it."""
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{what} {path} is readable by group or others "
            f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`",
            {"file": str(path)},
        )


def refuse_if_open_directory(directory: Path) -> None:
    """ConfigError when a key directory lets group or others in, naming the chmod that
    fixes it: who can write there can replace the allow-list or the host's key."""
    mode = directory.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"key directory {directory} is open to group or others "
            f"(mode {stat.S_IMODE(mode):04o}); run `chmod 700 {directory}`",
            {"file": str(directory)},
        )


def refuse_if_writable(path: Path, mode: int, what: str) -> None:
    """ConfigError when a file that decides who gets in (`what`) is writable by group or
    others, naming the chmod that fixes it."""
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(
            f"{what} {path} is writable by group or others "
            f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`",
            {"file": str(path)},
        )


def check_public_key(public_key: str) -> None:
    """Refuse text that is not a Z85 CURVE public key."""
    try:
        key = zmq.utils.z85.decode(public_key)
    except (ValueError, KeyError):
        key = b""
    if len(key) != 32:
        raise ConfigError(f"'{public_key}' is not a Z85 CURVE public key (40 characters)")


def check_role(role: str) -> None:
    """Refuse a role that is not viewer, trader or admin."""
    if role not in ROLES:
        raise ConfigError(f"role '{role}' is not one of {', '.join(ROLES)}")


def check_name(name: str) -> None:
    """Key names become file names and TOML keys: letters, digits, '-', '_' and '.'."""
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise ConfigError(f"key name '{name}' may only hold letters, digits, '-', '_' and '.'")


def _certificate(name: str, role: str, public: bytes, secret: bytes | None) -> str:
    lines = [
        "#   Bifrost CURVE certificate",
        "metadata",
        f'    name = "{name}"',
        f'    role = "{role}"',
        "curve",
        f'    public-key = "{public.decode("ascii")}"',
    ]
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode("ascii")}"')
    return "\n".join(lines) + "\n"
