"""Builds bars live from trade prints: one open bar per symbol, closed when time moves on.

A bar covers [start, start + timeframe); it closes when a trade of a later interval
arrives or when `close_due(now)` sees its interval has ended. A minute without
trades makes no bar.
"""

from __future__ import annotations

from bifrost.market.timeframes import timeframe_ns
from bifrost.model.market import Bar


class BarBuilder:
    """Folds trades into bars of one timeframe."""

    def __init__(self, timeframe: str = "1m") -> None:
        self.timeframe = timeframe
        self.length_ns = timeframe_ns(timeframe)
        self._open: dict[str, Bar] = {}

    def add_trade(self, symbol: str, ts: int, price: float, size: float) -> Bar | None:
        """Fold one trade in; returns the bar it closed, if it started a new interval."""
        start = ts - ts % self.length_ns
        bar = self._open.get(symbol)
        if bar is not None and start == bar.ts:
            bar.high = max(bar.high, price)
            bar.low = min(bar.low, price)
            bar.close = price
            bar.volume += size
            return None
        if bar is not None and start < bar.ts:
            return None  # a late print for an interval already closed: ignored
        self._open[symbol] = Bar(symbol, self.timeframe, start, price, price, price, price, size)
        return bar

    def close_due(self, now_ns: int) -> list[Bar]:
        """Close every open bar whose interval ended by `now_ns`."""
        closed = [bar for bar in self._open.values() if bar.ts + self.length_ns <= now_ns]
        for bar in closed:
            del self._open[bar.symbol]
        return closed
