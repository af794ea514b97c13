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


def parse_instant(text: str) -> int:
    """An ISO date or date-time (naive means UTC) as int ns UTC; ValueError names the text."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO date or date-time (e.g. 2024-01-31)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def format_instant(ts_ns: int, date_only: bool = False) -> str:
    """Int ns UTC as ISO text (a date when `date_only`)."""
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)
    return moment.strftime("%Y-%m-%d") if date_only else moment.strftime("%Y-%m-%d %H:%M:%S")
