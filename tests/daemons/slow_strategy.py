"""A strategy that takes its time, so a test can catch a backtest worker mid-job."""

from __future__ import annotations

import time

from bifrost.strategy.strategy import Strategy


class Slow(Strategy):
    """Sleeps `pause` seconds before the first bar, then holds no position."""

    name = "slow"
    pause: float = 0.0
    k: int = 0
    """A parameter that changes nothing, to make grids of equal points."""

    def on_start(self) -> None:
        time.sleep(self.pause)
