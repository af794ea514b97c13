"""The numba loops behind `stats.compute_stats`: one pass over the equity, one over the trades.

A million-bar equity curve would otherwise take a dozen numpy passes (returns, excess,
squares, running peak, drawdown, period edges) with a temporary array each. Formulas
are those of the `stats` module docstring; sums run in bar order, and the variance sums
deviations from the first value (shifted data), which keeps the precision of a
two-pass variance for returns and trade pnl.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _deepest_step(
    v: float, state: tuple[float, float, bool, float]
) -> tuple[float, float, bool, float]:
    """One value more for `deepest_drawdown`; state is (peak, lowest value since falling
    below it, whether below it, deepest fraction so far)."""
    peak, low, under, deepest = state
    if v >= peak:
        if under:
            deepest = min(deepest, low / peak - 1.0)
            under = False
        peak = v
    elif not under:
        under, low = True, v
    elif v < low:
        low = v
    return peak, low, under, deepest


@njit(cache=True, inline="always")
def _deepest_end(state: tuple[float, float, bool, float]) -> float:
    """The deepest fraction once every value is in, counting a drawdown still open."""
    peak, low, under, deepest = state
    return min(deepest, low / peak - 1.0) if under else deepest


@njit(cache=True)
def deepest_drawdown(values: np.ndarray) -> float:
    """The deepest fraction below the running peak of `values`, as `equity_pass` gives it."""
    state = (values[0], 0.0, False, 0.0)
    for i in range(1, values.shape[0]):
        state = _deepest_step(values[i], state)
    return _deepest_end(state)


@njit(cache=True)
def equity_pass(
    ts: np.ndarray, equity: np.ndarray, benchmark: np.ndarray, free_per_bar: float
) -> tuple[float, float, float, float, float, int, int, float, float]:
    """The return moments, the drawdown periods and the peak of `equity` (two values or
    more) in one pass: (mean excess return, std of returns with ddof=1 (NaN below two
    returns), downside deviation, deepest fraction below the running peak, mean of each
    period's deepest, longest peak-to-recovery time in ns, number of periods, highest
    equity (NaN when a value is NaN), `deepest_drawdown` of `benchmark`, read in the same
    pass, when it is as long as `equity` (NaN otherwise)).

    A drawdown period runs over the bars strictly below the running peak; the peak is
    constant inside it, so its deepest point is its lowest value over that peak (one
    division a period, and the same number as min(E_i / peak - 1)). It starts at the
    last bar at the peak and ends at the first bar back at it, or at the last bar.
    """
    m = equity.shape[0] - 1
    shift = equity[1] / equity[0] - 1.0
    excess_sum, downside_sum, shifted_sum, shifted_squares = 0.0, 0.0, 0.0, 0.0
    peak, peak_at, before = equity[0], 0, equity[0]
    low, under, has_nan = 0.0, False, before != before
    deepest, total, longest, periods = 0.0, 0.0, 0, 0
    with_benchmark = benchmark.shape[0] == equity.shape[0]
    benchmark_state = (benchmark[0] if with_benchmark else 0.0, 0.0, False, 0.0)
    for i in range(1, m + 1):
        if with_benchmark:
            benchmark_state = _deepest_step(benchmark[i], benchmark_state)
        v = equity[i]
        has_nan |= v != v
        r = v / before - 1.0
        before = v
        excess = r - free_per_bar
        excess_sum += excess
        if excess < 0.0:
            downside_sum += excess * excess
        d = r - shift
        shifted_sum += d
        shifted_squares += d * d
        if v >= peak:
            if under:
                depth = low / peak - 1.0
                deepest, total, periods = min(deepest, depth), total + depth, periods + 1
                longest = max(longest, ts[i] - ts[peak_at])
                under = False
            peak, peak_at = v, i
        elif not under:
            under, low = True, v
        elif v < low:
            low = v
    if under:
        depth = low / peak - 1.0
        deepest, total, periods = min(deepest, depth), total + depth, periods + 1
        longest = max(longest, ts[m] - ts[peak_at])
    std = math.nan
    if m >= 2:
        variance = (shifted_squares - shifted_sum * shifted_sum / m) / (m - 1)
        std = math.sqrt(variance) if variance > 0.0 else 0.0
    mean = total / periods if periods else 0.0
    return (
        excess_sum / m,
        std,
        math.sqrt(downside_sum / m),
        deepest,
        mean,
        longest,
        periods,
        math.nan if has_nan else peak,
        _deepest_end(benchmark_state) if with_benchmark else math.nan,
    )


@njit(cache=True)
def trade_moments(
    pnl: np.ndarray, returns: np.ndarray, entry_ts: np.ndarray, exit_ts: np.ndarray
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """(win fraction, best, worst and mean return, gross wins, gross losses, mean pnl, std
    of pnl with ddof=1 (NaN below two trades), mean duration in ns) of m >= 1 trades."""
    m = pnl.shape[0]
    wins, wins_sum, losses_sum = 0, 0.0, 0.0
    best, worst, returns_sum = -math.inf, math.inf, 0.0
    shift, shifted_sum, shifted_squares = pnl[0], 0.0, 0.0
    pnl_sum, duration_sum = 0.0, 0
    for i in range(m):
        p, r = pnl[i], returns[i]
        if p > 0.0:
            wins += 1
            wins_sum += p
        elif p < 0.0:
            losses_sum -= p
        best, worst, returns_sum = max(best, r), min(worst, r), returns_sum + r
        pnl_sum += p
        d = p - shift
        shifted_sum += d
        shifted_squares += d * d
        duration_sum += exit_ts[i] - entry_ts[i]
    std = math.nan
    if m >= 2:
        variance = (shifted_squares - shifted_sum * shifted_sum / m) / (m - 1)
        std = math.sqrt(variance) if variance > 0.0 else 0.0
    return (
        wins / m,
        best,
        worst,
        returns_sum / m,
        wins_sum,
        losses_sum,
        pnl_sum / m,
        std,
        duration_sum / m,
    )


@njit(cache=True)
def spacing_counts(ts: np.ndarray, candidate: int) -> tuple[int, int]:
    """How many spacings ts[i] - ts[i - 1] are below `candidate` and how many equal it."""
    below, equal = 0, 0
    for i in range(1, ts.shape[0]):
        d = ts[i] - ts[i - 1]
        if d < candidate:
            below += 1
        elif d == candidate:
            equal += 1
    return below, equal
