"""Returns, drawdowns, benchmark and calendar statistics on small hand-checked curves."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from bifrost.analytics.returns import (
    align_benchmark,
    benchmark_stats,
    calendar_returns,
    drawdowns,
    risk_stats,
    rolling_stats,
    simple_returns,
)

DAY = 86_400_000_000_000


def ns(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp()) * 1_000_000_000


def test_simple_returns_of_a_four_point_curve() -> None:
    returns = simple_returns(np.array([100.0, 110.0, 99.0, 121.0]))
    assert returns == pytest.approx([0.10, -0.10, 121 / 99 - 1])


def test_drawdowns_one_recovered_and_one_open_period() -> None:
    ts = np.arange(6) * DAY
    # peak 110 at day 1, trough 99 (-10 %) at day 2, back to 121 at day 3; then 121 -> 96.8
    equity = np.array([100.0, 110.0, 99.0, 121.0, 108.9, 96.8])
    down = drawdowns(ts, equity)
    assert down["max_drawdown_pct"] == pytest.approx(-20.0)  # 96.8 / 121 - 1
    assert down["underwater_pct"] == pytest.approx([0, 0, -10, 0, -10, -20])
    deepest, second = down["periods"]
    assert deepest == {
        "peak_ts": 3 * DAY,
        "trough_ts": 5 * DAY,
        "recovery_ts": None,
        "depth_pct": pytest.approx(-20.0),
        "days": 2.0,
    }
    assert second["peak_ts"] == DAY and second["recovery_ts"] == 3 * DAY
    assert second["days"] == 2.0 and second["depth_pct"] == pytest.approx(-10.0)
    assert down["max_duration_days"] == 2.0


def test_drawdowns_of_a_rising_curve_are_zero() -> None:
    down = drawdowns(np.arange(3) * DAY, np.array([1.0, 2.0, 3.0]))
    assert (down["max_drawdown_pct"], down["max_duration_days"], down["periods"]) == (0.0, 0.0, [])


def test_risk_stats_match_the_formulas() -> None:
    returns = np.array([0.01, -0.02, 0.03])
    stats = risk_stats(returns, 252)
    mean, std = 0.02 / 3, float(np.std(returns, ddof=1))
    assert stats["annual_volatility_pct"] == pytest.approx(100 * std * math.sqrt(252))
    assert stats["sharpe"] == pytest.approx(mean / std * math.sqrt(252))
    downside = math.sqrt(0.02**2 / 3)
    assert stats["sortino"] == pytest.approx(mean / downside * math.sqrt(252))


def test_twice_the_benchmark_has_beta_two_and_correlation_one() -> None:
    bench = np.array([0.01, -0.02, 0.015, 0.005])
    stats = benchmark_stats(2 * bench, bench, 252)
    assert stats["beta"] == pytest.approx(2.0)
    assert stats["correlation"] == pytest.approx(1.0)
    # alpha = P * (mean(r) - beta * mean(b)) = 0 when r is exactly 2 b
    assert stats["alpha_pct"] == pytest.approx(0.0, abs=1e-9)


def test_rolling_stats_fill_from_the_window_on() -> None:
    bench = np.array([0.01, -0.02, 0.015, 0.005, -0.01])
    rolling = rolling_stats(3 * bench, bench, 3, 252)
    assert np.isnan(rolling["beta"][:2]).all()
    assert rolling["beta"][2:] == pytest.approx([3.0, 3.0, 3.0])
    last = 3 * bench[2:]
    expected = last.mean() / last.std(ddof=1) * math.sqrt(252)
    assert rolling["sharpe"][-1] == pytest.approx(expected)


def test_align_benchmark_takes_the_last_close_at_or_before() -> None:
    aligned = align_benchmark(
        np.array([5, 10, 25, 40]), np.array([10, 20, 30]), np.array([1.0, 2.0, 3.0])
    )
    assert np.isnan(aligned[0])
    assert aligned[1:].tolist() == [1.0, 2.0, 3.0]


def test_calendar_returns_chain_months_and_years() -> None:
    ts = np.array([ns(2024, 11, 29), ns(2024, 11, 30), ns(2024, 12, 31), ns(2025, 1, 15)])
    equity = np.array([100.0, 105.0, 94.5, 99.225])
    table = calendar_returns(ts, equity)
    monthly = [(r["year"], r["month"], r["return_pct"]) for r in table["monthly"]]
    assert monthly == [
        (2024, 11, pytest.approx(5.0)),
        (2024, 12, pytest.approx(-10.0)),
        (2025, 1, pytest.approx(5.0)),
    ]
    yearly = [(r["year"], r["return_pct"]) for r in table["yearly"]]
    assert yearly == [(2024, pytest.approx(-5.5)), (2025, pytest.approx(5.0))]
