"""The one-symbol event loop keeps the clock's rule (time never goes back) and shows a
strategy each bar's own values through the engine's cursor."""

from __future__ import annotations

import numpy as np
import pytest

from bifrost.backtest.engine import BacktestConfig, run_backtest
from bifrost.model.market import Bar
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.strategy import Strategy


def bars_at(ts: list[int]) -> BarArrays:
    close = np.arange(1.0, len(ts) + 1.0)
    return BarArrays(np.array(ts, dtype=np.int64), close, close, close, close, np.ones(len(ts)))


class Recorder(Strategy):
    """Records, on every bar, the clock and what the data view and an indicator show."""

    def on_start(self) -> None:
        self.doubled = self.I(lambda c: c * 2.0, self.data["X"].close)
        self.seen: list[tuple[int, float, float, float, int]] = []

    def on_bar(self, bar: Bar) -> None:
        now, close = self.context.now_ns(), self.data["X"].close[-1]
        self.seen.append((now, close, self.doubled[-1], self.doubled[-2], len(self.doubled)))


def test_one_symbol_bars_going_back_in_time_raise_like_the_clock() -> None:
    with pytest.raises(ValueError, match="clock cannot go back from 30 to 20"):
        run_backtest(Strategy(), {"X": bars_at([10, 30, 20, 40])}, BacktestConfig())


def test_each_bar_sees_its_own_time_close_and_indicator_values() -> None:
    strategy = Recorder()
    run_backtest(strategy, {"X": bars_at([10, 20, 30])}, BacktestConfig())
    assert [s[:3] for s in strategy.seen] == [(10, 1.0, 2.0), (20, 2.0, 4.0), (30, 3.0, 6.0)]
    assert np.isnan(strategy.seen[0][3]) and [s[3] for s in strategy.seen[1:]] == [2.0, 4.0]
    assert [s[4] for s in strategy.seen] == [1, 2, 3]
