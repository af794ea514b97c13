"""Walk-forward splits: tests strictly after training, purge and embargo gaps kept."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bifrost.errors import BadRequest
from bifrost.ml.splits import walk_forward_splits


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(20, 3000),
    folds=st.integers(1, 10),
    purge=st.integers(0, 30),
    embargo=st.integers(0, 30),
)
def test_splits_never_train_on_or_after_the_test_window_and_keep_the_gaps(
    n: int, folds: int, purge: int, embargo: int
) -> None:
    try:
        splits = walk_forward_splits(n, folds, purge, embargo)
    except BadRequest:
        return  # too short for this setting: refused, never a bad split
    assert len(splits) == folds
    tested: list[np.ndarray] = []
    for split in splits:
        start, end = split.test[0], split.test[-1]
        assert len(split.train) > 0 and len(split.test) > 0
        assert np.all(np.diff(split.test) == 1)  # one contiguous window
        assert split.train.max() < start  # never at or after the test window
        assert start - split.train.max() > purge  # the purge gap before it
        assert not np.intersect1d(split.train, split.test).size
        for earlier in tested:
            assert earlier[-1] < start  # windows move forward without overlap
            embargoed = np.arange(earlier[-1] + 1, earlier[-1] + 1 + embargo)
            assert not np.intersect1d(split.train, embargoed).size
            assert start > earlier[-1] + embargo  # the next test starts after the embargo
        tested.append(split.test)
        assert end < n


def test_splits_of_a_too_short_series_are_refused_with_the_numbers() -> None:
    with pytest.raises(BadRequest, match="10 time steps are too few for 5 folds"):
        walk_forward_splits(10, folds=5, purge=5, embargo=5)
