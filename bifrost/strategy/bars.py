"""A symbol's bars as arrays: what an engine hands a strategy, and cutting them to a range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class BarArrays:
    """All bars of one symbol as arrays (float64 prices, int64 ns times)."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)


def slice_bars(data: dict[str, BarArrays], first_ts: int, end_ts: int) -> dict[str, BarArrays]:
    """Every symbol's bars with first_ts <= ts < end_ts."""
    out = {}
    for symbol, bars in data.items():
        lo, hi = np.searchsorted(bars.ts, [first_ts, end_ts])
        out[symbol] = BarArrays(*(getattr(bars, f)[lo:hi] for f in BarArrays.__slots__))
    return out
