"""The faster paths give the numbers of the slow ones: the mean-only window kernel, the
fused SMA cross, the median bar spacing, and trades kept as columns."""

from __future__ import annotations

import numpy as np
import pytest

from bifrost.backtest.engine import BacktestConfig, run_backtest, trade_records
from bifrost.backtest.stats import median_spacing
from bifrost.backtest.vector import run_vector_targets
from bifrost.errors import BadRequest
from bifrost.indicators import crossover, crossunder, sma
from bifrost.indicators.moments import MEAN_TILE, means_kernel, moments_kernel
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.builtin import SmaCross


def walk(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))


@pytest.mark.parametrize("seed", range(20))
def test_means_kernel_equals_moments_mean_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = walk(int(rng.integers(1, 400)), seed)
    x[rng.random(len(x)) < 0.03] = np.nan  # gaps restart the windows
    for n in (1, 2, 3, 7, 10, 30):
        assert np.array_equal(means_kernel(x, n), moments_kernel(x, n)[0], equal_nan=True)


@pytest.mark.parametrize("n", [1, 2, 10, 30, 31, 200])
def test_means_kernel_equals_moments_mean_across_many_tiles(n: int) -> None:
    rng = np.random.default_rng(n)
    x = walk(3 * MEAN_TILE * n + n // 2 + 1, n)  # several tiles and a short last block
    x[rng.random(len(x)) < 0.001] = np.nan
    x[len(x) // 3 : len(x) // 3 + 2 * n] = 5.0  # a flat stretch: its windows are exactly 5
    assert np.array_equal(means_kernel(x, n), moments_kernel(x, n)[0], equal_nan=True)


@pytest.mark.parametrize("seed", range(5))
def test_sma_cross_fused_signals_equal_the_indicators(seed: int) -> None:
    close = walk(5_000, seed)
    close[np.random.default_rng(seed).random(len(close)) < 0.002] = np.nan
    bars = BarArrays(np.arange(len(close)), close, close, close, close, np.ones(len(close)))
    fast, slow = sma(close, 7), sma(close, 25)
    up, down = SmaCross.signals(bars, 7, 25)
    assert np.array_equal(up, crossover(fast, slow))
    assert np.array_equal(down, crossunder(fast, slow))
    short = SmaCross.targets(bars, 7, 25, allow_short=True)
    expected = np.where(up, 1.0, np.where(down, -1.0, np.nan))
    assert np.array_equal(short, expected, equal_nan=True)


@pytest.mark.parametrize("seed", range(20))
def test_median_spacing_equals_numpy_median(seed: int) -> None:
    rng = np.random.default_rng(seed)
    steps = rng.choice([60, 60, 60, 120, 3_600, 30], size=int(rng.integers(1, 3_000)))
    ts = np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)
    assert median_spacing(ts) == int(np.median(np.diff(ts)))


def bars_of(n: int) -> BarArrays:
    close = walk(n, 11)
    ts = np.arange(n, dtype=np.int64) * 86_400_000_000_000
    return BarArrays(ts, close * 1.001, close * 1.01, close * 0.99, close, np.ones(n))


def test_vector_result_trades_are_built_from_the_columns_on_demand() -> None:
    bars = bars_of(600)
    result = run_vector_targets("X", bars, SmaCross.targets(bars, 5, 20), BacktestConfig())
    columns = result.trade_columns
    assert len(columns) > 3 and result._records is None
    trades = result.trades
    assert [t.pnl for t in trades] == columns.pnl.tolist()
    assert [t.return_pct for t in trades] == columns.return_pct.tolist()


def test_event_result_columns_round_trip_to_the_same_records() -> None:
    bars = bars_of(600)
    result = run_backtest(SmaCross(fast=5, slow=20), {"X": bars}, BacktestConfig())
    assert trade_records(result.trade_columns) == result.trades


def test_vector_targets_outside_the_four_values_are_refused() -> None:
    bars = bars_of(50)
    targets = np.full(50, np.nan)
    targets[7] = 0.5
    with pytest.raises(BadRequest, match="bar 7"):
        run_vector_targets("X", bars, targets, BacktestConfig())
