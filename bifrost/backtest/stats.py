"""Performance statistics of a backtest: pure functions over numpy arrays, no I/O.

`compute_stats` turns the per-bar equity curve, the closed round trips and the
benchmark closes into one flat dict (keys in `STAT_KEYS`). Values that are undefined
(too few bars or trades, a zero denominator) are NaN in that dict; `to_jsonable`
maps NaN and +-inf to None for JSON. Percentages are in percent (21.0 means 21 %).

Notation: E_0..E_{n-1} equity at each bar close, t_i the bar timestamps,
r_i = E_i / E_{i-1} - 1 (i = 1..n-1) the per-bar simple returns, P periods per year,
f the annual risk-free rate, f_bar = f / P the risk-free return per bar,
e_i = r_i - f_bar the excess returns, days(a, b) = (b - a) / 86 400 s.

Period and equity:
    start, end             t_0 and t_{n-1} as ISO 8601 UTC text
    duration_days          days(t_0, t_{n-1})
    bars                   n
    exposure_pct           100 * (bars with a position held) / n
    equity_final           E_{n-1}
    equity_peak            max_i E_i
    total_return_pct       100 * (E_{n-1} / E_0 - 1)
    annual_return_pct      100 * ((E_{n-1} / E_0) ** (365.25 / duration_days) - 1)  (CAGR over
                           calendar time; NaN when duration_days is 0 or E_{n-1} / E_0 < 0)

Risk (returns need n >= 2; volatility and Sharpe need n >= 3):
    annual_volatility_pct  100 * std(r, ddof=1) * sqrt(P)
    sharpe                 mean(e) / std(e, ddof=1) * sqrt(P); NaN when std < 1e-12
                           (flat or constant-growth equity: the ratio would be noise)
    sortino                mean(e) / DD * sqrt(P), DD = sqrt(mean(min(e_i, 0) ** 2)) over all
                           n - 1 returns (target = risk-free); NaN when DD < 1e-12
    calmar                 annual_return_pct / |max_drawdown_pct|; NaN when no drawdown

Drawdown (D_i = E_i / max_{j<=i} E_j - 1, see `drawdown_series`):
    max_drawdown_pct       100 * min_i D_i (<= 0, e.g. -23.5)
    max_drawdown_duration_days
                           longest days(peak, recovery) over the drawdown periods; a period
                           starts at the last bar at its peak and ends at the first bar with
                           E_i >= that peak, or at t_{n-1} if the peak is never regained
    avg_drawdown_pct       mean over drawdown periods of each period's deepest 100 * D_i;
                           0 when there is none

Trades (closed round trips; `TradeArrays.return_pct` is a fraction, 0.05 for +5 %):
    trades                 m, the number of round trips
    win_rate_pct           100 * (trades with pnl > 0) / m
    best_trade_pct         100 * max(return_pct)
    worst_trade_pct        100 * min(return_pct)
    avg_trade_pct          100 * mean(return_pct)  (arithmetic mean)
    profit_factor          sum(pnl > 0) / |sum(pnl < 0)|; NaN when no trade lost
    expectancy             mean(pnl), money per trade, net of commissions
    sqn                    sqrt(m) * mean(pnl) / std(pnl, ddof=1); NaN when m < 2 or std = 0
    avg_trade_duration_days mean(days(entry_ts, exit_ts))
    All trade statistics but `trades` are NaN when m = 0.

Benchmark (B_0..B_{k-1} closes of the first traded symbol; NaN when not given):
    buy_hold_return_pct        100 * (B_{k-1} / B_0 - 1)
    buy_hold_max_drawdown_pct  100 * min_i (B_i / max_{j<=i} B_j - 1)

Periods per year P, when not given, come from the median bar spacing s
(`infer_periods_per_year`): P = 252 * ceil(6.5 h / s) when s < 2 days, i.e. 252 trading
sessions of 6.5 hours (1d bars -> 252, 1h -> 252 * 7, 1m -> 252 * 390); P = 365.25 d / s
for longer bars (weekly -> 52.18). A market that trades around the clock (crypto) is not
inferable from spacing: pass P (365 for daily bars, 365 * 24 * 60 for 1m).

Equity is assumed positive; returns and drawdowns are undefined once it reaches zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

NS_PER_DAY = 86_400_000_000_000
"""Nanoseconds in a calendar day."""

SESSION_NS = 6 * 3_600_000_000_000 + 30 * 60_000_000_000
"""Length of a regular equity trading session (6.5 hours), in ns."""

TRADING_DAYS_PER_YEAR = 252
"""Sessions in a trading year, used to annualise per-bar statistics."""

DAYS_PER_YEAR = 365.25
"""Calendar days in a year, used for CAGR and for bars longer than two days."""

STD_EPSILON = 1e-12
"""Deviations of per-bar returns below this are treated as zero (Sharpe/Sortino undefined)."""

STAT_KEYS = (
    "start",
    "end",
    "duration_days",
    "bars",
    "exposure_pct",
    "equity_final",
    "equity_peak",
    "total_return_pct",
    "annual_return_pct",
    "annual_volatility_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "max_drawdown_duration_days",
    "avg_drawdown_pct",
    "trades",
    "win_rate_pct",
    "best_trade_pct",
    "worst_trade_pct",
    "avg_trade_pct",
    "profit_factor",
    "expectancy",
    "sqn",
    "avg_trade_duration_days",
    "buy_hold_return_pct",
    "buy_hold_max_drawdown_pct",
)
"""The keys of `compute_stats`, in report order."""

NAN = float("nan")

Stats = dict[str, float | int | str]
"""What `compute_stats` returns: undefined numbers are NaN."""


@dataclass(frozen=True, slots=True, eq=False)
class TradeArrays:
    """Closed round trips as equal-length columns; `return_pct` is pnl / entry cost (a fraction).

    How a backtest keeps its trades: statistics and storage read the columns, and trade
    objects are built only when someone asks for them (`BacktestResult.trades`).

    Equality is identity (eq=False): comparing numpy arrays element-wise has no single truth.
    """

    entry_ts: np.ndarray
    exit_ts: np.ndarray
    pnl: np.ndarray
    return_pct: np.ndarray
    size: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    symbol: np.ndarray
    commission: np.ndarray

    def __post_init__(self) -> None:
        lengths = {len(getattr(self, name)) for name in self.__slots__}
        if len(lengths) > 1:
            raise ValueError(f"TradeArrays columns differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.pnl)

    @classmethod
    def empty(cls) -> TradeArrays:
        """No trades: zero-length columns of the right dtypes."""
        ts = np.empty(0, dtype=np.int64)
        num = np.empty(0, dtype=np.float64)
        return cls(ts, ts, num, num, num, num, num, np.empty(0, dtype=object), num)


def drawdown_series(equity: np.ndarray) -> np.ndarray:
    """Fraction below the running peak at each bar (<= 0): E_i / max_{j<=i} E_j - 1."""
    values = np.asarray(equity, dtype=np.float64)
    if values.size == 0:
        return values.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return values / np.maximum.accumulate(values) - 1.0


def infer_periods_per_year(ts: np.ndarray) -> float:
    """Bars per year from the median spacing of `ts` (rule in the module docstring)."""
    if len(ts) < 2:
        return float(TRADING_DAYS_PER_YEAR)
    spacing = median_spacing(np.ascontiguousarray(ts, dtype=np.int64))
    if spacing <= 0:
        return float(TRADING_DAYS_PER_YEAR)
    if spacing < 2 * NS_PER_DAY:
        bars_per_session = -(-SESSION_NS // spacing)  # ceil: a short last bar still counts
        return float(TRADING_DAYS_PER_YEAR * bars_per_session)
    return DAYS_PER_YEAR * NS_PER_DAY / spacing


def median_spacing(ts: np.ndarray) -> int:
    """The median of ts[i] - ts[i - 1] (as int), without sorting a long series when the
    median of its first spacings is also the median of all (regular bars): one counting
    pass shows whether both middle spacings equal that candidate."""
    from bifrost.backtest.stats_kernels import spacing_counts

    middle_low, middle_high = (len(ts) - 2) // 2, (len(ts) - 1) // 2
    candidate = int(np.median(np.diff(ts[:1025])))
    below, equal = spacing_counts(ts, candidate)
    if below <= middle_low and below + equal > middle_high:
        return candidate
    return int(np.median(np.diff(ts)))


def compute_stats(
    ts: np.ndarray,
    equity: np.ndarray,
    trades: TradeArrays,
    exposure: np.ndarray,
    benchmark_close: np.ndarray | None,
    periods_per_year: float | None = None,
    risk_free: float = 0.0,
) -> Stats:
    """All statistics of one backtest, keyed as `STAT_KEYS` (formulas in the module docstring).

    `ts` (int ns UTC, increasing), `equity` and `exposure` have one entry per bar and
    at least one bar; `benchmark_close` may be None.
    """
    equity = np.ascontiguousarray(equity, dtype=np.float64)
    if len(equity) == 0:
        raise ValueError("compute_stats needs at least one bar")
    if not len(ts) == len(equity) == len(exposure):
        raise ValueError(
            f"ts, equity and exposure differ in length: {len(ts)}, {len(equity)}, {len(exposure)}"
        )
    ppy = infer_periods_per_year(ts) if periods_per_year is None else float(periods_per_year)
    annual_return_pct = _cagr_pct(equity, _duration_days(ts))
    stats: Stats = {"annual_return_pct": annual_return_pct}
    close = None if benchmark_close is None else np.ascontiguousarray(benchmark_close, np.float64)
    stats.update(_period_stats(ts, equity, exposure))
    equity_stats, buy_hold_deepest = _equity_stats(
        ts, equity, close, ppy, risk_free, annual_return_pct
    )
    stats.update(equity_stats)
    stats.update(_trade_stats(trades))
    stats.update(_benchmark_stats(close, buy_hold_deepest))
    return {key: stats[key] for key in STAT_KEYS}


def to_jsonable(stats: Stats) -> dict[str, float | int | str | None]:
    """`stats` with numpy scalars as Python numbers and NaN / +-inf as None."""
    out: dict[str, float | int | str | None] = {}
    for key, value in stats.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, int | np.integer):
            out[key] = int(value)
        else:
            number = float(value)
            out[key] = number if math.isfinite(number) else None
    return out


def _iso_utc(ts_ns: int) -> str:
    """Int ns UTC as ISO 8601 text with an explicit UTC offset (microsecond precision)."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(ts_ns) // 1000)
    return moment.isoformat()


def _duration_days(ts: np.ndarray) -> float:
    """Calendar days from the first to the last bar."""
    return (int(ts[-1]) - int(ts[0])) / NS_PER_DAY


def _ratio_pct(final: float, initial: float) -> float:
    """100 * (final / initial - 1); NaN when `initial` is zero."""
    return 100.0 * (final / initial - 1.0) if initial != 0 else NAN


def _period_stats(ts: np.ndarray, equity: np.ndarray, exposure: np.ndarray) -> Stats:
    """start, end, duration, bars, exposure and the equity end points."""
    return {
        "start": _iso_utc(ts[0]),
        "end": _iso_utc(ts[-1]),
        "duration_days": _duration_days(ts),
        "bars": len(equity),
        "exposure_pct": 100.0 * np.count_nonzero(exposure) / len(exposure),
        "equity_final": float(equity[-1]),
        "total_return_pct": _ratio_pct(float(equity[-1]), float(equity[0])),
    }


def _cagr_pct(equity: np.ndarray, days: float) -> float:
    """Compound annual growth over the calendar duration, in percent."""
    if days <= 0 or equity[0] == 0:
        return NAN
    growth = np.float64(equity[-1] / equity[0])
    if growth < 0:
        return NAN
    with np.errstate(over="ignore"):
        return float(100.0 * (growth ** (DAYS_PER_YEAR / days) - 1.0))


def _equity_stats(
    ts: np.ndarray,
    equity: np.ndarray,
    close: np.ndarray | None,
    ppy: float,
    risk_free: float,
    annual_return_pct: float,
) -> tuple[Stats, float]:
    """The peak, the risk and the drawdown statistics of the equity, from one pass over it,
    and the deepest drawdown of the benchmark `close` (NaN when it was not read in that
    pass: not as long as the equity, or no pass)."""
    if len(equity) < 2:
        return {
            "equity_peak": float(equity[0]),
            **_risk_stats(NAN, NAN, NAN, len(equity), ppy),
            **_drawdown_stats(0.0, 0.0, 0, 0, annual_return_pct),
        }, NAN
    from bifrost.backtest.stats_kernels import equity_pass

    benchmark = np.empty(0) if close is None else close
    mean, std, downside, deepest, average, longest, periods, peak, buy_hold_deepest = equity_pass(
        np.asarray(ts, dtype=np.int64), equity, benchmark, risk_free / ppy
    )
    return {
        "equity_peak": float(peak),
        **_risk_stats(mean, std, downside, len(equity), ppy),
        **_drawdown_stats(deepest, average, longest, periods, annual_return_pct),
    }, buy_hold_deepest


def _risk_stats(mean: float, std: float, downside: float, bars: int, ppy: float) -> Stats:
    """Annual volatility, Sharpe and Sortino from the moments of the per-bar simple returns
    (mean excess return, std, downside deviation) of `bars` equity values."""
    stats: Stats = {
        "annual_volatility_pct": NAN,
        "sharpe": NAN,
        "sortino": NAN,
    }
    if bars < 2:
        return stats
    scale = math.sqrt(ppy)
    if downside >= STD_EPSILON:
        stats["sortino"] = mean / downside * scale
    if bars >= 3:
        stats["annual_volatility_pct"] = 100.0 * std * scale
        if std >= STD_EPSILON:
            stats["sharpe"] = mean / std * scale
    return stats


def _drawdown_stats(
    deepest: float, mean: float, longest: int, periods: int, annual_return_pct: float
) -> Stats:
    """Max and average drawdown, the longest peak-to-recovery time and the Calmar ratio,
    from `stats_kernels.equity_pass`'s figures."""
    if periods == 0:
        return {
            "calmar": NAN,
            "max_drawdown_pct": 0.0,
            "max_drawdown_duration_days": 0.0,
            "avg_drawdown_pct": 0.0,
        }
    max_drawdown_pct = 100.0 * deepest
    return {
        "calmar": annual_return_pct / abs(max_drawdown_pct),
        "max_drawdown_pct": max_drawdown_pct,
        "max_drawdown_duration_days": float(longest) / NS_PER_DAY,
        "avg_drawdown_pct": 100.0 * mean,
    }


def _trade_stats(trades: TradeArrays) -> Stats:
    """Count, win rate, best / worst / average trade, profit factor, expectancy, SQN, duration."""
    count = len(trades)
    if count == 0:
        keys = ("win_rate_pct", "best_trade_pct", "worst_trade_pct", "avg_trade_pct")
        rest = ("profit_factor", "expectancy", "sqn", "avg_trade_duration_days")
        undefined: Stats = dict.fromkeys(keys + rest, NAN)
        return {"trades": 0, **undefined}
    from bifrost.backtest.stats_kernels import trade_moments

    win, best, worst, mean_return, gross_win, gross_loss, expectancy, std, duration = trade_moments(
        np.ascontiguousarray(trades.pnl, dtype=np.float64),
        np.ascontiguousarray(trades.return_pct, dtype=np.float64),
        np.ascontiguousarray(trades.entry_ts, dtype=np.int64),
        np.ascontiguousarray(trades.exit_ts, dtype=np.int64),
    )
    return {
        "trades": count,
        "win_rate_pct": 100.0 * win,
        "best_trade_pct": 100.0 * best,
        "worst_trade_pct": 100.0 * worst,
        "avg_trade_pct": 100.0 * mean_return,
        "profit_factor": gross_win / gross_loss if gross_loss > 0 else NAN,
        "expectancy": expectancy,
        # Van Tharp's system quality number; NaN for fewer than two trades or identical pnl
        "sqn": math.sqrt(count) * expectancy / std if std > 0 else NAN,
        "avg_trade_duration_days": duration / NS_PER_DAY,
    }


def _benchmark_stats(close: np.ndarray | None, deepest: float) -> Stats:
    """Buy & hold return and max drawdown of the benchmark closes (float64, contiguous);
    `deepest` is their deepest drawdown when the equity's pass read them, else NaN."""
    if close is None or len(close) == 0:
        return {"buy_hold_return_pct": NAN, "buy_hold_max_drawdown_pct": NAN}
    if deepest != deepest:
        from bifrost.backtest.stats_kernels import deepest_drawdown

        deepest = deepest_drawdown(close)
    return {
        "buy_hold_return_pct": _ratio_pct(float(close[-1]), float(close[0])),
        "buy_hold_max_drawdown_pct": 100.0 * deepest,
    }
