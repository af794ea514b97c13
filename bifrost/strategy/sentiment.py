"""Where a strategy's `sentiment()` reads from: a rolling news score by symbol."""

from __future__ import annotations

from typing import Protocol


class SentimentSource(Protocol):
    """Rolling news sentiment by symbol, as known at an instant (bifrost.news.rolling)."""

    def score(self, symbol: str, now_ns: int) -> float:
        """The rolling score in [-1, 1] known at `now_ns`; 0.0 without news."""


class NoNews:
    """The sentiment source of a strategy given none: every symbol reads neutral."""

    def score(self, symbol: str, now_ns: int) -> float:
        """Always 0.0."""
        return 0.0
