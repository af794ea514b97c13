"""Training finds a planted signal out of sample, finds nothing in noise, refuses leaks."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from bifrost.errors import BadRequest
from bifrost.ml.leakage import LeakageError, future_correlation_violations
from bifrost.ml.training import TrainRequest, train_model
from tests.bifrost.ml.synthetic import bars


def request(kind: str = "logistic", horizon: int = 1) -> TrainRequest:
    return TrainRequest("test", ("SYN",), kind=kind, horizon=horizon, folds=4)


@pytest.mark.parametrize("kind", ["logistic", "gbm", "ridge"])
def test_training_finds_a_planted_signal_out_of_sample(kind: str) -> None:
    trained = train_model(request(kind), {"SYN": bars(1500, seed=1, persistence=0.5)})
    overall = trained.metrics["overall"]
    assert overall["auc"] > 0.6
    assert overall["accuracy"] > 0.56
    assert overall["ic"] > 0.15
    assert all(f["auc"] > 0.53 for f in trained.metrics["folds"])


def test_training_on_a_random_walk_finds_nothing_out_of_sample() -> None:
    trained = train_model(request(), {"SYN": bars(1500, seed=2)})
    overall = trained.metrics["overall"]
    assert 0.44 < overall["auc"] < 0.56
    assert 0.44 < overall["accuracy"] < 0.56
    assert abs(overall["ic"]) < 0.08


def test_training_reports_walk_forward_folds_with_the_purge_and_embargo() -> None:
    trained = train_model(request(horizon=5), {"SYN": bars(800, seed=3)})
    folds = trained.metrics["folds"]
    assert [f["fold"] for f in folds] == [1, 2, 3, 4]
    assert trained.metrics["purge"] == 5 and trained.metrics["embargo"] == 5
    day = 86_400 * 10**9
    for earlier, later in itertools.pairwise(folds):
        assert later["test_start_ts"] - earlier["test_end_ts"] > 5 * day
    for fold in folds:
        assert fold["test_start_ts"] - fold["train_end_ts"] > 5 * day


def test_a_feature_built_from_the_future_return_stops_the_training() -> None:
    def peek(frame: pl.DataFrame) -> np.ndarray:
        close = frame["close"].to_numpy()
        return np.append(np.log(close[1:] / close[:-1]), np.nan)  # tomorrow's return

    with pytest.raises(LeakageError, match="peek changes when later bars are removed"):
        train_model(request(), {"SYN": bars(600, seed=4)}, extra={"peek": peek})


def test_an_honest_extra_feature_passes_the_leakage_check() -> None:
    def yesterday(frame: pl.DataFrame) -> np.ndarray:
        close = frame["close"].to_numpy()
        return np.concatenate([[np.nan, np.nan], np.log(close[1:-1] / close[:-2])])

    trained = train_model(request(), {"SYN": bars(600, seed=5)}, extra={"yesterday": yesterday})
    assert "yesterday" in trained.model.features


def test_future_correlation_flags_a_column_that_tracks_the_forward_return() -> None:
    rng = np.random.default_rng(6)
    forward = rng.standard_normal(500)
    frame = pl.DataFrame(
        {"noisy_copy": forward + 0.3 * rng.standard_normal(500), "honest": rng.standard_normal(500)}
    )
    assert future_correlation_violations(frame, forward, ["noisy_copy", "honest"]) == [
        "noisy_copy"
    ]


def test_too_few_bars_are_refused_with_the_count() -> None:
    with pytest.raises(BadRequest, match="labelled rows after warm-up"):
        train_model(request(), {"SYN": bars(120, seed=7)})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "no spaces"}, "model name"),
        ({"kind": "forest"}, "model kind 'forest'"),
        ({"horizon": 0}, "horizon 0"),
        ({"start_ns": 5, "end_ns": 5}, "start of the training range"),
        ({"symbols": ()}, "at least one symbol"),
    ],
)
def test_bad_training_requests_are_refused_naming_the_problem(
    change: dict, message: str
) -> None:
    values = {"name": "ok", "symbols": ("SPY",), **change}
    with pytest.raises(BadRequest, match=message):
        TrainRequest(**values)
