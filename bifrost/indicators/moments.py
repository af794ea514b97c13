"""Count, mean and M2 (sum of squared deviations) of every window of n consecutive values.

The sliding add-new/subtract-old update is O(1) but keeps the rounding error of every
value that ever passed through the window: after a price gap the variance of a calm
window can be badly wrong or even negative. Here the series is cut into blocks of n
values instead; a window is the suffix of one block joined to the prefix of the next,
and the two summaries are combined with Chan's pairwise formula. Only values inside the
window take part, M2 is a sum of non-negative terms, the work stays O(len), and a
constant window has exactly zero variance.

A NaN or infinite value is a gap: windows that hold one are undefined, and counting
starts again after it (so leading NaNs, such as another indicator's warm-up, are skipped).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from bifrost.indicators.arguments import check_window

Summary = tuple[float, float, float]
"""(count, mean, M2) of some values."""


def _merge(n_a: float, mean_a: float, m2_a: float, n_b: float, mean_b: float, m2_b: float):
    """Chan's combination of the summaries of `a` and of `b`, where `b` follows `a`."""
    count = n_a + n_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (n_b / count)
    m2 = m2_a + m2_b + delta * delta * (n_a * n_b / count)
    return count, mean, m2


def std_from_m2(m2: float, divisor: float) -> float:
    """sqrt(M2 / divisor); NaN stays NaN and M2 is clamped at 0 (never a tiny negative)."""
    if m2 != m2:
        return math.nan
    if m2 <= 0.0:
        return 0.0
    return math.sqrt(m2 / divisor)


# The same source compiled: the batch kernels and the per-bar classes run identical float
# operations in the same order, so they give the same numbers bit for bit.
_merge_jit = njit(cache=True)(_merge)
std_from_m2_jit = njit(cache=True)(std_from_m2)


@njit(cache=True)
def _block_suffixes(x, start, stop, n):
    """Mean and M2 of x[j : end of j's block] for every j in x[start:stop]."""
    suffix_mean = np.empty(stop - start)
    suffix_m2 = np.empty(stop - start)
    for block in range(start, stop, n):
        count, mean, m2 = 0.0, 0.0, 0.0
        for j in range(min(block + n, stop) - 1, block - 1, -1):
            count, mean, m2 = _merge_jit(1.0, x[j], 0.0, count, mean, m2)
            suffix_mean[j - start] = mean
            suffix_m2[j - start] = m2
    return suffix_mean, suffix_m2


@njit(cache=True)
def _run_moments(x, start, stop, n, out_mean, out_m2):
    """Fill out_mean/out_m2 for the windows that lie inside the finite run x[start:stop]."""
    if stop - start < n:
        return
    suffix_mean, suffix_m2 = _block_suffixes(x, start, stop, n)
    count, mean, m2 = 0.0, 0.0, 0.0
    for i in range(start, stop):
        offset = (i - start) % n
        if offset == 0:
            count, mean, m2 = 0.0, 0.0, 0.0
        count, mean, m2 = _merge_jit(count, mean, m2, 1.0, x[i], 0.0)
        if i - start < n - 1:
            continue
        if offset == n - 1:
            out_mean[i], out_m2[i] = mean, m2
        else:
            j = i - n + 1 - start
            _, out_mean[i], out_m2[i] = _merge_jit(
                n - offset - 1.0, suffix_mean[j], suffix_m2[j], count, mean, m2
            )


@njit(cache=True)
def moments_kernel(x, n):
    """Rolling mean and M2 of width n over x; NaN where the window is short or holds a gap."""
    size = x.shape[0]
    out_mean = np.full(size, np.nan)
    out_m2 = np.full(size, np.nan)
    start = 0
    while start < size:
        if not np.isfinite(x[start]):
            start += 1
            continue
        stop = start
        while stop < size and np.isfinite(x[stop]):
            stop += 1
        _run_moments(x, start, stop, n, out_mean, out_m2)
        start = stop
    return out_mean, out_m2


@njit(cache=True)
def _mean_weights(n):
    """The weights `n_b / count` of every merge of `_run_moments`, by place in the block."""
    back = np.empty(n)  # x[j] joins a suffix of c values: c / (1 + c)
    ahead = np.empty(n)  # x[i] joins a prefix of c values: 1 / (c + 1)
    join = np.empty(n)  # a prefix of c + 1 values joins the suffix before it
    for c in range(n):
        back[c] = c / (1.0 + c)
        ahead[c] = 1.0 / (c + 1.0)
        join[c] = (c + 1.0) / ((n - c - 1.0) + (c + 1.0))
    return back, ahead, join


MEAN_TILE = 32
"""Blocks whose means `means_kernel` works out side by side (a tile of a few kB stays in
the first-level cache)."""


@njit(cache=True, inline='always')
def _tile_means(x, base, count, n, back, ahead, values, prefix, suffix):
    """Prefix and suffix means of `count` consecutive blocks of n values from x[base].

    Block g of the tile is column g of `values` and `prefix` and column g + 1 of `suffix`;
    row c + 1 of `prefix` is the mean of the block's first c + 1 values, row j of `suffix`
    the mean of its values from j on (row 0 of `prefix` and row n of `suffix` are zeros,
    column 0 of `suffix` holds the block before the tile). Each row is one step of every
    block's chain of dependent operations, so the chains run side by side in the
    processor's vector lanes; each value sees the operations of `_run_moments`, in order.
    """
    for g in range(count):
        block = x[base + g * n : base + (g + 1) * n]  # a slice: copied element by element,
        for c in range(n):  # where indexing x compiled to slow vector scatters
            values[c, g] = block[c]
    chain = np.zeros(count)
    for c in range(n):
        j, weight = n - 1 - c, back[c]
        for g in range(count):
            value = values[j, g]
            mean = value + (chain[g] - value) * weight
            chain[g] = mean
            suffix[j, g + 1] = mean
    chain[:] = 0.0
    for c in range(n):
        weight = ahead[c]
        for g in range(count):
            mean = chain[g] + (values[c, g] - chain[g]) * weight
            chain[g] = mean
            prefix[c + 1, g] = mean


@njit(cache=True, inline='always')
def _put_tile_means(out, base, first, count, n, join, prefix, suffix, joined):
    """Window means of tile blocks `first`..`count - 1` into out[base:]: each block's
    prefix joined to the suffix of the block before it (block 0 of a run has none, so
    only its last value, a whole block, is a window)."""
    for c in range(n - 1):
        weight = join[c]
        for g in range(first, count):
            before = suffix[c + 1, g]
            joined[c, g] = before + (prefix[c + 1, g] - before) * weight
    for g in range(first, count):
        joined[n - 1, g] = prefix[n, g]
        window = out[base + g * n : base + (g + 1) * n]
        for c in range(n):
            window[c] = joined[c, g]
    if first:
        out[base + n - 1] = prefix[n, 0]


@njit(cache=True)
def _run_means(x, start, stop, n, out):
    """`_run_moments` for the mean alone, with the same float operations in the same order
    (M2 is not on the mean's path; the merge weights come from `_mean_weights`), one tile
    of blocks at a time. Leaves out[start:start + n - 1] as it is."""
    if stop - start < n:
        return
    back, ahead, join = _mean_weights(n)
    values = np.empty((n, MEAN_TILE))
    joined = np.empty((n, MEAN_TILE))
    prefix = np.zeros((n + 1, MEAN_TILE))
    suffix = np.zeros((n + 1, MEAN_TILE + 1))
    blocks = (stop - start) // n
    for tile in range(0, blocks, MEAN_TILE):
        count = min(MEAN_TILE, blocks - tile)
        base = start + tile * n
        _tile_means(x, base, count, n, back, ahead, values, prefix, suffix)
        _put_tile_means(out, base, 1 if tile == 0 else 0, count, n, join, prefix, suffix, joined)
        suffix[:, 0] = suffix[:, count]
    mean = 0.0
    for i in range(start + blocks * n, stop):  # a last block shorter than n
        offset = i - start - blocks * n
        mean = mean + (x[i] - mean) * ahead[offset]
        before = suffix[offset + 1, 0]
        out[i] = before + (mean - before) * join[offset]


@njit(cache=True)
def means_kernel(x, n):
    """The mean of `moments_kernel`, bit for bit, at a fraction of its cost: rolling mean
    of width n, NaN where the window is short or holds a gap."""
    size = x.shape[0]
    out = np.empty(size)
    start = 0
    while start < size:
        if not np.isfinite(x[start]):
            out[start] = np.nan
            start += 1
            continue
        stop = start
        while stop < size and np.isfinite(x[stop]):
            stop += 1
        out[start : min(start + n - 1, stop)] = np.nan  # before the first full window
        _run_means(x, start, stop, n, out)
        start = stop
    return out


class WindowMoments:
    """Per-value twin of `moments_kernel`: push one value, get the window's (mean, M2)."""

    __slots__ = ("_block", "_count", "_m2", "_mean", "_seen", "_suffix", "n")

    def __init__(self, n: int) -> None:
        self.n = check_window("n", n)
        self.reset()

    def reset(self) -> None:
        """Forget every value, as after a gap."""
        self._block: list[float] = []
        self._suffix: list[Summary] = []
        self._count, self._mean, self._m2 = 0.0, 0.0, 0.0
        self._seen = 0

    def push(self, x: float) -> tuple[float, float]:
        """Add `x`; return the (mean, M2) of the last n values, or NaNs until there are n."""
        n = self.n
        if not math.isfinite(x):
            self.reset()
            return math.nan, math.nan
        if len(self._block) == n:
            self._close_block()
        self._block.append(x)
        self._count, self._mean, self._m2 = _merge(self._count, self._mean, self._m2, 1.0, x, 0.0)
        if self._seen < n:
            self._seen += 1
        if self._seen < n:
            return math.nan, math.nan
        offset = len(self._block) - 1
        if offset == n - 1:
            return self._mean, self._m2
        _, suffix_mean, suffix_m2 = self._suffix[offset + 1]
        _, mean, m2 = _merge(
            n - offset - 1.0, suffix_mean, suffix_m2, self._count, self._mean, self._m2
        )
        return mean, m2

    def _close_block(self) -> None:
        """Summarise every suffix of the full block, then start an empty one."""
        summary: Summary = (0.0, 0.0, 0.0)
        suffix: list[Summary] = []
        for value in reversed(self._block):
            summary = _merge(1.0, value, 0.0, *summary)
            suffix.append(summary)
        suffix.reverse()
        self._suffix = suffix
        self._block = []
        self._count, self._mean, self._m2 = 0.0, 0.0, 0.0
