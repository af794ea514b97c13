"""Clocks: the one source of time for engines, injected so backtests can replay it.

Timestamps are int nanoseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time in int ns UTC."""

    def now_ns(self) -> int:
        """The current time in nanoseconds since the epoch."""
        ...


class LiveClock:
    """Wall-clock time from the operating system."""

    def now_ns(self) -> int:
        """The current wall-clock time."""
        return time.time_ns()


class SimulatedClock:
    """A clock that only moves when told to: for backtests, replays and tests."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        """The simulated current time."""
        return self._now

    def advance_to(self, ts_ns: int) -> None:
        """Move time forward to `ts_ns`; time never runs backwards."""
        if ts_ns < self._now:
            raise ValueError(f"clock cannot go back from {self._now} to {ts_ns}")
        self._now = ts_ns

    def advance_by(self, delta_ns: int) -> None:
        """Move time forward by `delta_ns`."""
        self.advance_to(self._now + delta_ns)
