"""Returns, drawdowns, rolling and benchmark statistics, and calendar tables of an equity curve.

Notation as in `bifrost.backtest.stats`: E_0..E_{n-1} equity at t_0..t_{n-1} (int ns UTC),
r_i = E_i / E_{i-1} - 1, P periods per year. A benchmark is a close series B aligned to
the same instants (the last close at or before each t_i), b_i = B_i / B_{i-1} - 1.

    beta         cov(r, b) / var(b) (ddof 1), over the periods where both are defined
    alpha_pct    100 * P * (mean(r) - beta * mean(b))   (annualised, arithmetic)
    correlation  Pearson correlation of r and b
    rolling_*    the same (and Sharpe = mean / std * sqrt(P), volatility = 100 * std *
                 sqrt(P)) over the last `window` returns, NaN until `window` returns exist
    monthly      100 * (last E of the month / last E of the month before - 1); the first
                 month is measured from E_0. Calendar months and years are UTC.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bifrost.backtest.stats import NS_PER_DAY, STD_EPSILON, drawdown_series

NAN = float("nan")
MAX_WINDOW = 63
"""Rolling statistics use about a quarter of daily returns, fewer on a short curve."""


def simple_returns(values: np.ndarray) -> np.ndarray:
    """r_i = v_i / v_{i-1} - 1 for i = 1..n-1 (NaN where v_{i-1} is 0 or either is NaN)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return np.empty(0, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = values[1:] / values[:-1] - 1.0
    out[~np.isfinite(out)] = NAN
    return out


def rolling_window(returns: int) -> int:
    """Window of the rolling statistics: MAX_WINDOW, or a third of a shorter series (>= 3)."""
    return max(3, min(MAX_WINDOW, returns // 3))


def drawdowns(ts: np.ndarray, equity: np.ndarray, top: int = 5) -> dict[str, Any]:
    """Max drawdown, its longest duration, the underwater series and the deepest periods.

    A period starts at the last point at its peak and ends at the first point back at
    or above it (`recovery_ts`), or is still open (None) at the end of the curve.
    """
    ts = np.asarray(ts, dtype=np.int64)
    underwater = drawdown_series(equity)
    below = np.concatenate(([False], underwater < 0, [False]))
    edges = np.diff(below.astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    periods: list[dict[str, Any]] = []
    depths: list[float] = []
    lengths: list[float] = []
    for first, last in zip(starts, ends, strict=True):
        trough = first + int(np.argmin(underwater[first : last + 1]))
        recovered = last + 1 < len(ts)
        peak_ts = int(ts[first - 1])  # point 0 is never below its own peak, so first >= 1
        end_ts = int(ts[last + 1]) if recovered else int(ts[-1])
        depths.append(100.0 * float(underwater[trough]))
        lengths.append((end_ts - peak_ts) / NS_PER_DAY)
        periods.append(
            {
                "peak_ts": peak_ts,
                "trough_ts": int(ts[trough]),
                "recovery_ts": end_ts if recovered else None,
                "depth_pct": depths[-1],
                "days": lengths[-1],
            }
        )
    deepest = np.argsort(np.array(depths), kind="stable")[:top]
    return {
        "max_drawdown_pct": min(depths, default=0.0),
        "max_duration_days": max(lengths, default=0.0),
        "periods": [periods[i] for i in deepest],
        "underwater_pct": 100.0 * underwater,
    }


def risk_stats(returns: np.ndarray, ppy: float) -> dict[str, float]:
    """Annualised volatility (percent), Sharpe and Sortino of per-period returns (rf = 0)."""
    r = returns[np.isfinite(returns)]
    out = {"annual_volatility_pct": NAN, "sharpe": NAN, "sortino": NAN}
    if len(r) < 2:
        return out
    scale = math.sqrt(ppy)
    std = float(np.std(r, ddof=1))
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    out["annual_volatility_pct"] = 100.0 * std * scale
    if std >= STD_EPSILON:
        out["sharpe"] = float(np.mean(r)) / std * scale
    if downside >= STD_EPSILON:
        out["sortino"] = float(np.mean(r)) / downside * scale
    return out


def benchmark_stats(returns: np.ndarray, bench: np.ndarray, ppy: float) -> dict[str, float]:
    """Beta, annualised alpha (percent) and correlation against benchmark returns."""
    both = np.isfinite(returns) & np.isfinite(bench)
    r, b = returns[both], bench[both]
    out = {"beta": NAN, "alpha_pct": NAN, "correlation": NAN}
    if len(r) < 2:
        return out
    var_b = float(np.var(b, ddof=1))
    if var_b < STD_EPSILON**2:
        return out
    beta = float(np.cov(r, b, ddof=1)[0, 1]) / var_b
    out["beta"] = beta
    out["alpha_pct"] = 100.0 * ppy * (float(np.mean(r)) - beta * float(np.mean(b)))
    if float(np.std(r, ddof=1)) >= STD_EPSILON:
        out["correlation"] = float(np.corrcoef(r, b)[0, 1])
    return out


def rolling_stats(
    returns: np.ndarray, bench: np.ndarray | None, window: int, ppy: float
) -> dict[str, np.ndarray]:
    """Rolling Sharpe, volatility (percent) and beta, one value per return (NaN until full)."""
    n = len(returns)
    sharpe, vol, beta = (np.full(n, NAN) for _ in range(3))
    if n >= window >= 2:
        windows = sliding_window_view(returns, window)
        mean = windows.mean(axis=1)
        std = windows.std(axis=1, ddof=1)
        scale = math.sqrt(ppy)
        vol[window - 1 :] = 100.0 * std * scale
        with np.errstate(divide="ignore", invalid="ignore"):
            sharpe[window - 1 :] = np.where(std >= STD_EPSILON, mean / std * scale, NAN)
        if bench is not None:
            bench_windows = sliding_window_view(bench, window)
            b_mean = bench_windows.mean(axis=1, keepdims=True)
            cov = ((windows - mean[:, None]) * (bench_windows - b_mean)).sum(axis=1) / (window - 1)
            var_b = bench_windows.var(axis=1, ddof=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                beta[window - 1 :] = np.where(var_b >= STD_EPSILON**2, cov / var_b, NAN)
    return {"sharpe": sharpe, "volatility_pct": vol, "beta": beta}


def align_benchmark(ts: np.ndarray, bench_ts: np.ndarray, bench_close: np.ndarray) -> np.ndarray:
    """The benchmark close at or before each of `ts` (NaN before its first close)."""
    bench_ts = np.asarray(bench_ts, dtype=np.int64)
    idx = np.searchsorted(bench_ts, np.asarray(ts, dtype=np.int64), side="right") - 1
    out = np.asarray(bench_close, dtype=np.float64)[np.maximum(idx, 0)].copy()
    out[idx < 0] = NAN
    return out


def calendar_returns(ts: np.ndarray, equity: np.ndarray) -> dict[str, list[dict[str, Any]]]:
    """Monthly and yearly returns in percent (UTC calendar; first period from E_0)."""
    months = [_utc(t) for t in np.asarray(ts, dtype=np.int64)]
    monthly, yearly = [], []
    base_month = base_year = float(equity[0])
    for i, moment in enumerate(months):
        last_of_month = i + 1 == len(months) or months[i + 1][:2] != moment[:2]
        if last_of_month:
            value = float(equity[i])
            monthly.append(
                {"year": moment[0], "month": moment[1], "return_pct": _pct(value, base_month)}
            )
            base_month = value
        if i + 1 == len(months) or months[i + 1][0] != moment[0]:
            value = float(equity[i])
            yearly.append({"year": moment[0], "return_pct": _pct(value, base_year)})
            base_year = value
    return {"monthly": monthly, "yearly": yearly}


def _utc(ts_ns: int) -> tuple[int, int]:
    moment = datetime.fromtimestamp(int(ts_ns) / 1e9, tz=UTC)
    return moment.year, moment.month


def _pct(value: float, base: float) -> float:
    return 100.0 * (value / base - 1.0) if base else NAN
