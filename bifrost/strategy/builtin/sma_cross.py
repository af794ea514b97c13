"""SMA crossover: long while the fast average is above the slow one (short below, if allowed)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from bifrost.indicators import sma
from bifrost.indicators.arguments import as_series, check_window
from bifrost.indicators.moments import means_kernel
from bifrost.model.market import Bar
from bifrost.sim.constraints import at_least, less_than
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.strategy import Strategy


@njit(cache=True)
def _cross_signals(close, fast, slow):
    """Both SMAs of `close` (the bits of `sma`) and where the fast one crosses above the
    slow one (up) and below it (down), as `crossover` and `crossunder` of them."""
    fast_ma, slow_ma = means_kernel(close, fast), means_kernel(close, slow)
    up = np.zeros(close.shape[0], dtype=np.bool_)
    down = np.zeros(close.shape[0], dtype=np.bool_)
    for i in range(1, close.shape[0]):
        f0, s0, f1, s1 = fast_ma[i - 1], slow_ma[i - 1], fast_ma[i], slow_ma[i]
        up[i] = (f1 > s1) & (f0 <= s0)  # & rather than `and`: no branch to mispredict
        down[i] = (s1 > f1) & (s0 <= f0)
    return up, down


@njit(cache=True)
def _cross_targets(close, fast, slow, short):
    """The crossings of `_cross_signals` as targets: +1 up, `short` down, else NaN."""
    up, down = _cross_signals(close, fast, slow)
    out = np.empty(close.shape[0])
    for i in range(close.shape[0]):
        out[i] = 1.0 if up[i] else (short if down[i] else math.nan)
    return out


class SmaCross(Strategy):
    """Buy when SMA(fast) crosses above SMA(slow); sell when it crosses back below.

    With `allow_short`, the cross below also opens a short (and the cross above buys
    it back before going long), so the strategy is always in the market once started.
    With several symbols each trades on its own signals, spending its share
    (1 / number of symbols) of the cash at each entry.
    """

    name = "sma_cross"
    fast: int = 10
    slow: int = 30
    allow_short: bool = False
    constraints = (at_least("fast", 1), at_least("slow", 1), less_than("fast", "slow"))

    @classmethod
    def signals(
        cls, bars: BarArrays, fast: int = 10, slow: int = 30, allow_short: bool = False
    ) -> tuple[np.ndarray, ...]:
        """Long entry and exit signals for the vectorized engine."""
        return _cross_signals(
            as_series("close", bars.close), check_window("fast", fast), check_window("slow", slow)
        )

    @classmethod
    def targets(
        cls, bars: BarArrays, fast: int = 10, slow: int = 30, allow_short: bool = False
    ) -> np.ndarray:
        """Target position per bar for the vectorized engine: +1 long, -1 short, 0 flat,
        NaN keep what is held."""
        return _cross_targets(
            as_series("close", bars.close),
            check_window("fast", fast),
            check_window("slow", slow),
            -1.0 if allow_short else 0.0,
        )

    def on_start(self) -> None:
        self.fraction = 1 / len(self.symbols)
        self.averages = {
            s: (
                self.I(sma, self.data[s].close, self.fast, symbol=s),
                self.I(sma, self.data[s].close, self.slow, symbol=s),
            )
            for s in self.symbols
        }
        nan = float("nan")
        self.before = dict.fromkeys(self.symbols, (nan, nan))
        """Each symbol's (fast, slow) averages at its bar before this one: what `[-2]`
        reads, kept from the last bar so a bar reads each average once."""

    def on_bar(self, bar: Bar) -> None:
        symbol = bar.symbol
        fast_ma, slow_ma = self.averages[symbol]
        fast, slow = fast_ma[-1], slow_ma[-1]
        fast_before, slow_before = self.before[symbol]
        self.before[symbol] = fast, slow
        # Comparisons with NaN are false, so nothing fires before both averages exist.
        if fast_before <= slow_before and fast > slow:
            held = self.position(symbol)
            if held < 0:
                self.buy(symbol)  # no size while short: buys the short back
            if held <= 0:
                self.buy(symbol, fraction=self.fraction)
        elif fast_before >= slow_before and fast < slow:
            held = self.position(symbol)
            if held > 0:
                self.sell(symbol)  # no size while long: sells the whole position
            if held >= 0 and self.allow_short:
                self.sell(symbol, fraction=self.fraction)  # flat by then: opens a short
