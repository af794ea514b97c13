"""Candlestick patterns (vectorized over whole series) and volatility regimes by clustering.

The candle rules look at one or two bars' shapes only (no trend context), so every
flag at bar t uses bars t-1 and t and nothing later. Regimes cluster a rolling
volatility with one-dimensional k-means and number the clusters from the calmest (0) up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

PATTERNS = ("doji", "hammer", "shooting_star", "engulfing_bull", "engulfing_bear")
REGIME_NAMES = {2: ("low", "high"), 3: ("low", "normal", "high")}

DOJI_BODY = 0.1
"""A doji's body is at most this share of its range."""
SHADOW_BODY = 2.0
"""A hammer's lower (a shooting star's upper) shadow is at least this many bodies."""
SMALL_SHADOW = 0.15
"""The other shadow of a hammer or shooting star is at most this share of the range."""
LLOYD_PASSES = 100


def candle_patterns(
    open_: NDArray[np.float64],
    high: NDArray[np.float64],
    low: NDArray[np.float64],
    close: NDArray[np.float64],
) -> dict[str, NDArray[np.bool_]]:
    """One boolean array per pattern in PATTERNS, aligned with the bars."""
    body = np.abs(close - open_)
    span = high - low
    span = np.where(span > 0, span, np.nan)  # a flat bar has no shape: every rule is False
    upper = high - np.maximum(open_, close)
    lower = np.minimum(open_, close) - low
    with np.errstate(invalid="ignore"):
        real_body = body > DOJI_BODY * span
        doji = body <= DOJI_BODY * span
        hammer = real_body & (lower >= SHADOW_BODY * body) & (upper <= SMALL_SHADOW * span)
        star = real_body & (upper >= SHADOW_BODY * body) & (lower <= SMALL_SHADOW * span)
    prev_open = np.concatenate([[np.nan], open_[:-1]])
    prev_close = np.concatenate([[np.nan], close[:-1]])
    prev_body = np.abs(prev_close - prev_open)
    with np.errstate(invalid="ignore"):
        bigger = body > prev_body
        bull = (
            (prev_close < prev_open) & (close > open_) & (open_ <= prev_close)
            & (close >= prev_open) & bigger
        )
        bear = (
            (prev_close > prev_open) & (close < open_) & (open_ >= prev_close)
            & (close <= prev_open) & bigger
        )
    return {
        "doji": doji,
        "hammer": hammer,
        "shooting_star": star,
        "engulfing_bull": bull,
        "engulfing_bear": bear,
    }


@dataclass(frozen=True, slots=True)
class VolatilityRegimes:
    """Cluster centres of a volatility measure, calmest first; labels a series by nearest."""

    centers: tuple[float, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """`low`/`normal`/`high` for three regimes, else `regime 0`, `regime 1`, ..."""
        count = len(self.centers)
        return REGIME_NAMES.get(count, tuple(f"regime {i}" for i in range(count)))

    def label(self, vol: NDArray[np.float64]) -> NDArray[np.float64]:
        """The regime number of each value (NaN where the volatility is not known yet)."""
        vol = np.asarray(vol, dtype=np.float64)
        centers = np.asarray(self.centers)
        nearest = np.abs(vol[:, None] - centers[None, :]).argmin(axis=1).astype(np.float64)
        return np.where(np.isfinite(vol), nearest, np.nan)


def fit_regimes(vol: NDArray[np.float64], count: int = 3) -> VolatilityRegimes:
    """K-means (Lloyd's algorithm, from quantile starts) on the finite values of `vol`.

    One dimension needs no random restarts: starting from evenly spaced quantiles
    is deterministic and converges in a few passes. Fewer regimes when there are
    fewer distinct values.
    """
    values = np.asarray(vol, dtype=np.float64)
    values = np.sort(values[np.isfinite(values)])
    distinct = np.unique(values)
    if distinct.size == 0:
        return VolatilityRegimes((0.0,))
    count = max(1, min(count, distinct.size))
    centers = np.quantile(values, (np.arange(count) + 0.5) / count)
    for _ in range(LLOYD_PASSES):
        # In one dimension the clusters are runs of the sorted values split at midpoints.
        cuts = np.searchsorted(values, (centers[1:] + centers[:-1]) / 2)
        groups = np.split(values, cuts)
        moved = np.array([g.mean() if g.size else c for g, c in zip(groups, centers, strict=True)])
        if np.allclose(moved, centers, rtol=0, atol=1e-15):
            break
        centers = moved
    return VolatilityRegimes(tuple(float(c) for c in np.sort(centers)))


def rolling_volatility(close: NDArray[np.float64], window: int = 20) -> NDArray[np.float64]:
    """Population std of the last `window` log returns (NaN until there are that many)."""
    from bifrost.indicators import rolling_std

    close = np.asarray(close, dtype=np.float64)
    returns = np.diff(np.log(close), prepend=np.nan)
    out = np.full(close.shape, np.nan)
    if close.size > window:
        out[1:] = rolling_std(returns[1:], window)
    return out
