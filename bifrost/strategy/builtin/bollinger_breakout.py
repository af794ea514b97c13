"""Bollinger breakout: ride a close above the upper band until it falls below the middle."""

from __future__ import annotations

import numpy as np

from bifrost.indicators import bollinger
from bifrost.model.market import Bar
from bifrost.sim.constraints import at_least, greater_than
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.strategy import Strategy


class BollingerBreakout(Strategy):
    """Buy when the close ends above the upper band; sell when it ends below the middle."""

    name = "bollinger_breakout"
    period: int = 20
    k: float = 2.0
    constraints = (at_least("period", 2), greater_than("k", 0))

    @classmethod
    def signals(cls, bars: BarArrays, period: int = 20, k: float = 2.0) -> tuple[np.ndarray, ...]:
        """Entry and exit signals for the vectorized engine (NaN compares false)."""
        middle, upper, _ = bollinger(bars.close, period, k)
        return bars.close > upper, bars.close < middle

    def on_start(self) -> None:
        self.fraction = 1 / len(self.symbols)
        self.bands = {}
        for s in self.symbols:
            middle, upper, _ = self.I_many(
                bollinger, self.data[s].close, self.period, self.k, symbol=s
            )
            self.bands[s] = (middle, upper)

    def on_bar(self, bar: Bar) -> None:
        middle, upper = self.bands[bar.symbol]
        held = self.position(bar.symbol)
        if held == 0 and bar.close > upper[-1]:
            self.buy(bar.symbol, fraction=self.fraction)
        elif held > 0 and bar.close < middle[-1]:
            self.sell(bar.symbol)
