"""Rolling-window indicators: SMA, rolling standard deviation, z-score, Bollinger bands.

All of them come from `moments.moments_kernel` (mean and M2 of each window), so the
standard deviation is population (ddof=0) unless asked otherwise, never negative, and a
window holding a NaN or infinite value gives NaN. Output has the input's length, with
exactly the first n-1 values NaN for a gap-free input.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from bifrost.indicators.arguments import as_series, check_ddof, check_multiplier, check_window
from bifrost.indicators.incremental import Incremental
from bifrost.indicators.moments import (
    WindowMoments,
    means_kernel,
    moments_kernel,
    std_from_m2,
    std_from_m2_jit,
)


def zscore_value(x: float, mean: float, std: float) -> float:
    """(x - mean) / std, or NaN when std is 0 or undefined (a flat window has no z-score)."""
    if std > 0.0:
        return (x - mean) / std
    return math.nan


_zscore_value_jit = njit(cache=True)(zscore_value)


@njit(cache=True)
def _sma_kernel(x, n):
    """Rolling mean of width n."""
    return means_kernel(x, n)


@njit(cache=True)
def _std_kernel(x, n, divisor):
    """Rolling sqrt(M2 / divisor) of width n."""
    _, m2 = moments_kernel(x, n)
    out = np.empty_like(m2)
    for i in range(m2.shape[0]):
        out[i] = std_from_m2_jit(m2[i], divisor)
    return out


@njit(cache=True)
def _zscore_kernel(x, n):
    """(x - rolling mean) / rolling population std of width n."""
    mean, m2 = moments_kernel(x, n)
    out = np.empty_like(m2)
    for i in range(m2.shape[0]):
        out[i] = _zscore_value_jit(x[i], mean[i], std_from_m2_jit(m2[i], float(n)))
    return out


@njit(cache=True)
def _bollinger_kernel(x, n, k):
    """Rolling mean and mean +/- k population std of width n."""
    mean, m2 = moments_kernel(x, n)
    upper = np.empty_like(m2)
    lower = np.empty_like(m2)
    for i in range(m2.shape[0]):
        width = k * std_from_m2_jit(m2[i], float(n))
        upper[i] = mean[i] + width
        lower[i] = mean[i] - width
    return mean, upper, lower


def sma(x: ArrayLike, n: int) -> NDArray[np.float64]:
    """Simple moving average of the last n values."""
    n = check_window("n", n)
    return _sma_kernel(as_series("x", x), n)


def rolling_std(x: ArrayLike, n: int, ddof: int = 0) -> NDArray[np.float64]:
    """Standard deviation of the last n values: population (ddof=0) by default.

    ddof=1 gives the sample std (pandas' rolling default); 0 <= ddof < n.
    """
    n = check_window("n", n)
    ddof = check_ddof(ddof, n)
    return _std_kernel(as_series("x", x), n, float(n - ddof))


def zscore(x: ArrayLike, n: int) -> NDArray[np.float64]:
    """(x - sma(x, n)) / rolling_std(x, n) with population std; NaN where the std is 0."""
    n = check_window("n", n)
    return _zscore_kernel(as_series("x", x), n)


def bollinger(
    close: ArrayLike, n: int = 20, k: float = 2.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Bollinger bands (middle, upper, lower): sma(n) and sma +/- k population stds."""
    n = check_window("n", n)
    k = check_multiplier("k", k)
    return _bollinger_kernel(as_series("close", close), n, k)


class SMA(Incremental):
    """Per-bar `sma`: the mean of the last n values."""

    __slots__ = ("_moments",)

    def __init__(self, n: int) -> None:
        super().__init__()
        self._moments = WindowMoments(n)

    def update(self, x: float) -> float:
        """Add one value; return the mean of the last n (NaN until n values)."""
        self.value, _ = self._moments.push(float(x))
        return self.value


class RollingStd(Incremental):
    """Per-bar `rolling_std`: population std (ddof=0) of the last n values by default."""

    __slots__ = ("_divisor", "_moments")

    def __init__(self, n: int, ddof: int = 0) -> None:
        super().__init__()
        self._moments = WindowMoments(n)
        self._divisor = float(n - check_ddof(ddof, n))

    def update(self, x: float) -> float:
        """Add one value; return the std of the last n (NaN until n values)."""
        _, m2 = self._moments.push(float(x))
        self.value = std_from_m2(m2, self._divisor)
        return self.value


class ZScore(Incremental):
    """Per-bar `zscore`: distance of the latest value from the window mean, in stds."""

    __slots__ = ("_moments",)

    def __init__(self, n: int) -> None:
        super().__init__()
        self._moments = WindowMoments(n)

    def update(self, x: float) -> float:
        """Add one value; return its z-score in the last n (NaN until n, or if flat)."""
        x = float(x)
        mean, m2 = self._moments.push(x)
        self.value = zscore_value(x, mean, std_from_m2(m2, float(self._moments.n)))
        return self.value


class Bollinger(Incremental):
    """Per-bar `bollinger`: `value` is the middle band; `upper` and `lower` beside it."""

    __slots__ = ("_k", "_moments", "lower", "upper")

    def __init__(self, n: int = 20, k: float = 2.0) -> None:
        super().__init__()
        self._moments = WindowMoments(n)
        self._k = check_multiplier("k", k)
        self.upper = math.nan
        self.lower = math.nan

    def update(self, close: float) -> float:
        """Add one close; return the middle band (NaN until n closes)."""
        self.value, m2 = self._moments.push(float(close))
        width = self._k * std_from_m2(m2, float(self._moments.n))
        self.upper = self.value + width
        self.lower = self.value - width
        return self.value
