"""Tick backtests through quote fills, and `on_timer` in the bar engine."""

from __future__ import annotations

import numpy as np

from bifrost.backtest.engine import BacktestConfig, run_backtest
from bifrost.backtest.ticks import QuoteArrays, run_tick_backtest
from bifrost.model.market import Bar, Quote
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.strategy import Strategy

SECOND = 1_000_000_000


class BuyThenSellOnSpread(Strategy):
    """Buys 150 on the first quote; sells everything once the bid is above 101."""

    def on_quote(self, quote: Quote) -> None:
        held = self.position(quote.symbol)
        if held == 0 and not self.context.portfolio().positions:
            self.buy(quote.symbol, 150)
        elif held > 0 and quote.bid > 101:
            self.sell(quote.symbol)


def quotes(bids: list[float], size: float = 100.0) -> QuoteArrays:
    n = len(bids)
    bid = np.array(bids)
    return QuoteArrays(np.arange(1, n + 1, dtype=np.int64) * SECOND, bid, bid + 0.1,
                       np.full(n, size), np.full(n, size))


def test_tick_backtest_fills_at_the_touch_limited_by_quoted_size() -> None:
    result = run_tick_backtest(
        BuyThenSellOnSpread(), {"X": quotes([100.0, 100.5, 101.2, 101.3])},
        BacktestConfig(cash=100_000.0),
    )
    # Quote 1: the buy of 150 rests (placed during that quote). Quote 2 (ask 100.6, size
    # 100): fills 100. Quote 3 (ask 101.3): the other 50; bid 101.2 > 101 -> sell placed.
    # Quote 4 (bid 101.3, size 100): sells 100; the last 50 close at the final mid 101.35.
    fills = [(f.side.value, f.quantity, f.price) for f in result.fills]
    assert fills == [("BUY", 100.0, 100.6), ("BUY", 50.0, 101.3), ("SELL", 100.0, 101.3),
                     ("SELL", 50.0, 101.35)]
    assert result.equity[-1] == 100_000.0 + 100 * (101.3 - 100.6) + 50 * (101.35 - 101.3)


class Ticker(Strategy):
    """Counts its timer calls."""

    timer_seconds = 3.0

    def on_start(self) -> None:
        self.calls: list[int] = []

    def on_timer(self, ts: int) -> None:
        self.calls.append(ts)

    def on_bar(self, bar: Bar) -> None:
        pass


def test_on_timer_runs_each_time_the_interval_is_crossed() -> None:
    ts = np.arange(0, 10, dtype=np.int64) * SECOND  # bars at 0..9 s
    bars = BarArrays(ts, *(np.full(10, 100.0) for _ in range(4)), np.zeros(10))
    strategy = Ticker()
    run_backtest(strategy, {"X": bars}, BacktestConfig())
    assert strategy.calls == [3 * SECOND, 6 * SECOND, 9 * SECOND]
