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
        self,
        name: str,
        values: np.ndarray,
        symbol: str,
        index: Callable[[str], int],
        cursor: list[int] | None = None,
    ) -> None:
        self.name = name
        super().__init__(values, symbol, index, cursor)

    def set_values(self, values: np.ndarray) -> None:
        """Replace the series (live trading recomputes it as bars arrive)."""
        self._values = values
        # Read every bar: a memoryview of 1-D float64 values gives the same Python floats
        # as float(values[i]) in about a third of the time, without copying.
        flat = values.ndim == 1 and values.dtype == np.float64
        self._items = values.data if flat else None

    def __getitem__(self, back: Any) -> Any:
        cursor = self._cursor
        if back.__class__ is int and back < 0 and cursor is not None:
            # The per-bar read in a backtest: the engine's cursor, no call.
            position = cursor[0] + 1 + back
            if position < 0:
                return float("nan")
            items = self._items
            return items[position] if items is not None else float(self._values[position])
        if back.__class__ is not int:  # the per-bar read of a plain int stays cheap
            try:
                if back >= 0:
                    raise IndexError("indicators are read backwards: ind[-1] is the current bar")
            except (TypeError, ValueError):  # slices, lists and arrays of indices
                return super().__getitem__(back)
        elif back >= 0:
            raise IndexError("indicators are read backwards: ind[-1] is the current bar")
        position = self._now() + 1 + back
        if position < 0:
            return float("nan")
        if self._items is not None:
            return self._items[position]
        return float(self._values[position])
