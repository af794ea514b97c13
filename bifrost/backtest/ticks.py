"""Tick backtests: a Strategy run quote by quote through SimulatedExchange's quote fills.

Same engine, clock and accounting as the bar backtest (engine.py); what changes is the
event: each stored quote first fills resting orders (market at the ask or bid up to
the quoted size, limits when the touch crosses, stops on the mid), then reaches the
strategy's `on_quote`. The strategy's data arrays hold one row per quote with the mid
as open/high/low/close, so `self.I(...)` indicators work on mids. Equity is marked at
the mids once per timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bifrost.backtest.engine import BacktestConfig, BacktestResult, EventEngine
from bifrost.errors import BadRequest
from bifrost.model.market import Quote
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.strategy import Strategy


@dataclass(frozen=True, slots=True)
class QuoteArrays:
    """All quotes of one symbol as arrays."""

    ts: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def mids(self) -> BarArrays:
        """One bar per quote, every price the mid, no volume."""
        mid = (self.bid + self.ask) / 2
        return BarArrays(self.ts, mid, mid, mid, mid, np.zeros(len(mid)))


class QuoteEngine(EventEngine):
    """The event engine fed quotes instead of bars."""

    def __init__(self, quotes: dict[str, QuoteArrays], config: BacktestConfig) -> None:
        if not quotes or any(len(q.ts) == 0 for q in quotes.values()):
            raise BadRequest("a tick backtest needs quotes for every symbol")
        self.quotes = dict(sorted(quotes.items()))
        super().__init__({s: q.mids() for s, q in self.quotes.items()}, config)

    def _loop(self, strategy: Strategy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._merged_loop(strategy, self._quote)

    def _quote(self, strategy: Strategy, symbol: str, k: int) -> None:
        q = self.quotes[symbol]
        quote = Quote(
            symbol,
            float(q.bid[k]),
            float(q.ask[k]),
            float(q.bid_size[k]),
            float(q.ask_size[k]),
            int(q.ts[k]),
        )
        self._cursors[symbol][0] = k
        self._marks[symbol] = quote.mid
        self.exchange.process_quote(quote)
        strategy.on_quote(quote)


def run_tick_backtest(
    strategy: Strategy, quotes: dict[str, QuoteArrays], config: BacktestConfig | None = None
) -> BacktestResult:
    """Run `strategy` quote by quote over `quotes`."""
    return QuoteEngine(quotes, config or BacktestConfig()).run(strategy)
