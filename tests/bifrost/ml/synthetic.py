"""Synthetic daily bars for the ML tests: a random walk, optionally with a planted signal."""

from __future__ import annotations

import numpy as np
import polars as pl

DAY = 86_400 * 10**9
START = 1_600_000_000 * 10**9 // DAY * DAY


def bars(n: int, seed: int, persistence: float = 0.0, vol: float = 0.01) -> pl.DataFrame:
    """Daily bars whose returns follow r[t] = persistence * r[t-1] + noise.

    With persistence 0 the series is a random walk (nothing to learn); above 0 the
    sign of today's return predicts tomorrow's (a planted, learnable signal).
    """
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n) * vol
    returns = np.empty(n)
    returns[0] = noise[0]
    for t in range(1, n):
        returns[t] = persistence * returns[t - 1] + noise[t]
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[100.0], close[:-1]])
    reach = np.abs(rng.standard_normal((2, n))) * vol * 0.5
    return pl.DataFrame(
        {
            "ts": START + np.arange(n, dtype=np.int64) * DAY,
            "open": open_,
            "high": np.maximum(open_, close) * (1 + reach[0]),
            "low": np.minimum(open_, close) * (1 - reach[1]),
            "close": close,
            "volume": rng.lognormal(12, 0.3, n),
        }
    )
