"""compute_stats, drawdown_series and friends: hand-computed values, edge cases, properties."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bifrost.backtest.stats import (
    NS_PER_DAY,
    STAT_KEYS,
    TradeArrays,
    compute_stats,
    drawdown_series,
    infer_periods_per_year,
    to_jsonable,
)

MINUTE = 60_000_000_000
HOUR = 60 * MINUTE
QUARTER_YEAR = int(121.75 * NS_PER_DAY)
"""A quarter of a 365.25-day year: four bars this far apart span exactly one year."""

CURVE = [100.0, 110.0, 99.0, 121.0]
"""Up 10 %, down 10 %, up to +21 %: one drawdown of -10 % from bar 1, recovered at bar 3."""


def spaced(n: int, step: int = NS_PER_DAY, start: int = 0) -> np.ndarray:
    """`n` int ns timestamps `step` apart."""
    return start + step * np.arange(n, dtype=np.int64)


def trades_of(pnl: list[float], returns: list[float], days: list[float]) -> TradeArrays:
    """Round trips with the given pnl, fractional returns and holding days, all entered at 0."""
    n = len(pnl)
    entry = np.zeros(n, dtype=np.int64)
    exit_ = (np.asarray(days) * NS_PER_DAY).astype(np.int64)
    ones = np.ones(n)
    symbols = np.array(["AAPL"] * n, dtype=object)
    return TradeArrays(
        entry,
        exit_,
        np.asarray(pnl, float),
        np.asarray(returns, float),
        ones,
        ones,
        ones,
        symbols,
        np.zeros(n),
    )


def stats_of(
    equity: list[float],
    ts: np.ndarray | None = None,
    trades: TradeArrays | None = None,
    exposure: list[bool] | None = None,
    benchmark: list[float] | None = None,
    **kwargs: float,
) -> dict:
    """compute_stats with defaults: daily bars, no trades, always exposed, no benchmark."""
    n = len(equity)
    return compute_stats(
        spaced(n) if ts is None else ts,
        np.asarray(equity, dtype=np.float64),
        TradeArrays.empty() if trades is None else trades,
        np.ones(n, dtype=bool) if exposure is None else np.asarray(exposure),
        None if benchmark is None else np.asarray(benchmark, dtype=np.float64),
        **kwargs,
    )


def curve_stats() -> dict:
    """CURVE over exactly one year (bars a quarter apart, so periods_per_year infers as 3)."""
    return stats_of(CURVE, ts=spaced(4, QUARTER_YEAR))


# --- the small curve, by hand -------------------------------------------------------------


def test_compute_stats_small_curve_returns_hand_values() -> None:
    stats = curve_stats()
    assert stats["total_return_pct"] == pytest.approx(21.0)
    assert stats["annual_return_pct"] == pytest.approx(21.0)  # one year: CAGR = total
    assert stats["equity_final"] == 121.0
    assert stats["equity_peak"] == 121.0


def test_compute_stats_small_curve_drawdown_hand_values() -> None:
    stats = curve_stats()
    assert stats["max_drawdown_pct"] == pytest.approx(-10.0)
    assert stats["avg_drawdown_pct"] == pytest.approx(-10.0)
    assert stats["max_drawdown_duration_days"] == pytest.approx(243.5)  # bar 1 -> bar 3
    assert stats["calmar"] == pytest.approx(2.1)  # 21 / 10


def test_compute_stats_small_curve_risk_hand_values() -> None:
    # returns 0.1, -0.1, 2/9: mean 0.0740741, std(ddof=1) 0.1626681; P = 3
    stats = curve_stats()
    assert stats["annual_volatility_pct"] == pytest.approx(100 * 0.1626681 * math.sqrt(3))
    assert stats["sharpe"] == pytest.approx(0.0740741 / 0.1626681 * math.sqrt(3), rel=1e-6)
    # downside deviation sqrt((0 + 0.01 + 0) / 3): sortino = mean * 30 = 20 / 9
    assert stats["sortino"] == pytest.approx(20 / 9)


def test_compute_stats_small_curve_period_hand_values() -> None:
    stats = curve_stats()
    assert stats["start"] == "1970-01-01T00:00:00+00:00"
    assert stats["end"] == "1971-01-01T06:00:00+00:00"  # 365.25 days later
    assert stats["duration_days"] == pytest.approx(365.25)
    assert stats["bars"] == 4


def test_compute_stats_any_input_has_exactly_the_stat_keys() -> None:
    assert tuple(curve_stats()) == STAT_KEYS


def test_compute_stats_partial_exposure_counts_exposed_bars() -> None:
    stats = stats_of(CURVE, exposure=[True, False, True, True])
    assert stats["exposure_pct"] == pytest.approx(75.0)


def test_compute_stats_cagr_short_duration_compounds_to_year() -> None:
    stats = stats_of(CURVE)  # three days
    assert stats["annual_return_pct"] == pytest.approx(100 * (1.21 ** (365.25 / 3) - 1))


def test_compute_stats_risk_free_lowers_sharpe_by_per_bar_rate() -> None:
    returns = np.array([0.1, -0.1, 2 / 9])
    excess = returns - 0.06 / 3
    expected = excess.mean() / returns.std(ddof=1) * math.sqrt(3)
    stats = stats_of(CURVE, ts=spaced(4, QUARTER_YEAR), risk_free=0.06)
    assert stats["sharpe"] == pytest.approx(expected)


def test_compute_stats_explicit_periods_per_year_overrides_inference() -> None:
    stats = stats_of(CURVE, ts=spaced(4, QUARTER_YEAR), periods_per_year=12.0)
    assert stats["annual_volatility_pct"] == pytest.approx(100 * 0.1626681 * math.sqrt(12))


# --- drawdowns ----------------------------------------------------------------------------


def test_drawdown_series_small_curve_fraction_below_running_peak() -> None:
    expected = [0.0, 0.0, -0.1, 0.0]
    assert drawdown_series(np.array(CURVE)) == pytest.approx(expected)


def test_drawdown_series_empty_input_empty_output() -> None:
    assert drawdown_series(np.array([])).size == 0


def test_compute_stats_unrecovered_drawdown_lasts_to_end() -> None:
    stats = stats_of([100.0, 120.0, 90.0, 100.0, 110.0])  # peak at day 1, never regained
    assert stats["max_drawdown_pct"] == pytest.approx(-25.0)
    assert stats["max_drawdown_duration_days"] == pytest.approx(3.0)


def test_compute_stats_two_drawdowns_averages_depths_and_keeps_longest() -> None:
    # -10 % from day 0 recovered day 2; -20 % from day 3 recovered day 7
    equity = [100.0, 90.0, 100.0, 110.0, 88.0, 100.0, 105.0, 111.0]
    stats = stats_of(equity)
    assert stats["max_drawdown_pct"] == pytest.approx(-20.0)
    assert stats["avg_drawdown_pct"] == pytest.approx(-15.0)
    assert stats["max_drawdown_duration_days"] == pytest.approx(4.0)


def test_compute_stats_rising_curve_has_zero_drawdown_and_no_calmar() -> None:
    stats = stats_of([100.0, 101.0, 103.0])
    assert stats["max_drawdown_pct"] == 0.0
    assert stats["avg_drawdown_pct"] == 0.0
    assert stats["max_drawdown_duration_days"] == 0.0
    assert math.isnan(stats["calmar"])


# --- trades -------------------------------------------------------------------------------


def test_compute_stats_three_trades_hand_values() -> None:
    trades = trades_of([10.0, -5.0, 20.0], [0.10, -0.05, 0.20], [1.0, 2.0, 3.0])
    stats = stats_of(CURVE, trades=trades)
    assert stats["trades"] == 3
    assert stats["win_rate_pct"] == pytest.approx(66.6667, rel=1e-5)
    assert stats["profit_factor"] == pytest.approx(6.0)  # 30 / 5
    assert stats["expectancy"] == pytest.approx(8.3333, rel=1e-5)
    # std(ddof=1) = sqrt(316.667 / 2) = 12.5831; sqn = sqrt(3) * 8.3333 / 12.5831
    assert stats["sqn"] == pytest.approx(1.147079, rel=1e-5)


def test_compute_stats_three_trades_returns_and_durations() -> None:
    trades = trades_of([10.0, -5.0, 20.0], [0.10, -0.05, 0.20], [1.0, 2.0, 3.0])
    stats = stats_of(CURVE, trades=trades)
    assert stats["best_trade_pct"] == pytest.approx(20.0)
    assert stats["worst_trade_pct"] == pytest.approx(-5.0)
    assert stats["avg_trade_pct"] == pytest.approx(25 / 3)
    assert stats["avg_trade_duration_days"] == pytest.approx(2.0)


def test_compute_stats_no_trades_trade_stats_undefined() -> None:
    stats = stats_of(CURVE)
    assert stats["trades"] == 0
    trade_keys = ["win_rate_pct", "best_trade_pct", "worst_trade_pct", "avg_trade_pct"]
    trade_keys += ["profit_factor", "expectancy", "sqn", "avg_trade_duration_days"]
    assert all(math.isnan(stats[key]) for key in trade_keys)


def test_compute_stats_all_losing_trades_zero_win_rate_and_profit_factor() -> None:
    trades = trades_of([-10.0, -5.0], [-0.1, -0.05], [1.0, 1.0])
    stats = stats_of(CURVE, trades=trades)
    assert stats["win_rate_pct"] == 0.0
    assert stats["profit_factor"] == 0.0
    assert stats["expectancy"] == pytest.approx(-7.5)
    assert stats["best_trade_pct"] == pytest.approx(-5.0)


def test_compute_stats_no_losing_trade_profit_factor_undefined() -> None:
    trades = trades_of([10.0, 5.0], [0.1, 0.05], [1.0, 1.0])
    assert math.isnan(stats_of(CURVE, trades=trades)["profit_factor"])


def test_compute_stats_one_trade_sqn_undefined() -> None:
    trades = trades_of([10.0], [0.1], [1.0])
    assert math.isnan(stats_of(CURVE, trades=trades)["sqn"])


def test_compute_stats_identical_trades_sqn_undefined() -> None:
    trades = trades_of([4.0, 4.0], [0.04, 0.04], [1.0, 1.0])
    assert math.isnan(stats_of(CURVE, trades=trades)["sqn"])


def test_trade_arrays_empty_has_no_trades() -> None:
    empty = TradeArrays.empty()
    assert len(empty) == 0
    assert empty.entry_ts.dtype == np.int64
    assert empty.pnl.dtype == np.float64


def test_trade_arrays_columns_of_different_length_raise() -> None:
    good = trades_of([1.0, 2.0], [0.1, 0.2], [1.0, 1.0])
    with pytest.raises(ValueError, match="differ in length"):
        TradeArrays(good.entry_ts, good.exit_ts, good.pnl[:1], good.return_pct, good.size,
                    good.entry_price, good.exit_price, good.symbol, good.commission)  # fmt: skip


# --- flat, one bar, benchmark, errors -----------------------------------------------------


def test_compute_stats_flat_equity_sharpe_and_sortino_undefined() -> None:
    stats = stats_of([100.0] * 5)
    assert stats["total_return_pct"] == 0.0
    assert stats["annual_volatility_pct"] == 0.0
    assert math.isnan(stats["sharpe"])
    assert math.isnan(stats["sortino"])
    assert stats["max_drawdown_pct"] == 0.0


def test_compute_stats_constant_growth_sharpe_undefined() -> None:
    stats = stats_of(list(100.0 * 1.01 ** np.arange(10)))  # std of returns is rounding noise
    assert math.isnan(stats["sharpe"])


def test_compute_stats_one_bar_has_no_return_statistics() -> None:
    stats = stats_of([100.0])
    assert stats["bars"] == 1
    assert stats["duration_days"] == 0.0
    assert stats["start"] == stats["end"]
    assert stats["total_return_pct"] == 0.0
    undefined = ["annual_return_pct", "annual_volatility_pct", "sharpe", "sortino", "calmar"]
    assert all(math.isnan(stats[key]) for key in undefined)
    assert stats["max_drawdown_pct"] == 0.0


def test_compute_stats_two_bars_sortino_defined_sharpe_not() -> None:
    stats = stats_of([100.0, 90.0])
    assert stats["sortino"] == pytest.approx(-1.0 * math.sqrt(252))  # mean / downside = -1
    assert math.isnan(stats["sharpe"])


def test_compute_stats_benchmark_buy_and_hold_hand_values() -> None:
    stats = stats_of([100.0, 100.0, 100.0], benchmark=[50.0, 40.0, 60.0])
    assert stats["buy_hold_return_pct"] == pytest.approx(20.0)
    assert stats["buy_hold_max_drawdown_pct"] == pytest.approx(-20.0)


def test_compute_stats_no_benchmark_buy_and_hold_undefined() -> None:
    stats = stats_of(CURVE)
    assert math.isnan(stats["buy_hold_return_pct"])
    assert math.isnan(stats["buy_hold_max_drawdown_pct"])


def test_compute_stats_no_bars_raises() -> None:
    with pytest.raises(ValueError, match="at least one bar"):
        stats_of([])


def test_compute_stats_lengths_differ_raises() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        stats_of(CURVE, exposure=[True, True])


# --- periods per year ---------------------------------------------------------------------


def test_infer_periods_per_year_trading_days_with_weekends_252() -> None:
    weekdays = [d for d in range(40) if d % 7 not in (5, 6)]
    ts = np.array(weekdays, dtype=np.int64) * NS_PER_DAY
    assert infer_periods_per_year(ts) == 252.0


@pytest.mark.parametrize(
    ("step", "expected"),
    [(MINUTE, 252 * 390), (5 * MINUTE, 252 * 78), (HOUR, 252 * 7), (4 * HOUR, 252 * 2)],
)
def test_infer_periods_per_year_intraday_bars_per_session_times_252(
    step: int, expected: int
) -> None:
    assert infer_periods_per_year(spaced(10, step)) == float(expected)


def test_infer_periods_per_year_weekly_calendar_weeks() -> None:
    assert infer_periods_per_year(spaced(10, 7 * NS_PER_DAY)) == pytest.approx(365.25 / 7)


def test_infer_periods_per_year_one_bar_defaults_252() -> None:
    assert infer_periods_per_year(spaced(1)) == 252.0


# --- JSON ---------------------------------------------------------------------------------


def test_to_jsonable_nan_and_inf_become_none() -> None:
    out = to_jsonable({"a": float("nan"), "b": float("inf"), "c": np.float64(1.5)})
    assert out == {"a": None, "b": None, "c": 1.5}
    assert type(out["c"]) is float


def test_to_jsonable_full_stats_dump_as_strict_json() -> None:
    out = to_jsonable(stats_of([100.0]))
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text)["sharpe"] is None
    assert type(out["bars"]) is int


# --- properties ---------------------------------------------------------------------------

positive_equity = st.lists(
    st.floats(min_value=1e-3, max_value=1e9, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
)


@given(positive_equity)
def test_compute_stats_positive_equity_max_drawdown_within_bounds(equity: list[float]) -> None:
    stats = stats_of(equity)
    assert -100.0 <= stats["max_drawdown_pct"] <= 0.0
    assert stats["max_drawdown_pct"] <= stats["avg_drawdown_pct"] <= 0.0
    assert 0.0 <= stats["max_drawdown_duration_days"] <= stats["duration_days"]


@given(positive_equity)
def test_compute_stats_positive_equity_total_return_matches_endpoints(equity: list[float]) -> None:
    stats = stats_of(equity)
    growth = 1 + stats["total_return_pct"] / 100
    assert growth == pytest.approx(equity[-1] / equity[0], rel=1e-9, abs=1e-12)
    assert (stats["total_return_pct"] > 0) == (equity[-1] > equity[0])
    assert stats["equity_peak"] == max(equity)
