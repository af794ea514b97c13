"""Crossover signals: where one series moves from at-or-below another to above it."""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from bifrost.indicators.arguments import as_series, as_series_set


@njit(cache=True)
def _crossover_kernel(a, b):
    """True at i when a[i] > b[i] and a[i-1] <= b[i-1]; NaN compares False, so never then."""
    size = a.shape[0]
    out = np.zeros(size, dtype=np.bool_)
    for i in range(1, size):
        out[i] = a[i] > b[i] and a[i - 1] <= b[i - 1]
    return out


def _pair(a: ArrayLike, b: ArrayLike | float) -> list[NDArray[np.float64]]:
    """`a` and `b` as equal-length float64 arrays; a scalar `b` is a constant level."""
    if np.ndim(b) == 0:
        series = as_series("a", a)
        return [series, as_series("b", np.broadcast_to(b, series.shape))]
    return as_series_set(a=a, b=b)


def crossover(a: ArrayLike, b: ArrayLike | float) -> NDArray[np.bool_]:
    """Bool array, True at i when a crosses above b: a[i] > b[i] and a[i-1] <= b[i-1].

    All four values must be defined (not NaN); index 0 is always False. `b` may be a
    scalar level, e.g. `crossover(rsi(close), 30.0)`.
    """
    first, second = _pair(a, b)
    return _crossover_kernel(first, second)


def crossunder(a: ArrayLike, b: ArrayLike | float) -> NDArray[np.bool_]:
    """Bool array, True at i when a crosses below b: a[i] < b[i] and a[i-1] >= b[i-1]."""
    first, second = _pair(a, b)
    return _crossover_kernel(second, first)
