"""The `[strategy]` config section: the strategy service's backtest workers.

What it configures is how the strategy service spreads backtests over worker processes
(bifrost/backtest/worker.py). It lives here, not in bifrost/backtest, because
bifrost/config.py gathers every section and much of the live path imports that: the
live path must not reach the backtester, even through the config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bifrost.errors import BadRequest


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    """Backtest workers of the strategy service (they need its `worker_port`)."""

    workers: int = 0
    """Worker processes the strategy daemon starts on its own host; more can join from
    other hosts with `bifrost daemon worker --connect strategy`."""
    heartbeat_seconds: float = 1.0
    """Heartbeat interval between the service and its workers; three missed is death."""
    max_attempts: int = 3
    """Times a job is handed to a worker before a job whose workers keep dying fails."""

    def __post_init__(self) -> None:
        if self.workers < 0 or self.max_attempts < 1 or not self.heartbeat_seconds > 0:
            raise BadRequest("workers must be >= 0, max_attempts >= 1, heartbeat_seconds > 0")

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready view."""
        return asdict(self)
