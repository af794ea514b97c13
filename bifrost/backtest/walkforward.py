"""Walk-forward analysis: optimise on a training window, trade the next window unseen.

Windows are counted in bars of the first symbol's timeline. Rolling: each training
window has `train` bars and slides by `test`; anchored: training always starts at
the first bar and grows. Every test window runs standalone with the parameters that
ranked best on its training window (its indicators warm up inside the window) and
starts with the equity the previous test window ended with, so the test windows
chain into one out-of-sample equity curve.

The deflated Sharpe ratio (Bailey and López de Prado, 2014) is the probability that
the out-of-sample Sharpe ratio is above what the best of N trials would show by
luck: DSR = Φ((SR - SR0) √(T-1) / √(1 - skew SR + (kurt - 1)/4 SR²)), with SR the
per-bar Sharpe ratio over T out-of-sample returns, skew and kurt their skewness and
(non-excess) kurtosis, and SR0 = √V · ((1 - g) Φ⁻¹(1 - 1/N) + g Φ⁻¹(1 - 1/(N e))),
where V is the variance of the per-bar Sharpe ratios of the N grid points on the
training windows and g is the Euler-Mascheroni constant.
"""

from __future__ import annotations

import math
from dataclasses import replace
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from bifrost.backtest.engine import trade_arrays
from bifrost.backtest.runner import RunRequest, run_request
from bifrost.backtest.stats import (
    STAT_KEYS,
    compute_stats,
    infer_periods_per_year,
    to_jsonable,
)
from bifrost.backtest.sweep import Progress, rank, run_sweep, valid_points
from bifrost.errors import BadRequest
from bifrost.strategy.bars import BarArrays, slice_bars

if TYPE_CHECKING:
    from bifrost.research.cluster import ResearchCluster

EULER_GAMMA = 0.5772156649015329


def windows(bars: int, train: int, test: int, anchored: bool) -> list[tuple[int, int, int]]:
    """(train start, test start, test end) bar indices of every split."""
    if train < 2 or test < 2:
        raise BadRequest("train and test windows need at least 2 bars each")
    if train + test > bars:
        raise BadRequest(f"train + test ({train + test} bars) is longer than the data ({bars})")
    out = []
    start = train
    while start + test <= bars:
        out.append((0 if anchored else start - train, start, start + test))
        start += test
    return out


def per_bar_sharpe(equity: np.ndarray) -> float:
    """Mean over std of per-bar returns (not annualised); 0 when undefined."""
    returns = np.diff(equity) / equity[:-1]
    if len(returns) < 2 or np.std(returns, ddof=1) < 1e-12:
        return 0.0
    return float(np.mean(returns) / np.std(returns, ddof=1))


def deflated_sharpe(returns: np.ndarray, trial_sharpes: list[float]) -> float | None:
    """The deflated Sharpe ratio (module docstring); None when undefined."""
    t = len(returns)
    n = len(trial_sharpes)
    if t < 3 or n < 2 or np.std(returns, ddof=1) < 1e-12:
        return None
    sr = float(np.mean(returns) / np.std(returns, ddof=1))
    centred = returns - returns.mean()
    sd = returns.std()
    skew = float(np.mean(centred**3) / sd**3)
    kurt = float(np.mean(centred**4) / sd**4)
    normal = NormalDist()
    variance = float(np.var(trial_sharpes, ddof=1))
    sr0 = math.sqrt(variance) * (
        (1 - EULER_GAMMA) * normal.inv_cdf(1 - 1 / n)
        + EULER_GAMMA * normal.inv_cdf(1 - 1 / (n * math.e))
    )
    denominator = 1 - skew * sr + (kurt - 1) / 4 * sr**2
    if denominator <= 0:
        return None
    return normal.cdf((sr - sr0) * math.sqrt(t - 1) / math.sqrt(denominator))


def walk_forward(
    request: RunRequest,
    data: dict[str, BarArrays],
    points: list[dict[str, Any]],
    *,
    train: int,
    test: int,
    anchored: bool = False,
    metric: str = "sharpe",
    cluster: ResearchCluster | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Optimise on each training window, trade the following test window; report both.

    With a `cluster`, each window's sweep is spread over it, the bars scattered to each
    worker once for every window."""
    if metric not in STAT_KEYS:
        raise BadRequest(f"metric '{metric}' is not a statistic")
    splits = windows(len(data[request.symbols[0]].ts), train, test, anchored)
    points, skipped = valid_points(request, points)
    shared = cluster.scatter(data) if cluster is not None else None
    walk = _Walk(request, data, points, metric, cluster, shared)
    for n, split in enumerate(splits):
        walk.step(*split)
        if progress:
            progress(n + 1, len(splits))
    return walk.report() | {"skipped": sum(skipped.values()), "skipped_by_rule": skipped}


class _Walk:
    """The state of one walk-forward: the test windows traded so far."""

    def __init__(
        self,
        request: RunRequest,
        data: dict[str, BarArrays],
        points: list[dict[str, Any]],
        metric: str,
        cluster: ResearchCluster | None,
        shared: Any,
    ) -> None:
        self.request, self.data, self.points, self.metric = request, data, points, metric
        self.cluster, self.shared = cluster, shared
        self.timeline = data[request.symbols[0]].ts
        self.cash = request.cash
        self.windows: list[dict[str, Any]] = []
        self.results: list[Any] = []
        self.trial_sharpes: list[float] = []

    def step(self, a: int, b: int, c: int) -> None:
        """Optimise on bars [a, b), trade bars [b, c) with the winner."""
        timeline = self.timeline
        window = (int(timeline[a]), int(timeline[b]))
        results = run_sweep(
            self.request,
            self.data,
            self.points,
            window=window,
            cluster=self.cluster,
            shared=self.shared,
        )
        ppy = self.request.annual_periods()
        per_bar = math.sqrt(infer_periods_per_year(timeline[a:b]) if ppy is None else ppy)
        self.trial_sharpes += [
            r["stats"]["sharpe"] / per_bar
            for r in results
            if r["stats"] and r["stats"].get("sharpe") is not None
        ]
        best = rank(results, self.metric)[0]
        end = int(timeline[c]) if c < len(timeline) else int(timeline[-1]) + 1
        test_request = replace(self.request, params=best["params"], cash=self.cash)
        outcome = run_request(test_request, slice_bars(self.data, int(timeline[b]), end))
        self.cash = float(outcome.equity[-1])
        self.results.append(outcome)
        self.windows.append(
            {
                "train": [int(timeline[a]), int(timeline[b - 1])],
                "test": [int(timeline[b]), int(timeline[c - 1])],
                "params": best["params"],
                "in_sample": best["stats"],
                "out_of_sample": to_jsonable(outcome.stats),
            }
        )

    def report(self) -> dict[str, Any]:
        """Per-window results and the chained out-of-sample statistics."""
        ts = np.concatenate([r.ts for r in self.results])
        equity = np.concatenate([r.equity for r in self.results])
        exposure = np.concatenate([r.exposure for r in self.results])
        trades = [t for r in self.results for t in r.trades]
        symbol = self.request.symbols[0]
        benchmark = slice_bars(self.data, int(ts[0]), int(ts[-1]) + 1)[symbol].close
        overall = compute_stats(
            ts,
            equity,
            trade_arrays(trades),
            exposure,
            benchmark,
            self.request.annual_periods(),
        )
        start = np.concatenate([[self.request.cash], equity[:-1]])
        returns = (equity - start) / start
        return {
            "windows": self.windows,
            "out_of_sample": to_jsonable(overall),
            "deflated_sharpe": deflated_sharpe(returns, self.trial_sharpes),
            "trials": len(self.points),
            "equity": {"ts": ts.tolist(), "equity": equity.tolist()},
        }
