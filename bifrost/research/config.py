"""The `[research]` config section: where research work runs (a Dask scheduler).

`scheduler = "local"` (the default) starts a LocalCluster of `workers` processes on
this machine (0: one per core) when work is big enough to spread. An address
(`tcp://HOST:PORT` or `tls://HOST:PORT`) uses a running cluster. As on the bus, the
rule is fail-closed: plain TCP only to a loopback address; anything else must be
`tls://` with a certificate, its key and the cluster's CA (by default
`research-tls.pem`, `research-tls.key` and `research-ca.pem` in the key store).

`scheduler_host` and `worker_hosts` name the [hosts] that run the `dask scheduler`
and `dask worker` units `bifrost systemd render` writes.

This module imports nothing of the engines: bifrost/config.py gathers every section,
and the live path, which imports that, must not reach the backtester.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bifrost.errors import BadRequest

LOCAL = "local"
ADDRESS = re.compile(r"^(?P<scheme>tcp|tls)://(?P<host>\[[0-9a-fA-F:]+\]|[^:/\s]+):(?P<port>\d+)$")
TLS_FILES = {
    "tls_cert": "research-tls.pem",
    "tls_key": "research-tls.key",
    "tls_ca": "research-ca.pem",
}
"""Default file names, in the key store, of this node's certificate, its key and the CA."""


@dataclass(frozen=True, slots=True)
class ResearchConfig:
    """Where sweeps, optimisation, walk-forward and training folds run."""

    scheduler: str = LOCAL
    """`local` (a LocalCluster here) or a running scheduler's `tcp://` or `tls://` address."""
    workers: int = 0
    """Worker processes per machine: of the LocalCluster, and of each `dask worker` unit
    (0: one per core)."""
    scheduler_host: str | None = None
    """The [hosts] entry whose `dask scheduler` unit `systemd render` writes."""
    worker_hosts: list[str] = field(default_factory=list)
    """The [hosts] entries whose `dask worker` units `systemd render` writes."""
    tls_cert: str | None = None
    """This node's certificate (PEM); default research-tls.pem in the key store."""
    tls_key: str | None = None
    """Its private key (PEM, mode 0600); default research-tls.key in the key store."""
    tls_ca: str | None = None
    """The cluster's CA certificate (PEM); default research-ca.pem in the key store."""

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise BadRequest(f"workers = {self.workers} must be 0 (one per core) or more")
        if self.scheduler == LOCAL:
            if self.worker_hosts or self.scheduler_host:
                raise BadRequest(
                    "scheduler_host and worker_hosts need a scheduler address "
                    '(scheduler = "tls://HOST:8786"), not "local"'
                )
            return
        match = ADDRESS.match(self.scheduler)
        if match is None:
            raise BadRequest(
                f"scheduler '{self.scheduler}' is not \"local\", tcp://HOST:PORT or tls://HOST:PORT"
            )
        if not 1 <= int(match["port"]) <= 65535:
            raise BadRequest(f"scheduler '{self.scheduler}' has no valid port (1-65535)")
        if match["scheme"] == "tcp" and not is_loopback(self.host):
            raise BadRequest(
                f"scheduler '{self.scheduler}' is off loopback: use tls://{self.host}:"
                f"{match['port']} (plain TCP is only for 127.0.0.0/8 and ::1)"
            )

    @property
    def is_local(self) -> bool:
        """True when research work runs on a LocalCluster of this machine."""
        return self.scheduler == LOCAL

    @property
    def uses_tls(self) -> bool:
        """True when the scheduler is reached over TLS."""
        return self.scheduler.startswith("tls://")

    @property
    def host(self) -> str:
        """The scheduler's host (an IP or a name; brackets of an IPv6 address removed)."""
        match = ADDRESS.match(self.scheduler)
        return "127.0.0.1" if match is None else match["host"].strip("[]")

    @property
    def port(self) -> int:
        """The scheduler's port (8786 for a LocalCluster's, which picks its own)."""
        match = ADDRESS.match(self.scheduler)
        return 8786 if match is None else int(match["port"])

    def tls_files(self, keys_dir: Path, config_dir: Path) -> dict[str, Path]:
        """tls_cert, tls_key and tls_ca as paths: given ones relative to the config file's
        folder, the others in the key store."""
        given = {"tls_cert": self.tls_cert, "tls_key": self.tls_key, "tls_ca": self.tls_ca}
        return {
            name: (config_dir / Path(value).expanduser()) if value else keys_dir / TLS_FILES[name]
            for name, value in given.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready view."""
        return asdict(self)


def is_loopback(host: str) -> bool:
    """True for a loopback IP address or `localhost`; a name that is not is never trusted."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
