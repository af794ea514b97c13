"""Microstructure metrics from recorded quotes and trades, for when no daemon computes them.

The window is the `window_seconds` before the symbol's latest recorded tick. Stored
data holds the touch only (the L2 book is not recorded), so depth and imbalance are
those of the last quote's best bid and ask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bifrost.client import BifrostClient
from bifrost.errors import NotFound
from bifrost.market.gateway import DataGateway
from bifrost.micro.metrics import FlowWindow, MicroSettings, compute_metrics


def window_from_frames(quotes: pl.DataFrame, trades: pl.DataFrame) -> FlowWindow:
    """A FlowWindow of quote rows (ts, bid, ask, ...) and trade rows (ts, price, size, side)."""
    return FlowWindow(
        quotes["ts"].to_numpy().astype(np.int64),
        ((quotes["bid"] + quotes["ask"]) / 2).to_numpy().astype(np.float64),
        trades["ts"].to_numpy().astype(np.int64),
        trades["price"].to_numpy().astype(np.float64),
        trades["size"].to_numpy().astype(np.float64),
        np.where(trades["side"].to_numpy() == "BUY", 1.0, -1.0),
    )


def metrics_from_frames(
    symbol: str, quotes: pl.DataFrame, trades: pl.DataFrame, settings: MicroSettings
) -> dict[str, Any]:
    """The metrics of recorded quotes and trades (the touch from the last quote)."""
    if quotes.height == 0:
        raise NotFound(f"no recorded quotes for {symbol}: nothing to measure")
    last = quotes.row(quotes.height - 1, named=True)
    bids = [(float(last["bid"]), float(last["bid_size"]))]
    asks = [(float(last["ask"]), float(last["ask_size"]))]
    end = max(int(last["ts"]), int(trades["ts"].to_numpy().max()) if trades.height else 0)
    window = window_from_frames(quotes, trades)
    result = compute_metrics(symbol, bids, asks, window, settings, end)
    return {**result, "source": "stored", "book": "quote"}


def stored_metrics(
    client: BifrostClient,
    home: Path,
    symbol: str,
    now_ns: int,
    settings: MicroSettings | None = None,
) -> dict[str, Any]:
    """Metrics of the latest recorded window: through the data daemon when it runs (the
    window before now), else from data.duckdb opened read-only (the window before the
    last recorded tick)."""
    settings = settings or MicroSettings()
    window_ns = int(settings.window_seconds * 1e9)
    data = DataGateway(client, home)
    if data.via == "daemon":
        quotes = data.quotes(symbol, now_ns - window_ns)
        trades = data.trades(symbol, now_ns - window_ns)
    else:
        from bifrost.store.database import open_store
        from bifrost.store.ticks import latest_rows

        with open_store(data.store_file, read_only=True) as connection:
            quotes = latest_rows(connection, "quotes", symbol, window_ns)
            trades = latest_rows(connection, "trades", symbol, window_ns)
    return metrics_from_frames(symbol, quotes, trades, settings)
