"""Walk-forward splits with a purge and an embargo, over positions in time.

Fold k tests on one window of consecutive positions and trains on everything
before it except:
- the `purge` positions right before the test window: their labels look forward
  `horizon` bars and would overlap the test window;
- the `embargo` positions right after every earlier test window, so serially
  correlated neighbours of a test window never train a later fold.
Test windows follow one another with the embargo between them. Positions count
time steps (a bar time), so several symbols at one time fall on the same side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bifrost.errors import BadRequest


@dataclass(frozen=True, slots=True)
class Split:
    """One fold: the positions it trains on and the window it tests on."""

    train: NDArray[np.int64]
    test: NDArray[np.int64]


def walk_forward_splits(
    n: int, folds: int = 5, purge: int = 1, embargo: int = 0, min_train: int | None = None
) -> list[Split]:
    """`folds` walk-forward splits of positions 0..n-1 (see the module doc).

    `min_train` is where the first test window starts (default: n // (folds + 1)).
    BadRequest when the series is too short for the folds, purge and embargo asked.
    """
    if folds < 1 or purge < 0 or embargo < 0:
        raise BadRequest("folds must be at least 1; purge and embargo must not be negative")
    first = n // (folds + 1) if min_train is None else min_train
    length = (n - first - (folds - 1) * embargo) // folds
    if first - purge < 1 or length < 1:
        raise BadRequest(
            f"{n} time steps are too few for {folds} folds with a purge of {purge} and an "
            f"embargo of {embargo} (each fold needs training data and a test window)"
        )
    positions = np.arange(n, dtype=np.int64)
    splits = []
    blocked = np.zeros(n, dtype=np.bool_)
    for k in range(folds):
        start = first + k * (length + embargo)
        end = start + length
        train = positions[: start - purge]
        splits.append(Split(train[~blocked[: start - purge]], positions[start:end]))
        blocked[end : end + embargo] = True
    return splits
