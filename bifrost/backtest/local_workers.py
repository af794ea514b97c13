"""The backtest worker processes a strategy daemon starts on its own host.

Each is a `bifrost daemon worker` child process that connects to the daemon's work
broker like a worker from any other host. A worker that exits is started again,
after 0.5 s doubling to at most 30 s while it keeps dying. Workers are told the
daemon's pid and end when it is gone, so a daemon killed outright leaves none behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
STOP_TIMEOUT_S = 5.0


@dataclass
class _Slot:
    """One worker process and when it may be started again."""

    process: subprocess.Popen[bytes] | None = None
    backoff: float = FIRST_BACKOFF_S
    restart_at: float = 0.0
    started_at: float = 0.0


class LocalWorkers:
    """Starts `count` worker processes with `command`, keeps them running, stops them."""

    def __init__(self, command: list[str], count: int, log: Callable[..., Any]) -> None:
        self.command = command
        self.log = log
        self.restarts = 0
        self._slots = [_Slot() for _ in range(count)]

    def start(self) -> None:
        """Start every worker process."""
        for slot in self._slots:
            self._spawn(slot)

    def keep_alive(self) -> None:
        """Start again the workers that exited (call it from a timer)."""
        now = time.monotonic()
        for slot in self._slots:
            process = slot.process
            if process is None or process.poll() is None:
                continue
            if slot.restart_at == 0.0:
                if now - slot.started_at > MAX_BACKOFF_S:  # it ran a while: start afresh
                    slot.backoff = FIRST_BACKOFF_S
                slot.restart_at = now + slot.backoff
                self.log("worker.exited", pid=process.pid, code=process.returncode)
            elif now >= slot.restart_at:
                slot.backoff = min(slot.backoff * 2, MAX_BACKOFF_S)
                self.restarts += 1
                self._spawn(slot)

    def pids(self) -> list[int]:
        """Process ids of the workers running now."""
        return [s.process.pid for s in self._slots if s.process and s.process.poll() is None]

    def stop(self) -> None:
        """SIGTERM every worker, wait for them, SIGKILL what is left; idempotent."""
        running = [s.process for s in self._slots if s.process and s.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _spawn(self, slot: _Slot) -> None:
        slot.process = subprocess.Popen(
            [*self.command, "--parent", str(os.getpid())], stdin=subprocess.DEVNULL
        )
        slot.restart_at = 0.0
        slot.started_at = time.monotonic()
        self.log("worker.started", pid=slot.process.pid)
