"""SMA crossover: long while the fast average is above the slow one."""

from __future__ import annotations

import numpy as np

from bifrost.backtest.strategy import BarArrays, Strategy
from bifrost.indicators import crossover, crossunder, sma
from bifrost.model.market import Bar


class SmaCross(Strategy):
    """Buy when SMA(fast) crosses above SMA(slow); sell when it crosses back below.

    With several symbols each trades on its own signals, spending its share
    (1 / number of symbols) of the cash at each entry.
    """

    name = "sma_cross"
    fast: int = 10
    slow: int = 30

    @classmethod
    def signals(cls, bars: BarArrays, fast: int = 10, slow: int = 30) -> tuple[np.ndarray, ...]:
        """Entry and exit signals for the vectorized engine."""
        fast_ma, slow_ma = sma(bars.close, fast), sma(bars.close, slow)
        return crossover(fast_ma, slow_ma), crossunder(fast_ma, slow_ma)

    def on_start(self) -> None:
        self.fraction = 1 / len(self.symbols)
        self.averages = {
            s: (
                self.I(sma, self.data[s].close, self.fast, symbol=s),
                self.I(sma, self.data[s].close, self.slow, symbol=s),
            )
            for s in self.symbols
        }

    def on_bar(self, bar: Bar) -> None:
        fast, slow = self.averages[bar.symbol]
        held = self.position(bar.symbol)
        # Comparisons with NaN are false, so nothing fires before both averages exist.
        if held == 0 and fast[-2] <= slow[-2] and fast[-1] > slow[-1]:
            self.buy(bar.symbol, fraction=self.fraction)
        elif held > 0 and fast[-2] >= slow[-2] and fast[-1] < slow[-1]:
            self.sell(bar.symbol)
