"""Microstructure metrics of one symbol from its book, quotes and trades.

Book measures (spread, depth, imbalance, microprice) read the touch and the best
levels. Flow measures read a window of recent mids and trades, each in a numba loop:

- realized volatility: sqrt of the sum of squared log returns of the mid (over the
  window, not annualised);
- trade-sign autocorrelation at a lag: the sample autocorrelation of the aggressor
  signs (+1 buy, -1 sell); positive when order flow is persistent;
- Kyle's lambda: the OLS slope (with intercept) of the price change per time bucket on
  the bucket's net signed volume (price units per share);
- Amihud illiquidity: the mean over time buckets of |return| / dollar volume;
- VPIN: volume is classified by the tick rule (up-tick buy, down-tick sell, a zero
  tick keeps the last sign, the first trade counts half each way), poured into equal
  volume buckets (a trade may straddle two), and VPIN is the mean of
  |buy - sell| / bucket volume over the complete buckets.

A measure without enough data is NaN (None on the wire).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

Levels = list[tuple[float, float]]
"""(price, size) levels, best first."""


@dataclass(frozen=True, slots=True)
class MicroSettings:
    """How the metrics are taken; the defaults suit a feed of tens of quotes a second."""

    depth_levels: int = 5
    """Levels per side summed for depth and book imbalance."""
    window_seconds: float = 300.0
    """The flow measures look at the mids and trades of this many recent seconds."""
    bucket_seconds: float = 1.0
    """Time bucket of Kyle's lambda and Amihud illiquidity."""
    vpin_buckets: int = 50
    """The window's volume is cut into this many VPIN buckets (when no size is given)."""
    vpin_bucket_volume: float | None = None
    """A fixed VPIN bucket volume instead of window volume / `vpin_buckets`."""
    autocorr_lag: int = 1


@dataclass(slots=True)
class FlowWindow:
    """Recent mids and trades of one symbol, oldest first (ts in int ns UTC)."""

    quote_ts: NDArray[np.int64]
    mids: NDArray[np.float64]
    trade_ts: NDArray[np.int64]
    prices: NDArray[np.float64]
    sizes: NDArray[np.float64]
    signs: NDArray[np.float64]
    """Aggressor sign of each trade: +1 buy, -1 sell."""


# -- book measures ------------------------------------------------------------------------


def microprice(bid: float, ask: float, bid_size: float, ask_size: float) -> float:
    """The touch mid weighted toward the side with less size: where the next trade leans."""
    total = bid_size + ask_size
    if total <= 0:
        return (bid + ask) / 2
    return (bid * ask_size + ask * bid_size) / total


def imbalance(bid_volume: float, ask_volume: float) -> float:
    """(bid - ask) / (bid + ask) in [-1, 1]; NaN for an empty book."""
    total = bid_volume + ask_volume
    return (bid_volume - ask_volume) / total if total > 0 else math.nan


def book_measures(bids: Levels, asks: Levels, depth_levels: int) -> dict[str, float]:
    """Spread, depth, imbalance and microprice of the best levels (NaN where a side is empty)."""
    out: dict[str, float] = {
        "bid_depth": sum(s for _, s in bids[:depth_levels]),
        "ask_depth": sum(s for _, s in asks[:depth_levels]),
    }
    out["imbalance"] = imbalance(out["bid_depth"], out["ask_depth"])
    if not bids or not asks:
        nan = math.nan
        return {**out, "best_bid": nan, "best_ask": nan, "mid": nan, "spread": nan,
                "spread_bps": nan, "microprice": nan, "top_imbalance": nan,
                "bid_size": nan, "ask_size": nan}  # fmt: skip
    (bid, bid_size), (ask, ask_size) = bids[0], asks[0]
    mid = (bid + ask) / 2
    return {
        **out,
        "best_bid": bid,
        "best_ask": ask,
        "bid_size": bid_size,
        "ask_size": ask_size,
        "mid": mid,
        "spread": round(ask - bid, 10),  # 190.04 - 190.00 is 0.04, not 0.0399999999999
        "spread_bps": (ask - bid) / mid * 1e4,
        "microprice": microprice(bid, ask, bid_size, ask_size),
        "top_imbalance": imbalance(bid_size, ask_size),
    }


# -- flow measures (numba) ------------------------------------------------------------------


@njit(cache=True)
def realized_volatility(mids):
    """sqrt(sum of squared log returns) of a mid series; NaN with fewer than two mids."""
    n = mids.shape[0]
    if n < 2:
        return np.nan
    total = 0.0
    for i in range(1, n):
        r = math.log(mids[i] / mids[i - 1])
        total += r * r
    return math.sqrt(total)


@njit(cache=True)
def sign_autocorrelation(signs, lag):
    """Sample autocorrelation of a sign series at `lag`; NaN when undefined."""
    n = signs.shape[0]
    if lag < 1 or n <= lag:
        return np.nan
    mean = 0.0
    for i in range(n):
        mean += signs[i]
    mean /= n
    denominator = 0.0
    for i in range(n):
        denominator += (signs[i] - mean) ** 2
    if denominator == 0.0:
        return np.nan
    numerator = 0.0
    for i in range(n - lag):
        numerator += (signs[i] - mean) * (signs[i + lag] - mean)
    return numerator / denominator


@njit(cache=True)
def tick_rule(prices):
    """Trade signs by the tick rule: +1 up-tick, -1 down-tick, zero tick repeats, first 0."""
    n = prices.shape[0]
    out = np.zeros(n)
    last = 0.0
    for i in range(1, n):
        if prices[i] > prices[i - 1]:
            last = 1.0
        elif prices[i] < prices[i - 1]:
            last = -1.0
        out[i] = last
    return out


@njit(cache=True)
def time_buckets(ts, prices, sizes, signs, bucket_ns):
    """Per time bucket that has trades: last price, net signed volume, dollar volume."""
    n = ts.shape[0]
    last = np.empty(n)
    net = np.empty(n)
    dollars = np.empty(n)
    k = -1
    current = np.int64(0)
    for i in range(n):
        bucket = ts[i] // bucket_ns
        if k < 0 or bucket != current:
            k += 1
            current = bucket
            net[k] = 0.0
            dollars[k] = 0.0
        last[k] = prices[i]
        net[k] += signs[i] * sizes[i]
        dollars[k] += prices[i] * sizes[i]
    return last[: k + 1], net[: k + 1], dollars[: k + 1]


@njit(cache=True)
def ols_slope(x, y):
    """Slope of y on x by least squares with an intercept; NaN when x does not vary."""
    n = x.shape[0]
    if n < 2:
        return np.nan
    mx = 0.0
    my = 0.0
    for i in range(n):
        mx += x[i]
        my += y[i]
    mx /= n
    my /= n
    sxy = 0.0
    sxx = 0.0
    for i in range(n):
        sxy += (x[i] - mx) * (y[i] - my)
        sxx += (x[i] - mx) ** 2
    return sxy / sxx if sxx > 0.0 else np.nan


@njit(cache=True)
def kyle_lambda(ts, prices, sizes, signs, bucket_ns):
    """Price change per bucket regressed on the bucket's net signed volume (the slope)."""
    last, net, _ = time_buckets(ts, prices, sizes, signs, bucket_ns)
    if last.shape[0] < 3:
        return np.nan
    return ols_slope(net[1:], last[1:] - last[:-1])


@njit(cache=True)
def amihud(ts, prices, sizes, bucket_ns):
    """Mean over buckets (after the first) of |simple return| / dollar volume."""
    signs = np.ones(ts.shape[0])
    last, _, dollars = time_buckets(ts, prices, sizes, signs, bucket_ns)
    total = 0.0
    count = 0
    for k in range(1, last.shape[0]):
        if dollars[k] > 0.0:
            total += abs(last[k] / last[k - 1] - 1.0) / dollars[k]
            count += 1
    return total / count if count else np.nan


@njit(cache=True)
def vpin(sizes, signs, bucket_volume, window):
    """(VPIN over the last `window` complete buckets, complete buckets) from classified volume.

    A sign of +1 is buy volume, -1 sell, 0 half of each; a trade larger than what the
    current bucket lacks fills it and spills into the next.
    """
    imbalances = np.empty(sizes.shape[0] + 1)
    closed = 0
    filled = 0.0
    buys = 0.0
    for i in range(sizes.shape[0]):
        left = sizes[i]
        buy_share = (1.0 + signs[i]) / 2.0
        while left > 0.0:
            take = min(left, bucket_volume - filled)
            filled += take
            buys += take * buy_share
            left -= take
            if filled >= bucket_volume * (1.0 - 1e-12):
                if closed == imbalances.shape[0]:
                    imbalances = np.concatenate((imbalances, np.empty(imbalances.shape[0])))
                imbalances[closed] = abs(2.0 * buys - filled) / filled
                closed += 1
                filled = 0.0
                buys = 0.0
    if closed == 0:
        return np.nan, 0
    first = max(0, closed - window)
    return imbalances[first:closed].mean(), closed


# -- everything at once ---------------------------------------------------------------------


def flow_measures(window: FlowWindow, settings: MicroSettings) -> dict[str, float]:
    """The measures of a window of mids and trades."""
    bucket_ns = max(1, int(settings.bucket_seconds * 1e9))
    out = {
        "realized_vol": float(realized_volatility(window.mids)),
        "trade_sign_autocorr": float(sign_autocorrelation(window.signs, settings.autocorr_lag)),
        "kyle_lambda": math.nan,
        "amihud": math.nan,
        "vpin": math.nan,
        "vpin_bucket_volume": math.nan,
        "vpin_buckets": 0,
    }
    if window.trade_ts.shape[0]:
        args = (window.trade_ts, window.prices, window.sizes)
        out["kyle_lambda"] = float(kyle_lambda(*args, window.signs, bucket_ns))
        out["amihud"] = float(amihud(*args, bucket_ns))
        volume = settings.vpin_bucket_volume or float(window.sizes.sum()) / settings.vpin_buckets
        value, buckets = vpin(window.sizes, tick_rule(window.prices), volume, 1 << 30)
        out.update(vpin=float(value), vpin_bucket_volume=volume, vpin_buckets=int(buckets))
    return out


def compute_metrics(
    symbol: str,
    bids: Levels,
    asks: Levels,
    window: FlowWindow,
    settings: MicroSettings,
    ts: int,
) -> dict[str, Any]:
    """Every measure of one symbol as a plain map; NaN becomes None (JSON and the bus)."""
    values: dict[str, Any] = {
        "symbol": symbol,
        "ts": ts,
        **book_measures(bids, asks, settings.depth_levels),
        **flow_measures(window, settings),
        "depth_levels": settings.depth_levels,
        "window_seconds": settings.window_seconds,
        "quotes": int(window.mids.shape[0]),
        "trades": int(window.trade_ts.shape[0]),
    }
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in values.items()}
