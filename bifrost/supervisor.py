"""Runs one host's services as child processes: start, watch, restart with backoff, stop.

`bifrost up` launches a detached supervisor process (`bifrost daemon supervise`)
that owns the children; its lock file makes a second `up` a no-op instead of a
second set of daemons. Pids and per-service state go to `<home>/run/`, each
service's log to `<home>/logs/<service>.log`. `bifrost down` sends the supervisor
SIGTERM; it passes SIGTERM to every child, waits, and only then exits.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bifrost.logs import JsonLogger

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 30.0
"""A child that ran this long before crashing restarts with the shortest backoff again."""
STOP_GRACE_S = 15.0
FIRST_START_WAIT_S = 20.0
READY_POLL_S = 0.02
"""How often a service waiting to set up asks whether the one before it is ready: each
service of a first start waits for that in turn, so the wait adds up (a refused probe
costs about 0.1 ms of CPU)."""


@dataclass(frozen=True, slots=True)
class StackPaths:
    """Where the supervisor keeps its lock, pids, state and logs under the data dir."""

    home: Path

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def lock(self) -> Path:
        return self.run_dir / "supervisor.lock"

    @property
    def supervisor_pid(self) -> Path:
        return self.run_dir / "supervisor.pid"

    @property
    def state(self) -> Path:
        return self.run_dir / "supervisor.json"

    def service_pid(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def service_log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def make(self) -> None:
        """Create the run and log folders."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)


@dataclass
class Child:
    """One supervised service process and its restart bookkeeping."""

    name: str
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START_S
    restart_at: float = 0.0
    last_exit: int | None = None
    log: IO[bytes] | None = field(default=None, repr=False)


def alive(pid: int) -> bool:
    """True when a process with this pid exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def read_pid(path: Path) -> int | None:
    """The pid stored in `path`, if the file exists and that process is alive."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def read_state(paths: StackPaths) -> dict[str, Any]:
    """The supervisor's last written state, or {} when it never ran."""
    try:
        state: dict[str, Any] = json.loads(paths.state.read_text())
    except (OSError, ValueError):
        return {}
    return state


class Supervisor:
    """Starts the given services, restarts crashed ones with backoff, stops all on SIGTERM."""

    def __init__(
        self,
        services: list[str],
        paths: StackPaths,
        child_args: list[str],
        log: JsonLogger,
    ) -> None:
        self.paths = paths
        self.child_args = child_args
        """Command prefix of a child; the service name is appended, and on the first start
        `--after` and the service before it."""
        self.log = log
        self.children = {name: Child(name) for name in services}
        self._stopping = False
        self._lock_file: IO[str] | None = None

    def acquire(self) -> bool:
        """Take the host's supervisor lock; False when another supervisor holds it."""
        self.paths.make()
        lock = open(self.paths.lock, "w")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return False
        self._lock_file = lock
        self.paths.supervisor_pid.write_text(f"{os.getpid()}\n")
        return True

    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT; returns the exit code."""
        if not self.acquire():
            self.log.warning("supervisor.already_running")
            return 0
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.log.info("supervisor.started", services=list(self.children))
        try:
            self._first_start()
            while not self._stopping:
                self._check_children()
                self._write_state()
                time.sleep(0.2)
        finally:
            self._stop_children()
            self._write_state()
            self.paths.supervisor_pid.unlink(missing_ok=True)
            self.log.info("supervisor.stopped")
        return 0

    def _first_start(self) -> None:
        """Start every service at once, each told to set up only once the one before it
        in config order is ready.

        Later services read earlier ones at start (risk asks portfolio for positions), so
        they become ready in config order; but importing their code, most of a start,
        overlaps instead of running one service after another. Restarts do not wait.
        """
        before: str | None = None
        for child in self.children.values():
            self._spawn(child, after=before)
            before = child.name

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stopping = True

    def _spawn(self, child: Child, after: str | None = None) -> None:
        if child.log is None:
            child.log = open(self.paths.service_log(child.name), "ab")  # noqa: SIM115
        waits = ["--after", after] if after else []
        child.process = subprocess.Popen(
            [*self.child_args, child.name, *waits],
            stdin=subprocess.DEVNULL,
            stdout=child.log,
            stderr=child.log,
        )
        child.started = time.monotonic()
        self.paths.service_pid(child.name).write_text(f"{child.process.pid}\n")
        self.log.info("service.spawned", child=child.name, pid=child.process.pid)

    def _check_children(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            if child.process is None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._spawn(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            child.last_exit = code
            child.process = None
            self.paths.service_pid(child.name).unlink(missing_ok=True)
            if now - child.started >= STABLE_AFTER_S:
                child.backoff = BACKOFF_START_S
            child.restart_at = now + child.backoff
            self.log.warning(
                "service.exited", child=child.name, code=code, restart_in_s=child.backoff
            )
            child.backoff = min(child.backoff * 2, BACKOFF_MAX_S)

    def _stop_children(self) -> None:
        running = [c for c in self.children.values() if c.process is not None]
        for child in running:
            child.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        deadline = time.monotonic() + STOP_GRACE_S
        for child in running:
            process = child.process
            assert process is not None
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log.error("service.killed", child=child.name, pid=process.pid)
                process.kill()
                process.wait()
            child.last_exit = process.returncode
            child.process = None
            self.paths.service_pid(child.name).unlink(missing_ok=True)
        for child in self.children.values():
            if child.log is not None:
                child.log.close()
                child.log = None

    def _write_state(self) -> None:
        now = time.monotonic()
        services = {
            child.name: {
                "pid": child.process.pid if child.process else None,
                "state": "running"
                if child.process
                else ("stopped" if self._stopping else "backoff"),
                "restarts": child.restarts,
                "last_exit": child.last_exit,
                "uptime_s": round(now - child.started, 1) if child.process else 0.0,
            }
            for child in self.children.values()
        }
        state = {"pid": os.getpid(), "stopping": self._stopping, "services": services}
        tmp = self.paths.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.paths.state)


def await_ready(
    paths: StackPaths, name: str, is_ready: Callable[[str], bool], timeout_s: float
) -> None:
    """Wait until service `name` answers as ready, its process is gone, or `timeout_s`
    passed: a service started after `name` sets up once `name` is there to ask."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if read_pid(paths.service_pid(name)) is None:
            return  # it died: the watch loop restarts it, and nothing waits for that
        if is_ready(name):
            return
        time.sleep(READY_POLL_S)


def launch_supervisor(paths: StackPaths, command: list[str]) -> int:
    """Start `command` (a supervisor) detached from this terminal; returns its pid."""
    paths.make()
    with open(paths.log_dir / "supervisor.log", "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    return process.pid


def stop_supervisor(paths: StackPaths, timeout: float = STOP_GRACE_S + 5) -> list[int]:
    """SIGTERM the supervisor, wait for it and its children; returns pids that were stopped."""
    pid = read_pid(paths.supervisor_pid)
    state = read_state(paths)
    children = [s["pid"] for s in state.get("services", {}).values() if s.get("pid")]
    stopped = []
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        stopped.append(pid)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    # A child whose supervisor was killed outright is stopped here instead.
    for child in children:
        if alive(child):
            os.kill(child, signal.SIGTERM)
            stopped.append(child)
    deadline = time.monotonic() + timeout
    while any(alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    for child in children:
        if alive(child):
            os.kill(child, signal.SIGKILL)
    paths.supervisor_pid.unlink(missing_ok=True)
    return stopped


PACKAGES_ROOT = str(Path(__file__).resolve().parents[1])
"""The folder this process imported `bifrost` (and `cli` beside it) from."""


def python_command(*args: str) -> list[str]:
    """How to run the `bifrost` CLI with this same interpreter and this same code.

    `python -m` puts the working directory first on the import path, so started from a
    folder that holds a `bifrost/` or `cli/` directory (the parent of a checkout, say)
    every child imported that folder instead and crash-looped. `-P` keeps the working
    directory off the path and the folder the parent's packages came from goes first,
    so a child runs exactly the code its parent runs, wherever it is started from.
    """
    launch = (
        f"import runpy, sys; sys.path.insert(0, {PACKAGES_ROOT!r}); "
        "runpy.run_module('cli.main', run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-P", "-c", launch, *args]
