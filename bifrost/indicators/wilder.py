"""Indicators on Wilder's smoothing: RSI and ATR.

Wilder's average is seeded with the simple mean of the first n inputs and then moves as
avg = (previous * (n - 1) + current) / n. Leading bars with a NaN are skipped: the series
starts at its first complete bar. A NaN after that start propagates to every later value.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from bifrost.indicators.arguments import as_series, as_series_set, check_window
from bifrost.indicators.incremental import Incremental


def wilder_step(previous: float, x: float, n: int) -> float:
    """One step of Wilder's smoothing: (previous * (n - 1) + x) / n."""
    return (previous * (n - 1) + x) / n


def gain_loss(change: float) -> tuple[float, float]:
    """(gain, loss) of a close-to-close change, both >= 0; NaN in, NaNs out."""
    if change != change:
        return math.nan, math.nan
    if change > 0.0:
        return change, 0.0
    return 0.0, -change


def rsi_value(avg_gain: float, avg_loss: float) -> float:
    """100 - 100 / (1 + avg_gain / avg_loss); 100 when avg_loss is 0 (a flat run too)."""
    if avg_loss == 0.0:
        return 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


def true_range(high: float, low: float, previous_close: float) -> float:
    """max(high - low, |high - previous close|, |low - previous close|); NaN if any is."""
    spread = high - low
    up = abs(high - previous_close)
    down = abs(low - previous_close)
    if spread != spread or up != up or down != down:
        return math.nan
    return max(spread, up, down)


_wilder_step_jit = njit(cache=True)(wilder_step)
_gain_loss_jit = njit(cache=True)(gain_loss)
_rsi_value_jit = njit(cache=True)(rsi_value)
_true_range_jit = njit(cache=True)(true_range)


@njit(cache=True)
def _rsi_kernel(close, n):
    """RSI of width n; the first value is at index n (after n changes)."""
    size = close.shape[0]
    out = np.full(size, np.nan)
    start = 0
    while start < size and np.isnan(close[start]):
        start += 1
    if start + n >= size:
        return out
    total_gain, total_loss = 0.0, 0.0
    for i in range(start + 1, start + n + 1):
        gain, loss = _gain_loss_jit(close[i] - close[i - 1])
        total_gain += gain
        total_loss += loss
    avg_gain, avg_loss = total_gain / n, total_loss / n
    out[start + n] = _rsi_value_jit(avg_gain, avg_loss)
    for i in range(start + n + 1, size):
        gain, loss = _gain_loss_jit(close[i] - close[i - 1])
        avg_gain = _wilder_step_jit(avg_gain, gain, n)
        avg_loss = _wilder_step_jit(avg_loss, loss, n)
        out[i] = _rsi_value_jit(avg_gain, avg_loss)
    return out


@njit(cache=True)
def _atr_kernel(high, low, close, n):
    """ATR of width n; the first value is the mean of the first n true ranges."""
    size = close.shape[0]
    out = np.full(size, np.nan)
    start = 0
    while start < size and (
        np.isnan(high[start]) or np.isnan(low[start]) or np.isnan(close[start])
    ):
        start += 1
    if start + n > size:
        return out
    total = high[start] - low[start]
    for i in range(start + 1, start + n):
        total += _true_range_jit(high[i], low[i], close[i - 1])
    value = total / n
    out[start + n - 1] = value
    for i in range(start + n, size):
        value = _wilder_step_jit(value, _true_range_jit(high[i], low[i], close[i - 1]), n)
        out[i] = value
    return out


def rsi(close: ArrayLike, n: int = 14) -> NDArray[np.float64]:
    """Wilder's RSI: first n+1 closes give the first value (index n); 100 if no losses."""
    n = check_window("n", n)
    return _rsi_kernel(as_series("close", close), n)


def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, n: int = 14) -> NDArray[np.float64]:
    """Average true range: Wilder's average of the true range, first defined at index n-1.

    The first bar has no previous close, so its true range is high - low.
    """
    n = check_window("n", n)
    highs, lows, closes = as_series_set(high=high, low=low, close=close)
    return _atr_kernel(highs, lows, closes, n)


class RSI(Incremental):
    """Per-bar `rsi`: NaN until n changes (n+1 closes), then Wilder's RSI."""

    __slots__ = ("_avg_gain", "_avg_loss", "_count", "_previous", "n")

    def __init__(self, n: int = 14) -> None:
        super().__init__()
        self.n = check_window("n", n)
        self._previous = math.nan
        self._count = 0
        self._avg_gain, self._avg_loss = 0.0, 0.0

    def update(self, close: float) -> float:
        """Add one close; return the RSI (NaN until n changes after leading NaNs)."""
        close = float(close)
        previous, self._previous = self._previous, close
        if self._count == 0 and math.isnan(previous):
            return self.value
        gain, loss = gain_loss(close - previous)
        if self._count >= self.n:
            self._avg_gain = wilder_step(self._avg_gain, gain, self.n)
            self._avg_loss = wilder_step(self._avg_loss, loss, self.n)
        else:
            self._count += 1
            self._avg_gain += gain
            self._avg_loss += loss
            if self._count < self.n:
                return self.value
            self._avg_gain, self._avg_loss = self._avg_gain / self.n, self._avg_loss / self.n
        self.value = rsi_value(self._avg_gain, self._avg_loss)
        return self.value


class ATR(Incremental):
    """Per-bar `atr`: NaN for the first n-1 bars, then Wilder's average true range."""

    __slots__ = ("_count", "_previous_close", "_total", "n")

    def __init__(self, n: int = 14) -> None:
        super().__init__()
        self.n = check_window("n", n)
        self._previous_close = math.nan
        self._count = 0
        self._total = 0.0

    def update(self, high: float, low: float, close: float) -> float:
        """Add one bar; return the ATR (NaN until n bars after leading incomplete ones)."""
        high, low, close = float(high), float(low), float(close)
        if self._count == 0:
            if math.isnan(high) or math.isnan(low) or math.isnan(close):
                return self.value
            tr = high - low
        else:
            tr = true_range(high, low, self._previous_close)
        self._previous_close = close
        if self._count >= self.n:
            self.value = wilder_step(self.value, tr, self.n)
        else:
            self._count += 1
            self._total += tr
            if self._count == self.n:
                self.value = self._total / self.n
        return self.value
