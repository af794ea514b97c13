"""The state of one host's stack as people see it: which services run, and how well.

Joins three sources: the config (what should run here), the supervisor's state
file (pids, restarts) and each daemon's `health` answer (ready, uptime). A daemon
only counts as ours when the pid it reports is the pid our supervisor started, so
another stack on the same ports is never mistaken for this one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bifrost.client import BUSY_SERVICE_WAIT_MS, BifrostClient
from bifrost.config import BifrostConfig
from bifrost.errors import BifrostError, Unavailable
from bifrost.supervisor import StackPaths, alive, read_pid, read_state


def reports_ready(client: BifrostClient, service: str) -> bool:
    """True when `service` answers `health` at once with the state `ready`."""
    try:
        health = client.health(service, timeout_ms=300, fail_fast=True)
    except BifrostError:
        return False
    return bool(health.get("state") == "ready")


def service_rows(
    config: BifrostConfig,
    client: BifrostClient,
    paths: StackPaths,
    host: str,
    built: Iterable[str],
) -> list[dict[str, Any]]:
    """One row per service configured on `host`: pid, state, uptime, restarts, endpoints."""
    supervised = read_state(paths).get("services", {}) if read_pid(paths.supervisor_pid) else {}
    built = set(built)
    rows = []
    for spec in config.services_on(host):
        info = supervised.get(spec.name, {})
        pid = info.get("pid") if info.get("pid") and alive(info["pid"]) else None
        row: dict[str, Any] = {
            "service": spec.name,
            "host": spec.host,
            "pid": pid,
            "state": "down",
            "uptime_s": None,
            "restarts": info.get("restarts", 0),
            "rpc": spec.rpc,
            "pub": spec.pub,
            "http": spec.http,
        }
        if spec.name not in built:
            row["state"] = "not built"
        elif pid is not None:
            row["state"] = "starting"
            health = health_or_nothing(client, spec.name)
            if health.get("pid") == pid:
                row["state"] = health.get("state", "unknown")
                row["uptime_s"] = health.get("uptime_s")
        elif info.get("state") == "backoff":
            row["state"] = "restarting"
        rows.append(row)
    return rows


def wait_until_ready(
    config: BifrostConfig,
    client: BifrostClient,
    paths: StackPaths,
    host: str,
    built: Iterable[str],
    timeout_s: float,
    supervisor_pid: int,
) -> list[dict[str, Any]]:
    """Poll until every built service on `host` is ready; Unavailable names the laggards.

    Gives up early when the supervisor process `supervisor_pid` is gone.
    """
    built = list(built)
    deadline = time.monotonic() + timeout_s
    while True:
        rows = service_rows(config, client, paths, host, built)
        waiting = [r for r in rows if r["state"] not in ("ready", "not built")]
        if not waiting:
            return rows
        for row in waiting:
            taken = port_taken(paths.service_log(row["service"])) if row["restarts"] else None
            if taken:  # restarting will not help: something else holds the port
                raise Unavailable(
                    f"{taken}; stop what uses it or change the ports in {config.path}",
                    {"service": row["service"]},
                )
        if time.monotonic() > deadline or not alive(supervisor_pid):
            names = ", ".join(f"{r['service']} ({r['state']})" for r in waiting)
            logs = ", ".join(str(paths.service_log(r["service"])) for r in waiting)
            if not alive(supervisor_pid):
                names += f"; the supervisor exited, see {paths.log_dir / 'supervisor.log'}"
            raise Unavailable(
                f"not ready after {timeout_s:.0f} s: {names}; see the logs: {logs}",
                {"waiting": [r["service"] for r in waiting]},
            )
        time.sleep(0.05)


def all_host_rows(
    config: BifrostConfig, client: BifrostClient, built: Iterable[str]
) -> list[dict[str, Any]]:
    """Every configured service on every host, as its own `health` reports it."""
    built = set(built)
    rows = []
    for spec in config.services.values():
        row: dict[str, Any] = {
            "service": spec.name,
            "host": spec.host,
            "pid": None,
            "state": "down",
            "uptime_s": None,
            "restarts": None,
            "rpc": spec.rpc,
            "pub": spec.pub,
            "http": spec.http,
        }
        if spec.name not in built:
            row["state"] = "not built"
        else:
            health = health_or_nothing(client, spec.name)
            if health:
                row.update(
                    state=health.get("state", "unknown"),
                    pid=health.get("pid"),
                    uptime_s=health.get("uptime_s"),
                )
        rows.append(row)
    return rows


def health_or_nothing(client: BifrostClient, service: str) -> dict[str, Any]:
    """`service`'s health, or {} when it does not answer: at once when nothing listens,
    after BUSY_SERVICE_WAIT_MS when it listens but stays silent (busy is not down)."""
    try:
        return client.health(service, timeout_ms=BUSY_SERVICE_WAIT_MS, fail_fast=True)
    except BifrostError:
        return {}


def port_taken(log: Path) -> str | None:
    """The bind error of a daemon's last start, if its log ends with one."""
    try:
        with log.open("rb") as lines:
            lines.seek(max(0, log.stat().st_size - 4096))
            tail = lines.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(tail[-5:]):
        if "cannot listen on" in line and "in use" in line:
            return line.split("error:", 1)[-1].strip()
    return None
