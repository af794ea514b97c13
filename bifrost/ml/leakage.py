"""Look-ahead checks run before every training: a leaky feature stops the training.

Two checks, because leaks come in two kinds:
- point in time: the features are computed again on the bars up to a few cut
  points; a feature whose value at some bar changes when later bars are removed
  used the future (an exact check for anything computed from the bars);
- future correlation: a feature that tracks the forward return far more closely
  than any honest predictor of returns does (|Spearman| above a limit) was very
  likely built from it (the check for columns not computed from the bars alone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
from numpy.typing import NDArray

from bifrost.errors import BadRequest

CUTS = 4
"""Cut points of the point-in-time check."""
FUTURE_CORRELATION_LIMIT = 0.6
"""|rank correlation| with the forward return above which a feature counts as leaky."""
TOLERANCE = 1e-9


class LeakageError(BadRequest):
    """A feature uses data from after its bar; the model would look better than it is."""


def point_in_time_violations(
    bars: pl.DataFrame, compute: Callable[[pl.DataFrame], pl.DataFrame], min_rows: int = 60
) -> list[str]:
    """Features whose values up to a cut change when the bars after the cut are dropped."""
    full = compute(bars)
    n = bars.height
    if n <= min_rows + 2:
        return []
    cuts = np.unique(np.linspace(max(min_rows, n // 3), n - 2, CUTS).astype(int))
    names = [c for c in full.columns if c != "ts"]
    leaky: set[str] = set()
    for cut in cuts:
        partial = compute(bars.head(int(cut)))
        for name in names:
            if name not in leaky and not _same(full[name].head(int(cut)), partial[name]):
                leaky.add(name)
    return [name for name in names if name in leaky]


def future_correlation_violations(
    features: pl.DataFrame, forward: NDArray[np.float64], names: Sequence[str]
) -> list[str]:
    """Features whose rank correlation with the forward return exceeds the limit."""
    leaky = []
    for name in names:
        corr = rank_correlation(features[name].to_numpy().astype(np.float64), forward)
        if corr is not None and abs(corr) > FUTURE_CORRELATION_LIMIT:
            leaky.append(name)
    return leaky


def rank_correlation(a: NDArray[np.float64], b: NDArray[np.float64]) -> float | None:
    """Spearman correlation over the pairs where both are finite (None: undefined)."""
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3:
        return None
    ra, rb = _ranks(a[keep]), _ranks(b[keep])
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def refuse_leaks(point_in_time: list[str], correlated: list[str]) -> None:
    """Raise LeakageError naming every leaky feature and how it was caught."""
    problems = [f"{n} changes when later bars are removed" for n in point_in_time]
    problems += [
        f"{n} tracks the forward return (|rank correlation| > {FUTURE_CORRELATION_LIMIT})"
        for n in correlated
        if n not in point_in_time
    ]
    if problems:
        raise LeakageError(
            "look-ahead leakage, training refused: " + "; ".join(problems),
            {"features": sorted({*point_in_time, *correlated})},
        )


def _ranks(x: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.stats import rankdata

    return np.asarray(rankdata(x), dtype=np.float64)


def _same(a: pl.Series, b: pl.Series) -> bool:
    x = a.cast(pl.Float64).to_numpy()
    y = b.cast(pl.Float64).to_numpy()
    both_missing = np.isnan(x) & np.isnan(y)
    with np.errstate(invalid="ignore"):
        close = np.abs(x - y) <= TOLERANCE * np.maximum(1.0, np.abs(x))
    return bool(np.all(both_missing | close))
