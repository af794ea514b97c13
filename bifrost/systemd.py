"""systemd units for one host's services, rendered from the config.

Each service is a `Type=notify` unit (the daemon sends READY=1, WATCHDOG=1 at half of
WatchdogSec, STATUS= and STOPPING=1), restarted on failure within limits, run as a
dedicated user with the data dir as its StateDirectory, and sandboxed: read-only
system, no home, private /tmp and devices, no privileges or capabilities, only
AF_UNIX/AF_INET/AF_INET6 sockets, the @system-service system calls. numba compiles
to executable memory, so MemoryDenyWriteExecute stays off. A `bifrost.target`
groups the host's units.

The research cluster's units (`bifrost-dask-scheduler.service` on `[research]
scheduler_host`, `bifrost-dask-worker.service` on each of `worker_hosts`) run the venv's
`dask` command with the same user and sandbox. They are not part of bifrost.target: the
cluster serves research, not trading, and is enabled by name. Dask does not speak the
notify protocol (Type=exec), and its dashboards stay off: they would serve the cluster's
state without TLS or authentication.

Every unit names `bifrost-failed@.service` as its OnFailure= unit: when a unit gives up
restarting (StartLimitBurst), that one-shot runs `bifrost alert raise`, so the desks
show it. Services on hosts that need CURVE reload their allow-list on `systemctl
reload` (SIGHUP). Paths in ExecStart= are quoted for systemd, and `sandbox_warnings`
names an executable or config the sandbox would hide (/tmp, /home).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bifrost.config import BifrostConfig
from bifrost.research.cluster import WORKER_ENVIRONMENT

STATE_DIR = "/var/lib/bifrost"
USER = "bifrost"
SCHEDULER_UNIT = "bifrost-dask-scheduler.service"
WORKER_UNIT = "bifrost-dask-worker.service"
FAILED_UNIT = "bifrost-failed@.service"
"""The OnFailure= unit of every other: raises an alert naming the unit that failed."""
HIDDEN = {
    "/tmp": "PrivateTmp=yes gives the service a /tmp of its own",
    "/var/tmp": "PrivateTmp=yes gives the service a /var/tmp of its own",
    "/home": "ProtectHome=yes hides /home",
    "/root": "ProtectHome=yes hides /root",
    "/run/user": "ProtectHome=yes hides /run/user",
}
"""Folders the units' sandbox hides or replaces, and why."""

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
SystemCallErrorNumber=EPERM
UMask=0077"""
RESEARCH_HARDENING = HARDENING.replace("ProcSubset=pid\n", "")
"""The sandbox of the Dask units, and of the services that open a research cluster
(RESEARCH_SERVICES): distributed reads /proc/meminfo and /proc/stat (psutil) when it
is imported, so /proc is not cut to the process folders; ProtectProc still hides
other users' processes."""
RESEARCH_SERVICES = frozenset({"strategy", "ml"})
"""The services that spread work over the research cluster."""


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
            service_unit(
                s.name,
                s.watchdog_seconds,
                executable,
                config_file,
                reload=config.hosts[host].needs_curve,
            ),
        )
        for s in services
    ]
    wants = " ".join(u.name for u in units)
    units += research_units(config, host, executable.parent / "dask")
    target = (
        "[Unit]\n"
        f"Description=Bifrost services of host {host}\n"
        f"Wants={wants}\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )
    failed = Unit(FAILED_UNIT, failed_unit(host, executable, config_file))
    return [*units, failed, Unit("bifrost.target", target)]


def failed_unit(host: str, executable: Path, config_file: Path) -> str:
    """The OnFailure= template: `bifrost alert raise` naming the unit (%i) that gave up,
    presenting this host's key (which the allow-list gives the admin role)."""
    command = exec_line(
        [
            str(executable),
            "--config",
            str(config_file),
            "--home",
            STATE_DIR,
            "alert",
            "raise",
            "--source",
            "systemd",
            "%i failed and gave up restarting",
        ]
    )
    return (
        "[Unit]\n"
        "Description=Bifrost alert: %i failed\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={command}\n"
        f"User={USER}\n"
        f"Group={USER}\n"
        f"Environment=BIFROST_HOME={STATE_DIR}\n"
        f"Environment=BIFROST_KEY=host-{host}\n"
        f"{HARDENING}\n"
    )


def exec_line(argv: list[str]) -> str:
    """`argv` as an ExecStart= command line: each word that needs it in double quotes,
    with `\\`, `"`, `$` and `%` escaped (a literal `%i` stays a specifier)."""
    return " ".join(_quoted(word) for word in argv)


def _quoted(word: str) -> str:
    escaped = "%i".join(_escaped(part) for part in word.split("%i"))
    if escaped == word and word and not any(c.isspace() or c in "'\";" for c in word):
        return word
    return f'"{escaped}"'


def _escaped(text: str) -> str:
    """`text` with systemd's special characters escaped, inside double quotes."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$").replace("%", "%%")


def sandbox_warnings(executable: Path, config_file: Path) -> list[str]:
    """What the units' sandbox would hide from the service: an executable or config file
    under /tmp or /home (say), with where to put them instead."""
    warnings = []
    for what, path in (("the bifrost executable", executable), ("the config", config_file)):
        for folder, why in HIDDEN.items():
            if path.is_relative_to(folder):
                warnings.append(
                    f"{what} {path} is under {folder}, which the service will not see "
                    f"({why}); install under /opt/bifrost (python3 -m venv /opt/bifrost/venv) "
                    "and keep the config in /etc/bifrost"
                )
    return warnings


def research_units(config: BifrostConfig, host: str, dask: Path) -> list[Unit]:
    """The research cluster's units on `host`: the Dask scheduler where `[research]
    scheduler_host` names it, a Dask worker where `worker_hosts` does."""
    settings = config.research
    units = []
    if settings.scheduler_host == host:
        command = scheduler_command(config, dask)
        units.append(Unit(SCHEDULER_UNIT, research_unit("Dask scheduler", command)))
    if host in settings.worker_hosts:
        command = worker_command(config, config.hosts[host].address, dask)
        units.append(Unit(WORKER_UNIT, research_unit("Dask workers", command)))
    return units


def scheduler_command(config: BifrostConfig, dask: Path) -> list[str]:
    """`dask scheduler` on the address and port of `[research] scheduler`, over TLS with the
    research files when that address is tls://, without a dashboard."""
    settings = config.research
    protocol = "tls" if settings.uses_tls else "tcp"
    return [
        str(dask),
        "scheduler",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        # Named, not inferred from the TLS options: a tls unit without them fails to start.
        "--protocol",
        protocol,
        "--no-dashboard",
        *tls_options(config),
    ]


def worker_command(config: BifrostConfig, address: str, dask: Path) -> list[str]:
    """`dask worker` of the scheduler, serving on `address`: `[research] workers`
    single-threaded processes (0: one per core), without dashboards."""
    settings = config.research
    # -1 is "as many processes as cores"; "auto" would also pick the threads per process.
    processes = str(settings.workers or -1)
    return [
        str(dask),
        "worker",
        settings.scheduler,
        "--nworkers",
        processes,
        "--nthreads",
        "1",
        "--host",
        address,
        "--no-dashboard",
        *tls_options(config),
    ]


def tls_options(config: BifrostConfig) -> list[str]:
    """The `--tls-*` options of a `dask` command: the research files in the key store of the
    units' data dir (none when the scheduler is not tls://)."""
    settings = config.research
    if not settings.uses_tls:
        return []
    files = settings.tls_files(config.keys_dir(Path(STATE_DIR)), config.path.parent)
    return [
        "--tls-ca-file",
        str(files["tls_ca"]),
        "--tls-cert",
        str(files["tls_cert"]),
        "--tls-key",
        str(files["tls_key"]),
    ]


def research_unit(role: str, command: list[str]) -> str:
    """The unit of one research cluster process."""
    return (
        "[Unit]\n"
        f"Description=Bifrost research cluster: {role}\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        f"OnFailure={FAILED_UNIT.replace('@', '@%N')}\n"
        "StartLimitIntervalSec=300\n"
        "StartLimitBurst=5\n\n"
        "[Service]\n"
        "Type=exec\n"
        f"ExecStart={exec_line(command)}\n"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        "TimeoutStopSec=30\n"
        f"User={USER}\n"
        f"Group={USER}\n"
        "StateDirectory=bifrost\n"
        "StateDirectoryMode=0750\n"
        f"WorkingDirectory={STATE_DIR}\n"
        # numba's cache beside the installed code is read-only under ProtectSystem=strict.
        f"Environment=NUMBA_CACHE_DIR={STATE_DIR}/numba-cache\n"
        + "".join(f'Environment="{variable}"\n' for variable in WORKER_ENVIRONMENT)
        + f"{RESEARCH_HARDENING}\n\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def service_unit(
    name: str, watchdog_s: float, executable: Path, config_file: Path, reload: bool = False
) -> str:
    """The unit of one service; `reload`: `systemctl reload` sends SIGHUP (the daemon
    re-reads its allow-list; only daemons of hosts that need CURVE handle it)."""
    command = exec_line(
        [str(executable), "--config", str(config_file), "--home", STATE_DIR, "daemon", "run", name]
    )
    return (
        "[Unit]\n"
        f"Description=Bifrost {name} service\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "PartOf=bifrost.target\n"
        f"OnFailure={FAILED_UNIT.replace('@', '@%N')}\n"
        "StartLimitIntervalSec=300\n"
        "StartLimitBurst=5\n\n"
        "[Service]\n"
        "Type=notify\n"
        "NotifyAccess=main\n"
        f"ExecStart={command}\n"
        + ("ExecReload=/bin/kill -HUP $MAINPID\n" if reload else "")
        + "Restart=on-failure\n"
        "RestartSec=2\n"
        f"WatchdogSec={watchdog_s:g}\n"
        "TimeoutStopSec=30\n"
        f"User={USER}\n"
        f"Group={USER}\n"
        "StateDirectory=bifrost\n"
        "StateDirectoryMode=0750\n"
        f"WorkingDirectory={STATE_DIR}\n"
        f"Environment=BIFROST_HOME={STATE_DIR}\n"
        f"{RESEARCH_HARDENING if name in RESEARCH_SERVICES else HARDENING}\n\n"
        "[Install]\n"
        "WantedBy=bifrost.target\n"
    )
