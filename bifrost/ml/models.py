"""Fitting a model of one of the kinds (bifrost.ml.kinds), and a fitted model's scoring.

`gbm` and `logistic` classify the sign of the forward return; `ridge` regresses
its size, and its probability of a rise comes from the training residuals (normal
errors). The scikit-learn pipelines themselves are built in `estimators`, which is
only imported to fit or to unpickle, so listing models stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bifrost.errors import BadRequest


@dataclass
class FittedModel:
    """A trained pipeline with what it needs to score new rows."""

    kind: str
    features: list[str]
    estimator: Any
    residual_std: float = 0.0
    """Ridge only: std of the training residuals, for the probability of a rise."""
    extra: dict[str, Any] = field(default_factory=dict)

    def score(self, x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(score, probability of a rise) per row. Score: the probability for classifiers,
        the predicted forward log return for ridge."""
        if len(x) == 0:
            empty = np.empty(0, dtype=np.float64)
            return empty, empty
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):  # a few rows: threads cost more than they give
            return self._score(x)

    def _score(self, x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if self.kind == "ridge":
            predicted = np.asarray(self.estimator.predict(x), dtype=np.float64)
            return predicted, rise_probability(predicted, self.residual_std)
        probability = np.asarray(self.estimator.predict_proba(x)[:, 1], dtype=np.float64)
        return probability, probability


def rise_probability(predicted: NDArray[np.float64], residual_std: float) -> NDArray[np.float64]:
    """P(return > 0) when the return is the prediction plus normal noise of `residual_std`."""
    if residual_std <= 0:
        return (predicted > 0).astype(np.float64)
    from scipy.special import ndtr

    return np.asarray(ndtr(predicted / residual_std), dtype=np.float64)


def fit_model(
    kind: str, params: dict[str, Any], features: list[str], x: NDArray[np.float64],
    forward: NDArray[np.float64], regime_column: int
) -> FittedModel:
    """Fit one model on rows `x` with forward returns `forward`."""
    from bifrost.ml.estimators import make_estimator

    estimator = make_estimator(kind, params, regime_column)
    labels = forward if kind == "ridge" else (forward > 0).astype(np.int64)
    if kind != "ridge" and labels.min() == labels.max():
        raise BadRequest("every training label is the same (only rises or only falls)")
    try:
        estimator.fit(x, labels)
    except ValueError as exc:  # scikit-learn's verdict on a parameter value
        raise BadRequest(f"cannot fit a {kind} model: {exc}") from None
    if kind == "ridge":
        residual = forward - estimator.predict(x)
        return FittedModel(kind, features, estimator, float(np.std(residual)))
    return FittedModel(kind, features, estimator)

