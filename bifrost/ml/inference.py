"""Scoring bars with a fitted model, and the pattern report of a series.

`score_bars` runs the training's own feature code over the bars, so a backtest, a
live window and `ml predict` see exactly the features the model was trained on;
a bar's score uses that bar and earlier ones only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from bifrost.errors import BadRequest
from bifrost.market.timeframes import timeframe_ns
from bifrost.ml.features import BASE_FEATURES, bar_features
from bifrost.ml.models import FittedModel
from bifrost.ml.patterns import PATTERNS, candle_patterns, fit_regimes, rolling_volatility
from bifrost.ml.training import feature_matrix

DEFAULT_THRESHOLD = 0.55
"""Probability of a rise above which a signal says long."""


def score_bars(
    model: FittedModel, bars: pl.DataFrame, timeframe: str, sentiment: pl.DataFrame | None = None
) -> pl.DataFrame:
    """(ts, score, probability) per bar; null while a base feature is still warming up."""
    features = bar_features(bars, timeframe_ns(timeframe), sentiment)
    x = feature_matrix(features, model.features)
    ready = ~np.isnan(feature_matrix(features, list(BASE_FEATURES))).any(axis=1)
    score = np.full(bars.height, np.nan)
    probability = np.full(bars.height, np.nan)
    if ready.any():
        score[ready], probability[ready] = model.score(x[ready])
    return pl.DataFrame(
        {"ts": bars["ts"], "score": score, "probability": probability}
    ).fill_nan(None)


def latest_prediction(
    record: dict[str, Any],
    model: FittedModel,
    symbol: str,
    bars: pl.DataFrame,
    sentiment: pl.DataFrame | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """The model's view of the newest bar; BadRequest when there are too few bars."""
    scored = score_bars(model, bars, record["timeframe"], sentiment).drop_nulls()
    if scored.height == 0 or scored["ts"][-1] != bars["ts"][-1]:
        raise BadRequest(
            f"{bars.height} {record['timeframe']} bars of {symbol} are too few to score "
            "the newest one (the features need 50)"
        )
    row = scored.row(-1, named=True)
    return signal_body(record, symbol, row["ts"], row["score"], row["probability"], threshold)


def signal_body(
    record: dict[str, Any],
    symbol: str,
    bar_ts: int,
    score: float,
    probability: float,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """The body of a `signal.<SYM>` event (and of an `ml predict` answer)."""
    return {
        "symbol": symbol,
        "model": record["name"],
        "version": record["version"],
        "kind": record["kind"],
        "horizon": record["horizon"],
        "bar_ts": int(bar_ts),
        "score": float(score),
        "probability": float(probability),
        "signal": "long" if probability > threshold else "flat",
        "threshold": threshold,
    }


def pattern_report(
    symbol: str, timeframe: str, bars: pl.DataFrame, last: int = 10
) -> dict[str, Any]:
    """Candle patterns of the recent bars, their counts, and the volatility regimes."""
    if bars.height == 0:
        raise BadRequest(f"no {timeframe} bars of {symbol}")
    if last < 1:
        raise BadRequest("--last must be at least 1")
    o, h, lo, c = (bars[k].cast(pl.Float64).to_numpy() for k in ("open", "high", "low", "close"))
    flags = candle_patterns(o, h, lo, c)
    vol = rolling_volatility(c, 20)
    regimes = fit_regimes(vol)
    labels = regimes.label(vol)
    ts = bars["ts"].to_numpy()
    recent = [
        {
            "ts": int(ts[i]),
            "close": float(c[i]),
            "patterns": [p for p in PATTERNS if flags[p][i]],
            "regime": None if np.isnan(labels[i]) else regimes.names[int(labels[i])],
        }
        for i in range(max(0, bars.height - last), bars.height)
    ]
    known = labels[np.isfinite(labels)]
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "bars": bars.height,
        "counts": {p: int(flags[p].sum()) for p in PATTERNS},
        "regimes": [
            {
                "regime": i,
                "name": regimes.names[i],
                "volatility": center,
                "bars": int((known == i).sum()),
            }
            for i, center in enumerate(regimes.centers)
        ],
        "current_regime": recent[-1]["regime"],
        "recent": recent,
    }
