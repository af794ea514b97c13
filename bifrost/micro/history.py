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
    settings: MicroSettings | None = None,
) -> dict[str, Any]:
    """Metrics of the recorded window before the symbol's last recorded tick: through the
    data daemon when it runs, else from data.duckdb opened read-only (the same rows)."""
    settings = settings or MicroSettings()
    window_ns = int(settings.window_seconds * 1e9)
    data = DataGateway(client, home)
    quotes = data.latest_ticks("quotes", symbol, window_ns)
    trades = data.latest_ticks("trades", symbol, window_ns)
    return metrics_from_frames(symbol, quotes, trades, settings)


def stored_history(
    path: Path, followed: list[str], symbol: str, limit: int
) -> list[dict[str, Any]]:
    """The latest `limit` metric rows of `symbol` from micro.duckdb opened read-only (none
    while there is no file yet); NotFound for a symbol the service would not follow (not
    configured, no stored rows), as the running service answers."""
    from bifrost.micro.engine import unfollowed
    from bifrost.store.database import open_for_reading
    from bifrost.store.micro import metric_history
    from bifrost.store.schema import MICRO

    with open_for_reading(path, MICRO) as connection:
        rows = metric_history(connection, symbol, limit)
    if not rows and symbol not in followed:
        raise unfollowed(symbol, followed)
    return rows
