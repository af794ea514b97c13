"""An L2 order book built from book deltas, its hot path compiled with numba.

Each side is a fixed-size array of sizes indexed by price in ticks above a base price
(one base for both sides), so applying a change is one store plus bookkeeping: the
number of levels per side and the index of the best level. Only removing the best
level looks further, and only as far as the next level (a few ticks in a live book).

The window spans `capacity` ticks. A level outside it that would be the new best (or
the first level of its side) moves the window to centre on it; levels that then fall
outside are dropped, as is a level outside the window that is worse than the best.
Both are counted in `dropped`: they are far from the touch by construction.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from bifrost.errors import BadRequest
from bifrost.model.market import BookDelta, BookSide, BookSnapshot

BID = 0
ASK = 1
DEFAULT_CAPACITY = 1 << 14
"""Ticks the window spans (16,384: about ±80 at a 0.01 tick)."""

# Slots of the int64 state array the kernels share with the OrderBook.
_BASE = 0
_BEST = 1  # 1: best bid index, 2: best ask index (-1 when the side is empty)
_COUNT = 3  # 3: bid levels, 4: ask levels
_DROPPED = 5

_SIDE_INDEX = {BookSide.BID: BID, BookSide.ASK: ASK, "bid": BID, "ask": ASK}


@njit(cache=True)
def _scan_best(sizes, side):
    """Index of the best level of a side by a full scan (-1 when empty)."""
    cap = sizes.shape[1]
    if side == 0:
        for j in range(cap - 1, -1, -1):
            if sizes[0, j] > 0.0:
                return j
    else:
        for j in range(cap):
            if sizes[1, j] > 0.0:
                return j
    return -1


@njit(cache=True)
def _next_level(sizes, side, idx, count):
    """The best level after `idx` (the old best, just removed); -1 when none is left."""
    if count == 0:
        return -1
    step = -1 if side == 0 else 1
    j = idx + step
    while 0 <= j < sizes.shape[1]:
        if sizes[side, j] > 0.0:
            return j
        j += step
    return -1


@njit(cache=True)
def _recenter(sizes, state, new_base):
    """Move the window to start at `new_base`; levels left outside are dropped."""
    cap = sizes.shape[1]
    shift = new_base - state[_BASE]
    old = sizes.copy()
    sizes[:, :] = 0.0
    for side in range(2):
        kept = 0
        for j in range(cap):
            src = j + shift
            if 0 <= src < cap and old[side, src] > 0.0:
                sizes[side, j] = old[side, src]
                kept += 1
        state[_DROPPED] += state[_COUNT + side] - kept
        state[_COUNT + side] = kept
        state[_BEST + side] = _scan_best(sizes, side)
    state[_BASE] = new_base


@njit(cache=True)
def _make_room(sizes, state, side, ticks, size):
    """For a level outside the window: True when the window moved to take it in, False
    when it is not kept (a removal, or worse than the side's best: dropped)."""
    if size <= 0.0:
        return False  # a level outside the window is not in the book
    above = ticks - state[_BASE] >= sizes.shape[1]
    better = above if side == 0 else not above
    if state[_BEST + side] >= 0 and not better:
        state[_DROPPED] += 1
        return False
    _recenter(sizes, state, ticks - sizes.shape[1] // 2)
    return True


@njit(cache=True)
def _apply_run(sizes, state, sides, prices, quantities, tick, start):
    """Apply changes from `start` on until one lies outside the window; returns its index.

    The one place a level is set. Written out in the loop on purpose: with the setter
    as a separate (even inlined) function numba made the loop about five times slower.
    """
    cap = sizes.shape[1]
    base = state[_BASE]
    for i in range(start, sides.shape[0]):
        idx = np.int64(np.rint(prices[i] / tick)) - base
        if idx < 0 or idx >= cap:
            return i
        side = sides[i]
        size = quantities[i]
        old = sizes[side, idx]
        sizes[side, idx] = size
        if old > 0.0:
            if size <= 0.0:
                state[_COUNT + side] -= 1
                if idx == state[_BEST + side]:
                    state[_BEST + side] = _next_level(sizes, side, idx, state[_COUNT + side])
        elif size > 0.0:
            state[_COUNT + side] += 1
            best = state[_BEST + side]
            if best < 0 or (idx > best if side == 0 else idx < best):
                state[_BEST + side] = idx
    return sides.shape[0]


@njit(cache=True)
def _apply_levels(sizes, state, sides, prices, quantities, tick):
    """Apply many (side, price, size) changes in order."""
    i = _apply_run(sizes, state, sides, prices, quantities, tick, 0)
    while i < sides.shape[0]:
        ticks = np.int64(np.rint(prices[i] / tick))
        moved = _make_room(sizes, state, sides[i], ticks, quantities[i])
        i = _apply_run(sizes, state, sides, prices, quantities, tick, i if moved else i + 1)


@njit(cache=True)
def _best_levels(sizes, state, side, depth):
    """Window indexes of the best `depth` levels of a side, best first."""
    out = np.empty(min(depth, state[_COUNT + side]), dtype=np.int64)
    j = state[_BEST + side]
    step = -1 if side == 0 else 1
    k = 0
    while k < out.shape[0] and 0 <= j < sizes.shape[1]:
        if sizes[side, j] > 0.0:
            out[k] = j
            k += 1
        j += step
    return out[:k]


class OrderBook:
    """One symbol's L2 book: apply deltas, read the touch and the depth, snapshot/restore."""

    def __init__(self, symbol: str, tick: float = 0.01, capacity: int = DEFAULT_CAPACITY) -> None:
        if not tick > 0 or capacity < 2:
            raise BadRequest(f"book {symbol}: tick must be positive and capacity at least 2")
        self.symbol = symbol
        self.tick = float(tick)
        self.capacity = capacity
        self.ts = 0
        self._sizes = np.zeros((2, capacity), dtype=np.float64)
        self._state = np.array([0, -1, -1, 0, 0, 0], dtype=np.int64)

    @property
    def dropped(self) -> int:
        """Levels dropped because they lay outside the window."""
        return int(self._state[_DROPPED])

    # -- changing it ------------------------------------------------------------------

    def apply(self, side: BookSide | str, price: float, size: float) -> None:
        """Set one level (size 0 removes it); BadRequest for a bad side, price or size."""
        index = _SIDE_INDEX.get(side)
        if index is None:
            raise BadRequest(f"book {self.symbol}: side {side!r} is not 'bid' or 'ask'")
        if not (math.isfinite(price) and price > 0 and math.isfinite(size) and size >= 0):
            raise BadRequest(
                f"book {self.symbol}: level ({price!r}, {size!r}) needs a positive price "
                "and a size >= 0"
            )
        self._apply([(index, float(price), float(size))])

    def apply_delta(self, delta: BookDelta) -> None:
        """Apply a checked BookDelta (see `BookDelta.from_body`) in order."""
        self._apply([(_SIDE_INDEX[side], price, size) for side, price, size in delta.changes])
        self.ts = delta.ts

    def apply_arrays(
        self, sides: NDArray[np.int64], prices: NDArray[np.float64], sizes: NDArray[np.float64]
    ) -> None:
        """Apply many changes at once from trusted arrays (side 0 bid, 1 ask), in order."""
        _apply_levels(self._sizes, self._state, sides, prices, sizes, self.tick)

    def _apply(self, changes: list[tuple[int, float, float]]) -> None:
        if changes:
            sides, prices, sizes = zip(*changes, strict=True)
            self.apply_arrays(
                np.array(sides, dtype=np.int64),
                np.array(prices, dtype=np.float64),
                np.array(sizes, dtype=np.float64),
            )

    def clear(self) -> None:
        """Remove every level."""
        self._sizes[:, :] = 0.0
        self._state[_BEST : _DROPPED] = (-1, -1, 0, 0)

    def restore(self, snapshot: BookSnapshot) -> None:
        """Replace the whole book with a snapshot's levels (best first on each side)."""
        self.clear()
        self._apply(
            [(BID, p, s) for p, s in snapshot.bids] + [(ASK, p, s) for p, s in snapshot.asks]
        )
        self.ts = snapshot.ts

    # -- reading it -------------------------------------------------------------------

    def levels(self, side: int, depth: int | None = None) -> list[tuple[float, float]]:
        """(price, size) of the best `depth` levels of a side (all when None), best first."""
        count = int(self._state[_COUNT + side])
        wanted = count if depth is None else max(0, min(depth, count))
        indexes = _best_levels(self._sizes, self._state, side, wanted)
        base = int(self._state[_BASE])
        return [
            (round((base + int(j)) * self.tick, 10), float(self._sizes[side, j]))
            for j in indexes
        ]

    def best_bid(self) -> tuple[float, float] | None:
        """The best bid (price, size), or None when there are no bids."""
        levels = self.levels(BID, 1)
        return levels[0] if levels else None

    def best_ask(self) -> tuple[float, float] | None:
        """The best ask (price, size), or None when there are no asks."""
        levels = self.levels(ASK, 1)
        return levels[0] if levels else None

    def depth(self, levels: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """The best `levels` bids and asks."""
        return self.levels(BID, levels), self.levels(ASK, levels)

    def level_counts(self) -> tuple[int, int]:
        """How many bid and ask levels the book holds."""
        return int(self._state[_COUNT + BID]), int(self._state[_COUNT + ASK])

    def snapshot(self) -> BookSnapshot:
        """The whole book as a BookSnapshot."""
        return BookSnapshot(self.symbol, tuple(self.levels(BID)), tuple(self.levels(ASK)), self.ts)
