"""A license-free daily OHLCV sample: seeded GBM prices on real XNYS trading days.

Bifrost ships no market data; this generator makes the same ten years of daily bars
for the same seed on every machine, so the demo and the tests never need the
network. Files come out Yahoo-style (`Date,Open,High,Low,Close,Adj Close,Volume`),
which exercises the same import path as real downloads.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

SAMPLE_SYMBOLS: dict[str, tuple[float, float, float]] = {
    # symbol: (start price, annual drift, annual volatility)
    "AAPL": (27.0, 0.22, 0.28),
    "MSFT": (46.0, 0.20, 0.26),
    "NVDA": (5.0, 0.45, 0.50),
    "SPY": (205.0, 0.10, 0.17),
}
SAMPLE_START = "2015-01-02"
SAMPLE_END = "2024-12-31"


def xnys_sessions(start: str, end: str) -> list[str]:
    """ISO dates of the New York Stock Exchange sessions between two dates."""
    from bifrost.market.ingest.calendar import session_dates

    dates = session_dates("XNYS", date.fromisoformat(start), date.fromisoformat(end))
    return [d.isoformat() for d in dates.to_list()]


def daily_bars(
    symbol: str, sessions: list[str], start_price: float, drift: float, vol: float, seed: int
) -> pl.DataFrame:
    """One symbol's daily bars over `sessions`, Yahoo column names, prices in cents."""
    rng = np.random.default_rng([seed, *symbol.encode()])
    n = len(sessions)
    dt = 1 / 252
    returns = (drift - vol**2 / 2) * dt + vol * math.sqrt(dt) * rng.standard_normal(n)
    close = start_price * np.exp(np.cumsum(returns))
    previous = np.concatenate([[start_price], close[:-1]])
    open_ = previous * np.exp(0.2 * vol * math.sqrt(dt) * rng.standard_normal(n))
    reach = np.abs(rng.standard_normal((2, n))) * 0.5 * vol * math.sqrt(dt)
    high = np.ceil(np.maximum(open_, close) * (1 + reach[0]) * 100) / 100
    low = np.floor(np.minimum(open_, close) * (1 - reach[1]) * 100) / 100
    volume = np.round(rng.lognormal(16.0, 0.4, n))
    return pl.DataFrame(
        {
            "Date": sessions,
            "Open": np.round(open_, 2),
            "High": high,
            "Low": low,
            "Close": np.round(close, 2),
            "Adj Close": np.round(close, 2),
            "Volume": volume.astype(np.int64),
        }
    )


def write_sample(folder: Path, seed: int = 7) -> list[Path]:
    """Write one CSV per sample symbol into `folder`; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    sessions = xnys_sessions(SAMPLE_START, SAMPLE_END)
    paths = []
    for symbol, (price, drift, vol) in SAMPLE_SYMBOLS.items():
        path = folder / f"{symbol}.csv"
        daily_bars(symbol, sessions, price, drift, vol, seed).write_csv(path)
        paths.append(path)
    return paths
