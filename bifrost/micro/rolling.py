"""Fixed-capacity columns of recent rows: what a live symbol keeps of its mids and trades.

Appending writes one slot of preallocated numpy arrays (the oldest row is overwritten
when full), so a busy feed costs no allocation; `since` returns the rows of a time
window oldest first, ready for the numba measures.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class RollingColumns:
    """The last `capacity` rows of a timestamp column and some float columns."""

    def __init__(self, names: tuple[str, ...], capacity: int) -> None:
        self.names = names
        self.capacity = capacity
        self._ts = np.zeros(capacity, dtype=np.int64)
        self._values = np.zeros((len(names), capacity), dtype=np.float64)
        self._next = 0
        self.total = 0

    def append(self, ts: int, *values: float) -> None:
        """Add one row (its values in the order of `names`)."""
        slot = self._next
        self._ts[slot] = ts
        self._values[:, slot] = values
        self._next = (slot + 1) % self.capacity
        self.total += 1

    def since(self, start_ns: int) -> tuple[NDArray[np.int64], dict[str, NDArray[np.float64]]]:
        """The rows with ts >= start_ns, oldest first: (ts, {name: values})."""
        if self.total <= self.capacity:
            ts, values = self._ts[: self.total], self._values[:, : self.total]
        else:
            order = np.r_[self._next : self.capacity, 0 : self._next]
            ts, values = self._ts[order], self._values[:, order]
        first = int(np.searchsorted(ts, start_ns, side="left"))
        columns = {
            name: np.ascontiguousarray(values[i, first:]) for i, name in enumerate(self.names)
        }
        return np.ascontiguousarray(ts[first:]), columns
