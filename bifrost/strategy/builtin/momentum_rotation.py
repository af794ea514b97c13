"""Momentum rotation: hold the best performers of a basket, rebalanced on a schedule."""

from __future__ import annotations

from bifrost.model.market import Bar
from bifrost.sim.constraints import at_least
from bifrost.strategy.strategy import Strategy


class MomentumRotation(Strategy):
    """Every `rebalance` bars, hold the `top` symbols with the best `lookback` return.

    Symbols that drop out of the top are sold at the next open; the cash is then
    split equally among new entries. Needs several symbols aligned by time; it is
    not expressible as one symbol's signals, so it runs on the event engine only.
    """

    name = "momentum_rotation"
    lookback: int = 60
    top: int = 1
    rebalance: int = 20
    constraints = (at_least("lookback", 1), at_least("top", 1), at_least("rebalance", 1))

    def on_start(self) -> None:
        self.bars_seen = 0
        self.last_ts = -1

    def on_bar(self, bar: Bar) -> None:
        if bar.ts == self.last_ts:
            return  # one decision per timestamp, on its first symbol
        self.last_ts = bar.ts
        self.bars_seen += 1
        if self.bars_seen <= self.lookback or self.bars_seen % self.rebalance:
            return
        winners = set(self.ranking()[: self.top])
        for symbol in self.symbols:
            if self.position(symbol) > 0 and symbol not in winners:
                self.sell(symbol)
        wanted = [s for s in winners if self.position(s) == 0]
        for i, symbol in enumerate(sorted(wanted)):
            # Each buy spends an equal share of what is left for the remaining entries.
            self.buy(symbol, fraction=1 / (len(wanted) - i))

    def ranking(self) -> list[str]:
        """Symbols with enough history, best `lookback` return first."""
        scores = {}
        for symbol in self.symbols:
            i = self.context.index(symbol)
            if i >= self.lookback:
                close = self.data[symbol].close
                scores[symbol] = close[i] / close[i - self.lookback] - 1
        return sorted(scores, key=lambda s: scores[s], reverse=True)
