"""The scikit-learn pipelines of each model kind.

Every pipeline starts with `RegimeEncoder`, which learns volatility regimes from
its training rows only and adds the regime as a feature, so a fold's regimes
never see its test window.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin

from bifrost.errors import BadRequest
from bifrost.ml.kinds import KINDS, settings_of
from bifrost.ml.patterns import fit_regimes

REGIMES = 3


class RegimeEncoder(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """Appends the volatility regime (0 = calmest) of column `column`, fitted on training rows."""

    def __init__(self, column: int = 0, regimes: int = REGIMES) -> None:
        self.column = column
        self.regimes = regimes

    def fit(self, x: NDArray[np.float64], y: Any = None) -> RegimeEncoder:
        """Learn the regime centres from this column of the training rows."""
        self.regimes_ = fit_regimes(np.asarray(x, dtype=np.float64)[:, self.column], self.regimes)
        return self

    def transform(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The rows with one more column: the regime."""
        x = np.asarray(x, dtype=np.float64)
        return np.column_stack([x, self.regimes_.label(x[:, self.column])])


def make_estimator(kind: str, params: dict[str, Any], regime_column: int) -> Any:
    """A fresh pipeline of `kind` with `params` over the default ones."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind not in KINDS:
        raise BadRequest(f"model kind '{kind}' must be one of {', '.join(KINDS)}")
    settings = settings_of(kind, params)
    regimes = RegimeEncoder(regime_column)
    try:
        if kind == "gbm":  # copes with missing values itself
            booster = HistGradientBoostingClassifier(random_state=0, **settings)
            return make_pipeline(regimes, booster)
        if kind == "logistic":
            head = LogisticRegression(max_iter=500, **settings)
        else:
            head = Ridge(**settings)
    except TypeError as exc:
        raise BadRequest(f"bad parameter for a {kind} model: {exc}") from None
    return make_pipeline(regimes, SimpleImputer(strategy="median"), StandardScaler(), head)
