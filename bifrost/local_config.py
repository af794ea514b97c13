"""Loopback configs on free ports: for tests, benchmarks and trying a stack beside another.

`write_local_config` writes a complete config with the given services on ports that
are free on 127.0.0.1 at that moment, so several stacks never collide.
"""

from __future__ import annotations

import socket
from pathlib import Path

TEST_FEED = """[feed]
symbols = ["AAPL", "MSFT", "BTC-USD"]
quotes_per_second = 100
seed = 11

[feed.prices]
AAPL = 190.0
MSFT = 420.0
BTC-USD = 65000.0
"""
"""A small, fast synthetic feed."""


def free_ports(count: int) -> list[int]:
    """Ports that are free on 127.0.0.1 right now (held open together, then released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def write_local_config(
    directory: Path,
    services: tuple[str, ...] = ("data",),
    *,
    feed: str = TEST_FEED,
    extra: str = "",
    name: str = "bifrost.toml",
    address: str = "127.0.0.1",
    secure: bool = False,
) -> Path:
    """Write a config with `services` on free loopback ports; returns its path.

    `feed` is the `[feed]` section (TOML text); `extra` is appended (jobs, limits).
    `address` is the host's loopback address; `secure` marks the host `secure = true`, so
    its daemons need CURVE keys (a `host-local` pair and an allow-list in HOME/keys).
    """
    ports = free_ports(3 * len(services))
    lines = [
        "[site]",
        'host = "local"',
        'log_level = "warning"',
        "",
        "[hosts.local]",
        f'address = "{address}"',
        *(["secure = true"] if secure else []),
        "",
    ]
    for i, service in enumerate(services):
        rpc, pub, http = ports[3 * i : 3 * i + 3]
        lines += [
            f"[services.{service}]",
            'host = "local"',
            f"rpc_port = {rpc}",
            f"pub_port = {pub}",
            f"http_port = {http}",
            "",
        ]
    path = directory / name
    path.write_text("\n".join([*lines, feed, extra]), encoding="utf-8")
    return path
