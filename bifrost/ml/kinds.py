"""The model kinds and the parameters each is built with unless told otherwise.

Both the pipelines (`estimators`) and fitting and scoring (`models`) read these; they
live on their own so neither of those has to import the other for them.
"""

from __future__ import annotations

from typing import Any

KINDS = ("gbm", "logistic", "ridge")
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "gbm": {
        "max_iter": 120,
        "learning_rate": 0.05,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 40,
        "l2_regularization": 1.0,
    },
    "logistic": {"C": 0.5},
    "ridge": {"alpha": 10.0},
}


def settings_of(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a model of `kind` is built with."""
    return {**DEFAULT_PARAMS.get(kind, {}), **params}
