"""systemd units for one host's services, rendered from the config.

Each service is a `Type=notify` unit (the daemon sends READY=1, WATCHDOG=1 at half of
WatchdogSec, STATUS= and STOPPING=1), restarted on failure within limits, run as a
dedicated user with the data dir as its StateDirectory, and sandboxed: read-only
system, no home, private /tmp and devices, no privileges or capabilities, only
AF_UNIX/AF_INET/AF_INET6 sockets, the @system-service system calls. numba compiles
to executable memory, so MemoryDenyWriteExecute stays off. A `bifrost.target`
groups the host's units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bifrost.config import BifrostConfig

STATE_DIR = "/var/lib/bifrost"
USER = "bifrost"

HARDENING = """\
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
DevicePolicy=closed
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources @mount @swap @reboot @raw-io @module @obsolete
UMask=0077"""


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit file: its name and text."""

    name: str
    text: str


def render_units(
    config: BifrostConfig,
    host: str,
    executable: Path,
    config_file: Path,
    only: set[str] | None = None,
) -> list[Unit]:
    """The service units of `host` (those in `only`, when given) and its `bifrost.target`."""
    services = [s for s in config.services_on(host) if only is None or s.name in only]
    units = [
        Unit(
            f"bifrost-{s.name}.service",
            service_unit(s.name, s.watchdog_seconds, executable, config_file),
        )
        for s in services
    ]
    wants = " ".join(u.name for u in units)
    target = (
        "[Unit]\n"
        f"Description=Bifrost services of host {host}\n"
        f"Wants={wants}\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )
    return [*units, Unit("bifrost.target", target)]


def service_unit(name: str, watchdog_s: float, executable: Path, config_file: Path) -> str:
    """The unit of one service."""
    command = f"{executable} --config {config_file} --home {STATE_DIR} daemon run {name}"
    return (
        "[Unit]\n"
        f"Description=Bifrost {name} service\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "PartOf=bifrost.target\n"
        "StartLimitIntervalSec=300\n"
        "StartLimitBurst=5\n\n"
        "[Service]\n"
        "Type=notify\n"
        "NotifyAccess=main\n"
        f"ExecStart={command}\n"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        f"WatchdogSec={watchdog_s:g}\n"
        "TimeoutStopSec=30\n"
        f"User={USER}\n"
        f"Group={USER}\n"
        "StateDirectory=bifrost\n"
        "StateDirectoryMode=0750\n"
        f"WorkingDirectory={STATE_DIR}\n"
        f"Environment=BIFROST_HOME={STATE_DIR}\n"
        f"{HARDENING}\n\n"
        "[Install]\n"
        "WantedBy=bifrost.target\n"
    )
