"""An indicator's values, read bar by bar up to the current bar (`Strategy.I` makes them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bifrost.sim.past_data import PastSeries


class Indicator(PastSeries):
    """An indicator's values over the whole series, shown only up to the current bar.

    `ind[-1]` is the value at the current bar, `ind[-2]` the one before (NaN before the
    first bar); reading ahead of the current bar raises IndexError, so a strategy cannot
    peek. Slices, `len()`, iteration, `values` and numpy see the values up to now.
    """

    __slots__ = ("name",)

    def __init__(
        self, name: str, values: np.ndarray, symbol: str, index: Callable[[str], int]
    ) -> None:
        self.name = name
        super().__init__(values, symbol, index)

    def set_values(self, values: np.ndarray) -> None:
        """Replace the series (live trading recomputes it as bars arrive)."""
        self._values = values
        # Read every bar: a memoryview of 1-D float64 values gives the same Python floats
        # as float(values[i]) in about a third of the time, without copying.
        flat = values.ndim == 1 and values.dtype == np.float64
        self._items = values.data if flat else None

    def __getitem__(self, back: Any) -> Any:
        if back.__class__ is not int:  # the per-bar read of a plain int stays cheap
            try:
                if back >= 0:
                    raise IndexError("indicators are read backwards: ind[-1] is the current bar")
            except (TypeError, ValueError):  # slices, lists and arrays of indices
                return super().__getitem__(back)
        elif back >= 0:
            raise IndexError("indicators are read backwards: ind[-1] is the current bar")
        position = self._index(self.symbol) + 1 + back
        if position < 0:
            return float("nan")
        if self._items is not None:
            return self._items[position]
        return float(self._values[position])
