"""Training: a dataset from several symbols' bars, walk-forward evaluation, the final fit.

`train_model` checks for leakage first (and refuses a leaky feature), then scores
each walk-forward fold out of sample (accuracy, AUC, IC), and fits the model it
returns on every labelled row.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from bifrost.errors import BadRequest
from bifrost.market.timeframes import timeframe_ns
from bifrost.ml.features import (
    BASE_FEATURES,
    LABEL,
    REGIME_SOURCE,
    SENTIMENT,
    FeatureFunction,
    bar_features,
    forward_returns,
)
from bifrost.ml.kinds import KINDS, settings_of

if TYPE_CHECKING:
    from bifrost.research.cluster import ResearchCluster
from bifrost.ml.leakage import (
    future_correlation_violations,
    point_in_time_violations,
    rank_correlation,
    refuse_leaks,
)
from bifrost.ml.models import FittedModel, fit_model
from bifrost.ml.splits import walk_forward_splits

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_ROWS = 100
"""Fewest labelled rows a training accepts."""
FIT_THREADS = 1
MIN_SPREAD_ROWS = 2_000_000
"""Rows x folds below which fitting the folds here beats starting a local cluster."""
Research = Callable[[bool], "ResearchCluster | None"]
"""Gives the research cluster for a training (its argument: the folds are big), or None."""
"""Threads per fit. Daily-bar datasets are small: on a shared host, OpenMP threads fighting
other processes for cores made fits ten times slower than one thread alone."""


@dataclass(frozen=True, slots=True)
class TrainRequest:
    """What to train: a name, the symbols and range of bars, the model kind and horizon."""

    name: str
    symbols: tuple[str, ...]
    start_ns: int | None = None
    end_ns: int | None = None
    kind: str = "gbm"
    horizon: int = 5
    timeframe: str = "1d"
    folds: int = 5
    embargo: int | None = None
    """Positions dropped after each test window (default: the horizon)."""
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise BadRequest(
                f"model name '{self.name}' must be 1-64 letters, digits, '_', '.' or '-'"
            )
        if not self.symbols or not all(self.symbols):
            raise BadRequest("training needs at least one symbol")
        if self.kind not in KINDS:
            raise BadRequest(f"model kind '{self.kind}' must be one of {', '.join(KINDS)}")
        if not 1 <= self.horizon <= 250:
            raise BadRequest(f"horizon {self.horizon} must be between 1 and 250 bars")
        if not 2 <= self.folds <= 20:
            raise BadRequest(f"folds {self.folds} must be between 2 and 20")
        if self.embargo is not None and self.embargo < 0:
            raise BadRequest("the embargo must not be negative")
        if self.start_ns is not None and self.end_ns is not None and self.start_ns >= self.end_ns:
            raise BadRequest("the start of the training range must be before its end")
        timeframe_ns(self.timeframe)

    def to_dict(self) -> dict[str, Any]:
        """A plain map (RPC params)."""
        out = asdict(self)
        out["symbols"] = list(self.symbols)
        return out


@dataclass
class TrainedModel:
    """A fitted model with its out-of-sample record."""

    request: TrainRequest
    model: FittedModel
    metrics: dict[str, Any]
    first_ts: int
    last_ts: int
    rows: int


def build_dataset(
    bars: Mapping[str, pl.DataFrame],
    horizon: int,
    bar_ns: int,
    sentiment: Mapping[str, pl.DataFrame] | None = None,
    extra: Mapping[str, FeatureFunction] | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """Every symbol's features and forward returns, rows sorted by time; and feature names.

    Rows still warming up (a base feature missing) or without a label are dropped.
    Runs the leakage checks first and raises LeakageError on a leaky feature.
    """
    frames = []
    for symbol, frame in bars.items():
        news = (sentiment or {}).get(symbol)

        def compute(b: pl.DataFrame, news: pl.DataFrame | None = news) -> pl.DataFrame:
            return bar_features(b, bar_ns, news, extra)

        features = compute(frame)
        forward = forward_returns(frame["close"].to_numpy(), horizon)
        names = [c for c in features.columns if c != "ts"]
        refuse_leaks(
            point_in_time_violations(frame, compute),
            future_correlation_violations(features, forward, names),
        )
        frames.append(
            features.with_columns(
                pl.lit(symbol).alias("symbol"), pl.Series(LABEL, forward).fill_nan(None)
            )
        )
    data = pl.concat(frames, how="diagonal_relaxed").sort("ts", "symbol")
    names = [*BASE_FEATURES]
    if SENTIMENT in data.columns and data[SENTIMENT].drop_nulls().len():
        names.append(SENTIMENT)
    names += [c for c in (extra or {}) if c not in names]
    data = data.drop_nulls([*BASE_FEATURES, *(extra or {}), LABEL])
    return data, names


def train_model(
    request: TrainRequest,
    bars: Mapping[str, pl.DataFrame],
    sentiment: Mapping[str, pl.DataFrame] | None = None,
    extra: Mapping[str, FeatureFunction] | None = None,
    *,
    research: Research | None = None,
) -> TrainedModel:
    """Check, evaluate walk-forward out of sample, and fit on every labelled row.

    `research(big)` gives the research cluster the folds are fitted on (one task each,
    the dataset scattered once per worker), or None to fit them here; `big` says the
    folds are worth a local cluster (MIN_SPREAD_ROWS)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=FIT_THREADS):
        return _train(request, bars, sentiment, extra, research)


def fit_fold(
    kind: str,
    params: dict[str, Any],
    names: list[str],
    dataset: tuple[NDArray[np.float64], NDArray[np.float64]],
    regime: int,
    train: NDArray[np.int64],
    test: NDArray[np.int64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One fold (here or on a worker): fit on the `train` rows, score the `test` rows."""
    from threadpoolctl import threadpool_limits

    x, forward = dataset
    with threadpool_limits(limits=FIT_THREADS):
        model = fit_model(kind, params, names, x[train], forward[train], regime)
        return model.score(x[test])


def _train(
    request: TrainRequest,
    bars: Mapping[str, pl.DataFrame],
    sentiment: Mapping[str, pl.DataFrame] | None,
    extra: Mapping[str, FeatureFunction] | None,
    research: Research | None,
) -> TrainedModel:
    data, names = build_dataset(
        bars, request.horizon, timeframe_ns(request.timeframe), sentiment, extra
    )
    if data.height < MIN_ROWS:
        raise BadRequest(
            f"only {data.height} labelled rows after warm-up ({MIN_ROWS} needed): "
            "give a longer range or a shorter horizon"
        )
    x = feature_matrix(data, names)
    forward = data[LABEL].to_numpy()
    times = data["ts"].to_numpy()
    unique, position = np.unique(times, return_inverse=True)
    embargo = request.horizon if request.embargo is None else request.embargo
    splits = walk_forward_splits(len(unique), request.folds, request.horizon, embargo)
    params = settings_of(request.kind, request.params)
    regime = names.index(REGIME_SOURCE)
    rows = [
        (np.flatnonzero(np.isin(position, s.train)), np.flatnonzero(np.isin(position, s.test)))
        for s in splits
    ]
    cluster = research(len(x) * len(rows) >= MIN_SPREAD_ROWS) if research else None
    fit = functools.partial(fit_fold, request.kind, params, names)
    if cluster is None:
        outcomes = [fit((x, forward), regime, train, test) for train, test in rows]
    else:
        shared = cluster.scatter((x, forward))
        tasks = [cluster.submit(fit, shared, regime, train, test) for train, test in rows]
        outcomes = cluster.client.gather(tasks)
    folds = []
    scores, truth = [], []
    for number, (split, (train, test), outcome) in enumerate(
        zip(splits, rows, outcomes, strict=True), 1
    ):
        score, probability = outcome
        folds.append(
            {
                "fold": number,
                "train_rows": len(train),
                "test_rows": len(test),
                "train_end_ts": int(unique[split.train[-1]]),
                "test_start_ts": int(unique[split.test[0]]),
                "test_end_ts": int(unique[split.test[-1]]),
                **out_of_sample(score, probability, forward[test]),
            }
        )
        scores.append((score, probability))
        truth.append(forward[test])
    overall = out_of_sample(
        np.concatenate([s for s, _ in scores]),
        np.concatenate([p for _, p in scores]),
        np.concatenate(truth),
    )
    metrics = {
        "overall": overall,
        "folds": folds,
        "mean": {k: _mean([f[k] for f in folds]) for k in ("accuracy", "auc", "ic")},
        "purge": request.horizon,
        "embargo": embargo,
        "params": params,
    }
    final = fit_model(request.kind, params, names, x, forward, regime)
    return TrainedModel(request, final, metrics, int(times[0]), int(times[-1]), data.height)


def feature_matrix(data: pl.DataFrame, names: list[str]) -> NDArray[np.float64]:
    """The named columns as a float64 matrix, NaN for missing values."""
    columns = [
        data[n].cast(pl.Float64).fill_null(np.nan).to_numpy()
        if n in data.columns
        else np.full(data.height, np.nan)
        for n in names
    ]
    return np.column_stack(columns) if columns else np.empty((data.height, 0))


def out_of_sample(
    score: NDArray[np.float64], probability: NDArray[np.float64], forward: NDArray[np.float64]
) -> dict[str, Any]:
    """Accuracy of the predicted sign, AUC of the probability, IC (rank corr. of the score)."""
    from sklearn.metrics import roc_auc_score

    rises = forward > 0
    accuracy = float(np.mean((probability > 0.5) == rises)) if len(rises) else None
    auc = float(roc_auc_score(rises, probability)) if 0 < rises.sum() < len(rises) else None
    return {
        "rows": len(forward),
        "accuracy": accuracy,
        "auc": auc,
        "ic": rank_correlation(score, forward),
    }


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None
