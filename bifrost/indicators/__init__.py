"""Technical indicators over float64 numpy arrays, in batch and one bar at a time.

Batch functions (`sma`, `ema`, `rolling_std`, `zscore`, `rsi`, `macd`, `bollinger`,
`atr`, `crossover`, `crossunder`) take 1-D arrays and return arrays of the same length,
NaN where there is not yet enough data; they validate their arguments (raising
`bifrost.errors.BadRequest`) and run numba kernels. The classes (`SMA`, `EMA`,
`RollingStd`, `ZScore`, `Bollinger`, `RSI`, `ATR`, `MACD`) take one value per `update`
inside a strategy's `on_bar` and give the same numbers as the batch functions at every
step.
"""

from bifrost.indicators.crossings import crossover, crossunder
from bifrost.indicators.ema import EMA, MACD, ema, macd
from bifrost.indicators.incremental import Incremental
from bifrost.indicators.wilder import ATR, RSI, atr, rsi
from bifrost.indicators.windowed import (
    SMA,
    Bollinger,
    RollingStd,
    ZScore,
    bollinger,
    rolling_std,
    sma,
    zscore,
)

__all__ = [
    "ATR",
    "EMA",
    "MACD",
    "RSI",
    "SMA",
    "Bollinger",
    "Incremental",
    "RollingStd",
    "ZScore",
    "atr",
    "bollinger",
    "crossover",
    "crossunder",
    "ema",
    "macd",
    "rolling_std",
    "rsi",
    "sma",
    "zscore",
]
