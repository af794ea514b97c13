"""Exponential moving average and MACD.

EMA(n) uses alpha = 2 / (n + 1) and is seeded with the simple mean of its first n
values, so it is first defined n - 1 values after the series starts. Leading NaNs (such
as another indicator's warm-up) are skipped: the series starts at its first non-NaN
value. A NaN after that start propagates to every later value, as in any recursion.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from bifrost.errors import BadRequest
from bifrost.indicators.arguments import as_series, check_window
from bifrost.indicators.incremental import Incremental


def ema_step(previous: float, x: float, alpha: float) -> float:
    """One EMA step: alpha * x + (1 - alpha) * previous."""
    return alpha * x + (1.0 - alpha) * previous


_ema_step_jit = njit(cache=True)(ema_step)


@njit(cache=True)
def _ema_kernel(x, n):
    """EMA of width n, seeded with the mean of the first n values after leading NaNs."""
    size = x.shape[0]
    out = np.full(size, np.nan)
    start = 0
    while start < size and np.isnan(x[start]):
        start += 1
    if start + n > size:
        return out
    alpha = 2.0 / (n + 1.0)
    total = 0.0
    for i in range(start, start + n):
        total += x[i]
    value = total / n
    out[start + n - 1] = value
    for i in range(start + n, size):
        value = _ema_step_jit(value, x[i], alpha)
        out[i] = value
    return out


@njit(cache=True)
def _macd_kernel(close, fast, slow, signal):
    """MACD line, its signal EMA (from where the line is defined) and their difference."""
    line = _ema_kernel(close, fast) - _ema_kernel(close, slow)
    signal_line = _ema_kernel(line, signal)
    return line, signal_line, line - signal_line


def check_macd_periods(fast: object, slow: object, signal: object) -> tuple[int, int, int]:
    """The three MACD periods as ints >= 1 with fast < slow."""
    fast = check_window("fast", fast)
    slow = check_window("slow", slow)
    signal = check_window("signal", signal)
    if fast >= slow:
        raise BadRequest(f"fast ({fast}) must be < slow ({slow})", {"param": "fast"})
    return fast, slow, signal


def ema(x: ArrayLike, n: int) -> NDArray[np.float64]:
    """Exponential moving average, alpha = 2/(n+1), seeded with the SMA of the first n."""
    n = check_window("n", n)
    return _ema_kernel(as_series("x", x), n)


def macd(
    close: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(macd_line, signal_line, histogram): ema(fast) - ema(slow), its ema(signal), the gap.

    The MACD line is defined from index slow-1, the signal line and histogram from
    index slow+signal-2.
    """
    fast, slow, signal = check_macd_periods(fast, slow, signal)
    return _macd_kernel(as_series("close", close), fast, slow, signal)


class EMA(Incremental):
    """Per-bar `ema`: NaN for the first n-1 values, then the seeded EMA."""

    __slots__ = ("_alpha", "_count", "_total", "n")

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = check_window("n", n)
        self._alpha = 2.0 / (self.n + 1.0)
        self._count = 0
        self._total = 0.0

    def update(self, x: float) -> float:
        """Add one value; return the EMA (NaN until n values after leading NaNs)."""
        x = float(x)
        if self._count >= self.n:
            self.value = ema_step(self.value, x, self._alpha)
        elif self._count > 0 or not math.isnan(x):
            self._count += 1
            self._total += x
            if self._count == self.n:
                self.value = self._total / self.n
        return self.value


class MACD(Incremental):
    """Per-bar `macd`: `value` is the MACD line, beside it `signal_line` and `histogram`.

    `ready` waits for all three, which is `signal - 1` bars after `value` is defined.
    """

    __slots__ = ("_fast", "_signal", "_slow", "histogram", "signal_line")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        super().__init__()
        fast, slow, signal = check_macd_periods(fast, slow, signal)
        self._fast, self._slow, self._signal = EMA(fast), EMA(slow), EMA(signal)
        self.signal_line = math.nan
        self.histogram = math.nan

    @property
    def ready(self) -> bool:
        """True once the signal line (and so the histogram) is defined."""
        return not math.isnan(self.histogram)

    def update(self, close: float) -> float:
        """Add one close; return the MACD line (NaN until `slow` closes)."""
        close = float(close)
        self.value = self._fast.update(close) - self._slow.update(close)
        self.signal_line = self._signal.update(self.value)
        self.histogram = self.value - self.signal_line
        return self.value
