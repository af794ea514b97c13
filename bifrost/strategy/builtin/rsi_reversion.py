"""RSI mean reversion: buy oversold, sell when it is overbought again."""

from __future__ import annotations

import numpy as np

from bifrost.indicators import rsi
from bifrost.model.market import Bar
from bifrost.sim.constraints import at_least, between, less_than
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.strategy import Strategy


class RsiReversion(Strategy):
    """Buy when RSI(period) is below `lower`; sell when it rises above `upper`."""

    name = "rsi_reversion"
    period: int = 14
    lower: float = 30.0
    upper: float = 70.0
    constraints = (
        at_least("period", 1),
        between("lower", 0, 100),
        between("upper", 0, 100),
        less_than("lower", "upper"),
    )

    @classmethod
    def signals(
        cls, bars: BarArrays, period: int = 14, lower: float = 30.0, upper: float = 70.0
    ) -> tuple[np.ndarray, ...]:
        """Entry and exit signals for the vectorized engine (NaN compares false)."""
        values = rsi(bars.close, period)
        return values < lower, values > upper

    def on_start(self) -> None:
        self.fraction = 1 / len(self.symbols)
        self.rsi = {s: self.I(rsi, self.data[s].close, self.period, symbol=s) for s in self.symbols}

    def on_bar(self, bar: Bar) -> None:
        value = self.rsi[bar.symbol][-1]
        held = self.position(bar.symbol)
        if held == 0 and value < self.lower:
            self.buy(bar.symbol, fraction=self.fraction)
        elif held > 0 and value > self.upper:
            self.sell(bar.symbol)
