"""The feature pipeline: point-in-time features of one symbol's bars, and forward labels.

Every feature at bar t is computed from bars up to and including t (and news
published before the bar closed); `bifrost.ml.leakage` checks that this holds.
Labels look forward: the log return from the close of bar t to the close of
bar t + horizon, so the last `horizon` bars have none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import polars as pl
from numpy.typing import NDArray

from bifrost.indicators import atr, rsi, sma, zscore
from bifrost.ml.patterns import PATTERNS, candle_patterns, rolling_volatility

RETURN_HORIZONS = (1, 5, 10, 20)
BASE_FEATURES: tuple[str, ...] = (
    *(f"ret_{h}" for h in RETURN_HORIZONS),
    "vol_10",
    "vol_20",
    "vol_ratio",
    "rsi_14",
    "zscore_20",
    "sma_ratio_10",
    "sma_ratio_50",
    "sma_10_50",
    "atr_ratio_14",
    "range_ratio",
    "volume_z_20",
    *PATTERNS,
)
"""Features every model gets, in this column order."""
SENTIMENT = "sentiment"
"""Mean news sentiment score of the symbol's recent articles, when news is stored."""
REGIME_SOURCE = "vol_20"
"""The feature the models cluster into a volatility regime (see estimators.RegimeEncoder)."""
SENTIMENT_WINDOW_NS = 3 * 86_400 * 10**9
"""How far back articles count towards a bar's sentiment."""
LABEL = "forward_return"
OHLCV = ("open", "high", "low", "close", "volume")

FeatureFunction = Callable[[pl.DataFrame], NDArray[np.float64]]
"""An extra feature: the bars frame in, one value per bar out."""


def bar_features(
    bars: pl.DataFrame,
    bar_ns: int,
    sentiment: pl.DataFrame | None = None,
    extra: Mapping[str, FeatureFunction] | None = None,
) -> pl.DataFrame:
    """`ts` and every feature of one symbol's bars (sorted by ts), NaN while warming up.

    `sentiment` (ts, score) adds the SENTIMENT column; `extra` adds named features.
    """
    o, h, lo, c, v = (bars[k].cast(pl.Float64).to_numpy() for k in OHLCV)
    columns: dict[str, NDArray[np.float64]] = {}
    log_close = np.log(c)
    for horizon in RETURN_HORIZONS:
        columns[f"ret_{horizon}"] = _lagged_difference(log_close, horizon)
    columns["vol_10"] = rolling_volatility(c, 10)
    columns["vol_20"] = rolling_volatility(c, 20)
    columns["vol_ratio"] = _ratio(columns["vol_10"], columns["vol_20"]) - 1
    columns["rsi_14"] = rsi(c, 14) / 100
    columns["zscore_20"] = zscore(c, 20)
    sma_10, sma_50 = sma(c, 10), sma(c, 50)
    columns["sma_ratio_10"] = c / sma_10 - 1
    columns["sma_ratio_50"] = c / sma_50 - 1
    columns["sma_10_50"] = sma_10 / sma_50 - 1
    columns["atr_ratio_14"] = atr(h, lo, c, 14) / c
    columns["range_ratio"] = (h - lo) / c
    columns["volume_z_20"] = _volume_z(v, 20)
    for name, flags in candle_patterns(o, h, lo, c).items():
        columns[name] = flags.astype(np.float64)
    out = pl.DataFrame({"ts": bars["ts"], **columns})
    if sentiment is not None:
        out = out.with_columns(sentiment_feature(bars["ts"], bar_ns, sentiment))
    for name, function in (extra or {}).items():
        out = out.with_columns(pl.Series(name, np.asarray(function(bars), dtype=np.float64)))
    return out.fill_nan(None)


def sentiment_feature(ts: pl.Series, bar_ns: int, articles: pl.DataFrame) -> pl.Series:
    """Mean article score over SENTIMENT_WINDOW_NS up to each bar's close (null: no news).

    Articles published at or after the end of a bar do not count for it.
    """
    scores = articles.select(pl.col("ts").cast(pl.Int64), pl.col("score").cast(pl.Float64))
    scores = scores.drop_nulls().sort("ts")
    running = scores.select(
        "ts", pl.col("score").cum_sum().alias("total"), pl.int_range(1, pl.len() + 1).alias("n")
    ).with_columns(pl.col("n").cast(pl.Float64))
    last_seen = ts.cast(pl.Int64) + bar_ns - 1
    window_start = last_seen - SENTIMENT_WINDOW_NS

    def running_at(points: pl.Series) -> pl.DataFrame:
        query = pl.DataFrame({"at": points}).with_row_index("row").sort("at")
        found = query.join_asof(running, left_on="at", right_on="ts", strategy="backward")
        return found.sort("row").select(
            pl.col("total").fill_null(0.0), pl.col("n").fill_null(0.0)
        )

    upto, before = running_at(last_seen), running_at(window_start)
    count = (upto["n"] - before["n"]).to_numpy()
    total = (upto["total"] - before["total"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    return pl.Series(SENTIMENT, mean).fill_nan(None)


def forward_returns(close: NDArray[np.float64], horizon: int) -> NDArray[np.float64]:
    """log(close[t + horizon] / close[t]); NaN for the last `horizon` bars."""
    log_close = np.log(np.asarray(close, dtype=np.float64))
    out = np.full(log_close.shape, np.nan)
    if horizon < len(log_close):
        out[:-horizon] = log_close[horizon:] - log_close[:-horizon]
    return out


def _lagged_difference(x: NDArray[np.float64], lag: int) -> NDArray[np.float64]:
    out = np.full(x.shape, np.nan)
    if lag < len(x):
        out[lag:] = x[lag:] - x[:-lag]
    return out


def _volume_z(volume: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """Z-score of volume; 0 where the window's volume is constant (e.g. no volume data)."""
    z = zscore(volume, window)
    warm = np.arange(len(volume)) >= window - 1
    return np.where(warm & ~np.isfinite(z), 0.0, z)


def _ratio(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / b, np.nan)
