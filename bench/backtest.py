"""Backtest benchmark: the vector engine, the event engine and a parameter sweep.

Measures in one run, on a seeded geometric Brownian motion (1-minute bars, each open a
small gap from the previous close, high and low around both):

- SMA 10/30 cross over `--bars` bars (1,000,000; `--quick` 200,000), long only, whole
  shares, MARKET orders at the next open, percent commission 0.001: `SmaCross.signals`
  then `run_vector_backtest` (signals, simulation, trade records and statistics, timed
  together) in bars/s, against a hand-written numba loop doing the same in one pass
  (running-sum SMAs, crossings, next-open fills, equity curve, trade rows). Both are
  compiled and run once before timing; every figure is the best of `--repeat` (3) runs.
  Goal: ours >= 50% of the loop's bars/s. Context lines below it give the seconds of
  our parts: the signals, the backtest, and inside it the numba kernel and the statistics;
- the event engine running the built-in `SmaCross` (a Python `on_bar`) over the same bars,
  in bars/s, beside the same engine with a strategy whose `on_bar` does nothing (the
  engine's own per-bar cost). Goal: >= 550,000 bars/s;
- `run_sweep` of the 90 points of `fast=5:50:5` x `slow=20:200:20` that keep fast < slow
  (vector engine) over 2,520 daily bars (ten years) on a research cluster of two local
  Dask workers already started (`ResearchCluster.start_local(2)`, one untimed sweep
  first), beside the same points in this process; the cluster's start is timed apart,
  once. No goal: shown for context (bench/workers.py measures the cluster in full);
- anchors, each as base seconds / our seconds per repeat, our run and the baseline's back
  to back, printed as median [min-max] of `--repeat` pairs: the vector run against the
  hand loop (`vector_vs_loop`, goal >= 0.5), against vectorbt's `Portfolio.from_signals`
  on the same bars and signals with its return, Sharpe, drawdown and trade count
  (`vector_vs_vectorbt`), and the event engine's SmaCross against backtesting.py's
  `Backtest.run` with the same rule and indicators on the first `--event-bars` (100,000)
  bars (`event_vs_backtesting_py`, goal >= 3). vectorbt and backtesting.py come with the
  optional `bench` extra (`pip install -e .[bench]`); a missing one prints null.

Every in-process figure is in CPU seconds of this thread (`CPU_SECONDS`): both sides run
single-threaded here, and wall time on a shared machine also counts other jobs' turns
on the core. The sweeps, whose work runs in worker processes, are in wall seconds.

The ratio column is ours / base: above 1 is better for rates, worse for seconds. Then two
sanity lines: the event and vector engines made the same trades and final equity on the
big series (the hand loop is compared with them too), and every sweep gave the same stats.

The starting cash is 1e15 (share counts stay far inside float64's exact integers): each
round trip loses about 0.2% (10 bps a side; the crossings have no edge on a random walk),
so a small account soon cannot pay for one share and the run would time cancelled buys
instead of trades. Even so the account runs dry late in a 1,000,000-bar series; the
sanity line shows the bar of the last exit.

Progress goes to stderr; the table, the sanity lines and a final JSON line go to stdout.

    .venv/bin/python bench/backtest.py            # 1,000,000 bars (~20 s)
    .venv/bin/python bench/backtest.py --quick    # 200,000 bars (~8 s)
    .venv/bin/python bench/backtest.py --check    # exit 1 when a goal or a check fails
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numba import njit

# backtesting.py's progress bar (tqdm, read at import) is not the engine's cost: off.
os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.backtest.engine import BacktestConfig, BacktestResult, run_backtest  # noqa: E402
from bifrost.backtest.runner import RunRequest  # noqa: E402
from bifrost.backtest.sweep import (  # noqa: E402
    grid_points,
    parse_grid,
    run_sweep,
    valid_points,
)
from bifrost.backtest.vector import (  # noqa: E402
    PERCENT,
    run_vector_backtest,
    simulate_targets,
    targets_of,
)
from bifrost.research.cluster import ResearchCluster  # noqa: E402
from bifrost.sim.costs import PercentCommission  # noqa: E402
from bifrost.strategy.bars import BarArrays  # noqa: E402
from bifrost.strategy.builtin import SmaCross  # noqa: E402
from bifrost.strategy.strategy import Strategy  # noqa: E402

T = TypeVar("T")
Hand = tuple[np.ndarray, np.ndarray]
"""What the hand-written loop returns: equity per bar, trade rows."""

SEED = 20240601
SYMBOL = "BENCH"
START_NS = 1_577_836_800_000_000_000
"""2020-01-01 00:00 UTC: the first bar of every generated series."""
MINUTE_NS = 60_000_000_000
FAST, SLOW = 10, 30
RATE = 0.001
CASH = 1e15
SWEEP_BARS = 2_520
SWEEP_GRID = ["fast=5:50:5", "slow=20:200:20"]
SWEEP_WORKERS = 2
VECTOR_GOAL = 0.50
EVENT_GOAL = 550_000.0
EVENT_VS_BT_GOAL = 3.0
EVENT_BARS = 100_000
"""backtesting.py slows down as a run grows (about 38k bars/s at 20k bars, 20k at 100k):
the event engines are compared on the first 100,000 bars of the series."""


@dataclass(frozen=True, slots=True)
class Result:
    """One table line: our figure beside its baseline."""

    measure: str
    ours: float
    baseline: str
    base: float | None
    goal: str
    ok: bool | None
    """None for a line shown for context only."""


class NullStrategy(Strategy):
    """Does nothing on every bar: what is left is the engine's own cost."""

    name = "null"


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


CPU_SECONDS = time.thread_time
"""The clock of every in-process measure: this thread's CPU time. Both sides run in this
thread, single-threaded, so CPU time is their work, while wall time on this shared
2-core machine also counts the time other jobs held the core (paired wall-clock ratios
of the same code moved between 0.8 and 3.4 under a load of 8)."""


def paired(repeat: int, ours: Callable[[], Any], base: Callable[[], Any]) -> list[float]:
    """base seconds / our seconds (CPU), one ratio per repeat, the two run back to back
    each time (cache or memory contention from other work then hits one repeat, not one
    side). Each side starts after a garbage collection, so neither pays for the objects
    the other left behind."""
    ratios = []
    for _ in range(repeat):
        gc.collect()
        start = CPU_SECONDS()
        ours()
        mine = CPU_SECONDS() - start
        gc.collect()
        start = CPU_SECONDS()
        base()
        ratios.append((CPU_SECONDS() - start) / mine)
    return ratios


def spread(values: list[float]) -> str:
    """median [min-max] of repeated ratios."""
    return f"{float(np.median(values)):.3f} [{min(values):.3f}-{max(values):.3f}]"


def best_of(
    repeat: int, call: Callable[[], T], clock: Callable[[], float] = CPU_SECONDS
) -> tuple[float, T]:
    """(fastest seconds by `clock`, result of the last call) over `repeat` calls, each
    after a garbage collection."""
    seconds = []
    for _ in range(repeat):
        gc.collect()
        start = clock()
        result = call()
        seconds.append(clock() - start)
    return min(seconds), result


# -- data ---------------------------------------------------------------------------------


def gbm_bars(ts: np.ndarray, sigma: float, drift: float, seed: int) -> BarArrays:
    """A seeded GBM close; each open gaps a little from the previous close; valid OHLC."""
    rng = np.random.default_rng(seed)
    n = len(ts)
    close = 100.0 * np.exp(np.cumsum(rng.normal(drift, sigma, n)))
    open_ = np.empty(n)
    open_[0] = 100.0
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, sigma / 5, n - 1))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, sigma / 2, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, sigma / 2, n)))
    volume = rng.integers(100, 10_000, n).astype(np.float64)
    return BarArrays(ts, open_, high, low, close, volume)


def minute_bars(n: int) -> BarArrays:
    """`n` 1-minute bars around the clock, 0.1% volatility a bar, no drift."""
    ts = START_NS + np.arange(n, dtype=np.int64) * MINUTE_NS
    return gbm_bars(ts, 0.001, 0.0, SEED)


def daily_bars(n: int) -> BarArrays:
    """`n` weekday bars from 2015-01-02 (2,520 is ten years of sessions)."""
    days = np.busday_offset("2015-01-02", np.arange(n), roll="forward")
    ts = days.astype("datetime64[ns]").astype(np.int64)
    return gbm_bars(ts, 0.015, 0.0003, SEED + 1)


# -- the hand-written baseline ------------------------------------------------------------


@njit(cache=True)
def _put_trade(trades, row, entry_bar, exit_bar, shares, entry_price, exit_price):
    trades[row, 0], trades[row, 1], trades[row, 2] = entry_bar, exit_bar, shares
    trades[row, 3], trades[row, 4] = entry_price, exit_price


@njit(cache=True)
def hand_sma_cross(open_, close, fast, slow, cash, rate):
    """SMA cross in one loop: running sums, crossings, next-open fills, whole shares.

    Returns the equity at every close and the trades as rows of
    (entry bar, exit bar, shares, entry price, exit price).
    """
    n = close.shape[0]
    equity = np.empty(n)
    trades = np.empty((n // 2 + 1, 5))
    count, pending, held = 0, 0, 0.0
    entry_bar, entry_price = 0, 0.0
    fast_sum, slow_sum = 0.0, 0.0
    prev_fast, prev_slow = math.nan, math.nan
    for i in range(n):
        if pending > 0:
            price = open_[i]
            shares = math.floor(cash / (price * (1 + rate)) + 1e-9)
            if shares > 0:
                cash -= shares * price + rate * shares * price
                held, entry_bar, entry_price = shares, i, price
        elif pending < 0:
            price = open_[i]
            cash -= -held * price + rate * held * price
            _put_trade(trades, count, entry_bar, i, held, entry_price, price)
            count += 1
            held = 0.0
        pending = 0
        fast_sum += close[i]
        slow_sum += close[i]
        if i >= fast:
            fast_sum -= close[i - fast]
        if i >= slow:
            slow_sum -= close[i - slow]
        now_fast = fast_sum / fast if i >= fast - 1 else math.nan
        now_slow = slow_sum / slow if i >= slow - 1 else math.nan
        if held == 0.0 and prev_fast <= prev_slow and now_fast > now_slow:
            pending = 1
        elif held > 0.0 and prev_fast >= prev_slow and now_fast < now_slow:
            pending = -1
        prev_fast, prev_slow = now_fast, now_slow
        equity[i] = cash + held * close[i]
    if held > 0.0:
        price = close[n - 1]
        cash -= -held * price + rate * held * price
        _put_trade(trades, count, entry_bar, n - 1, held, entry_price, price)
        count += 1
        equity[n - 1] = cash
    return equity, trades[:count]


# -- measures -----------------------------------------------------------------------------


def config() -> BacktestConfig:
    """Next-open fills, percent commission, no slippage, close at the end."""
    return BacktestConfig(cash=CASH, commission=PercentCommission(RATE), timeframe="1m")


def vector_run(bars: BarArrays) -> BacktestResult:
    """What we time for the vector engine: the signals, then the backtest."""
    entries, exits = SmaCross.signals(bars, FAST, SLOW)
    return run_vector_backtest(SYMBOL, bars, entries, exits, config())


def bench_vector(bars: BarArrays, repeat: int) -> tuple[list[Result], BacktestResult, Hand]:
    """Ours against the hand loop, then where our time goes (context)."""
    n = len(bars)

    def hand_run() -> Hand:
        return hand_sma_cross(bars.open, bars.close, FAST, SLOW, CASH, RATE)

    log("vector: compiling and warming up ...")
    vector_run(bars)
    hand_run()
    log(f"vector: timing {n:,} bars, best of {repeat} ...")
    ours, vector = best_of(repeat, lambda: vector_run(bars))
    base, hand = best_of(repeat, hand_run)
    row = Result(
        "vector SMA cross (bars/s)",
        n / ours,
        "hand-written numba loop",
        n / base,
        f">= {VECTOR_GOAL:.2f} x base",
        n / ours >= VECTOR_GOAL * n / base,
    )
    return [row, *vector_parts(bars, vector, repeat)], vector, hand


def vector_parts(bars: BarArrays, vector: BacktestResult, repeat: int) -> list[Result]:
    """Seconds of the signals, of the backtest, and of its kernel and statistics inside it."""
    entries, exits = SmaCross.signals(bars, FAST, SLOW)
    targets = targets_of(entries, exits)
    costs = np.array([CASH, 1.0, 1.0, RATE, 0.0, 0.0])  # cash, fraction, lot, rate, min, bps
    parts = {
        "  SmaCross.signals (s)": lambda: SmaCross.signals(bars, FAST, SLOW),
        "  run_vector_backtest (s)": lambda: run_vector_backtest(
            SYMBOL, bars, entries, exits, config()
        ),
        "    simulate_targets (s)": lambda: simulate_targets(
            bars.open, bars.close, targets, costs, PERCENT, False, True
        ),
        "    compute_stats (s)": vector.compute_stats,
    }
    return [
        Result(name, best_of(repeat, call)[0], "", None, "context", None)
        for name, call in parts.items()
    ]


def bench_event(bars: BarArrays, repeat: int) -> tuple[list[Result], BacktestResult]:
    """The event engine with SmaCross, beside the same engine with a do-nothing strategy."""
    n = len(bars)
    data = {SYMBOL: bars}
    log(f"event: null strategy, {n:,} bars, best of {repeat} ...")
    null_s, _ = best_of(repeat, lambda: run_backtest(NullStrategy(), data, config()))
    log(f"event: SmaCross, {n:,} bars, best of {repeat} ...")
    sma_s, result = best_of(
        repeat, lambda: run_backtest(SmaCross(fast=FAST, slow=SLOW), data, config())
    )
    row = Result(
        "event SmaCross (bars/s)",
        n / sma_s,
        "null strategy (engine)",
        n / null_s,
        f">= {EVENT_GOAL:,.0f}",
        n / sma_s >= EVENT_GOAL,
    )
    return [row], result


def sweep_points(request: RunRequest) -> list[dict[str, Any]]:
    """The benchmark grid less the points the strategy's constraints refuse (fast >= slow),
    as `backtest sweep` runs it."""
    return valid_points(request, grid_points({}, parse_grid(SWEEP_GRID)))[0]


def sweep_once(request: RunRequest, data: dict[str, BarArrays], **options: Any) -> list[Any]:
    """One sweep of the benchmark grid."""
    return run_sweep(request, data, sweep_points(request), **options)


def bench_sweep(repeat: int) -> tuple[list[Result], bool, int]:
    """A started 2-worker cluster against this process, and the cluster's start apart."""
    data = {SYMBOL: daily_bars(SWEEP_BARS)}
    request = RunRequest(
        "sma_cross", (SYMBOL,), commission=str(RATE), engine="vector", fill="next-open"
    )
    points = len(sweep_points(request))
    log(f"sweep: {points} points over {SWEEP_BARS:,} daily bars, best of {repeat} ...")
    sweep_once(request, data)
    # Wall time: the cluster's work happens in other processes.
    wall = time.perf_counter
    serial_s, serial = best_of(repeat, lambda: sweep_once(request, data), wall)
    start = wall()
    with ResearchCluster.start_local(SWEEP_WORKERS) as cluster:
        start_s = wall() - start
        first = sweep_once(request, data, cluster=cluster)  # workers load their kernels
        warm_s, warm = best_of(repeat, lambda: sweep_once(request, data, cluster=cluster), wall)
    same = serial == first == warm and not any(r["error"] for r in serial)
    rows = [
        Result(
            f"sweep {points} pts, {SWEEP_WORKERS} workers (s)",
            warm_s,
            "in process",
            serial_s,
            "context",
            None,
        ),
        Result(
            f"  starting {SWEEP_WORKERS} workers (s)",
            start_s,
            "",
            None,
            "context",
            None,
        ),
    ]
    return rows, same, points


# -- external anchors (the optional `bench` extra) -----------------------------------------


def vectorbt_run(bars: BarArrays) -> tuple[float, ...]:
    """vectorbt on the same bars: our signals shifted one bar, filled at the open (next-open
    as ours), the same commission; then its total return, Sharpe, max drawdown, trades."""
    import vectorbt as vbt

    entries, exits = SmaCross.signals(bars, FAST, SLOW)
    later = np.zeros(1, dtype=bool)
    portfolio = vbt.Portfolio.from_signals(
        bars.close,
        np.concatenate([later, entries[:-1]]),
        np.concatenate([later, exits[:-1]]),
        price=bars.open,
        fees=RATE,
        init_cash=CASH,
        freq="1min",
    )
    return (
        float(portfolio.total_return()),
        float(portfolio.sharpe_ratio()),
        float(portfolio.max_drawdown()),
        float(portfolio.trades.count()),
    )


def backtesting_py(bars: BarArrays) -> Callable[[], Any]:
    """A call running backtesting.py's Backtest over `bars` with the SMA cross written as
    its users write it (same indicators, same rule, next-open fills, same commission)."""
    import warnings

    import pandas as pd
    from backtesting import Backtest
    from backtesting import Strategy as BtStrategy

    from bifrost.indicators import sma

    class BtSmaCross(BtStrategy):  # type: ignore[misc]
        """Written as our SmaCross is: each average read once a bar (the bar before's
        kept), the position looked at only on a crossing."""

        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)
            self.before = (math.nan, math.nan)

        def next(self) -> None:
            fast, slow = self.fast[-1], self.slow[-1]
            fast_before, slow_before = self.before
            self.before = fast, slow
            if fast_before <= slow_before and fast > slow:
                if not self.position:
                    self.buy()
            elif fast_before >= slow_before and fast < slow and self.position:
                self.position.close()

    frame = pd.DataFrame(
        {
            "Open": bars.open,
            "High": bars.high,
            "Low": bars.low,
            "Close": bars.close,
            "Volume": bars.volume,
        },
        index=pd.to_datetime(bars.ts),
    )
    warnings.simplefilter("ignore")
    backtest = Backtest(frame, BtSmaCross, cash=CASH, commission=RATE, finalize_trades=True)
    return backtest.run


def installed(module: str) -> bool:
    """Whether an optional anchor can be imported."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


@dataclass(frozen=True, slots=True)
class Anchor:
    """One ratio against a baseline, repeated: base seconds / our seconds per repeat."""

    measure: str
    baseline: str
    bars: int
    ratios: list[float] | None
    """None when the baseline is not installed."""
    goal: float | None

    @property
    def median(self) -> float | None:
        return None if self.ratios is None else float(np.median(self.ratios))


def bench_anchors(bars: BarArrays, event_bars: int, repeat: int) -> list[Anchor]:
    """Ours against the hand loop, vectorbt and backtesting.py, `repeat` pairs each."""
    hand = lambda: hand_sma_cross(bars.open, bars.close, FAST, SLOW, CASH, RATE)  # noqa: E731
    log(f"anchors: vector vs hand loop, {len(bars):,} bars x {repeat} ...")
    loop = paired(repeat, lambda: vector_run(bars), hand)
    anchors = [Anchor("vector vs hand loop", "numba loop", len(bars), loop, VECTOR_GOAL)]
    vbt_ratios = None
    if installed("vectorbt"):
        log(f"anchors: vector vs vectorbt, {len(bars):,} bars x {repeat} ...")
        vectorbt_run(bars)  # compiles vectorbt's kernels
        vbt_ratios = paired(repeat, lambda: vector_run(bars), lambda: vectorbt_run(bars))
    anchors.append(Anchor("vector vs vectorbt", "from_signals", len(bars), vbt_ratios, None))
    bt_ratios = None
    head = slice_head(bars, event_bars)
    if installed("backtesting"):
        log(f"anchors: event vs backtesting.py, {len(head):,} bars x {repeat} ...")
        run_bt = backtesting_py(head)
        ours = lambda: run_backtest(SmaCross(fast=FAST, slow=SLOW), {SYMBOL: head}, config())  # noqa: E731
        ours(), run_bt()  # untimed: first runs on these bars
        bt_ratios = paired(repeat, ours, run_bt)
    anchors.append(
        Anchor("event vs backtesting.py", "Backtest.run", len(head), bt_ratios, EVENT_VS_BT_GOAL)
    )
    return anchors


def slice_head(bars: BarArrays, n: int) -> BarArrays:
    """The first `n` bars."""
    return BarArrays(*(getattr(bars, f)[:n] for f in BarArrays.__slots__))


def print_anchors(anchors: list[Anchor]) -> None:
    """Speed ratios (baseline seconds / ours): median [min-max] of the repeats."""
    line = "{:26} {:14} {:>10}  {:28} {:10} {}"
    print(line.format("anchor", "baseline", "bars", "speed ratio median [range]", "goal", ""))
    for a in anchors:
        ratio = "not installed" if a.ratios is None else spread(a.ratios)
        goal = "-" if a.goal is None else f">= {a.goal:g}"
        verdict = "-" if a.goal is None or a.median is None else (
            "met" if a.median >= a.goal else "MISSED"
        )
        print(line.format(a.measure, a.baseline, f"{a.bars:,}", ratio, goal, verdict))


# -- report -------------------------------------------------------------------------------


def figure(value: float | None) -> str:
    """Rates as whole numbers with thousands separators, seconds to 0.1 ms."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 1000 else f"{value:.4f}"


def print_table(results: list[Result]) -> None:
    """One line per measure: ours, baseline, ratio (ours / base), goal, verdict."""
    line = "{:30} {:>12}  {:24} {:>12} {:>6}  {:16} {}"
    print(line.format("measure", "ours", "baseline", "base", "ratio", "goal", "verdict"))
    for r in results:
        verdict = "-" if r.ok is None else "pass" if r.ok else "FAIL"
        ratio = "-" if r.base is None else f"{r.ours / r.base:.3f}"
        print(
            line.format(
                r.measure, figure(r.ours), r.baseline, figure(r.base), ratio, r.goal, verdict
            )
        )


def same_run(event: BacktestResult, vector: BacktestResult, hand: Hand) -> dict[str, Any]:
    """Trades and final equity of both engines (and of the hand loop) on the big series."""
    hand_equity, hand_trades = hand
    return {
        "trades_event": len(event.trades),
        "trades_vector": len(vector.trades),
        "trades_hand": len(hand_trades),
        "final_equity_event": float(event.equity[-1]),
        "final_equity_vector": float(vector.equity[-1]),
        "final_equity_hand": float(hand_equity[-1]),
        "last_exit_bar": int(np.searchsorted(vector.ts, vector.trades[-1].exit_ts))
        if vector.trades
        else None,
    }


def print_sanity(check: dict[str, Any], sweep_same: bool) -> tuple[bool, bool]:
    """The sanity lines; (engines agree, sweeps agree)."""
    agree = (
        check["trades_event"] == check["trades_vector"]
        and check["final_equity_event"] == check["final_equity_vector"]
    )
    hand = (
        check["trades_hand"] == check["trades_vector"]
        and check["final_equity_hand"] == check["final_equity_vector"]
    )
    print(
        f"sanity: event engine {check['trades_event']:,} trades, final equity "
        f"{check['final_equity_event']!r}; vector engine {check['trades_vector']:,} trades, "
        f"{check['final_equity_vector']!r}: {'same' if agree else 'MISMATCH'}"
    )
    print(
        f"sanity: hand loop {check['trades_hand']:,} trades, {check['final_equity_hand']!r}: "
        f"{'same as vector' if hand else 'differs from vector'}; "
        f"last exit at bar {check['last_exit_bar']}"
    )
    print(
        f"sanity: sweep on {SWEEP_WORKERS} workers (first and warm) and in process stats: "
        f"{'identical' if sweep_same else 'MISMATCH'}"
    )
    return agree, sweep_same


def summary(
    bars: int, results: list[Result], check: dict[str, Any], points: int, agreed: tuple[bool, bool]
) -> dict[str, Any]:
    """The JSON line: every figure, rounded."""
    vector, signals, run, kernel, stats, event, sweep, cluster_start = results
    return {
        "bars": bars,
        "vector_bars_per_s": round(vector.ours),
        "hand_loop_bars_per_s": round(vector.base or 0),
        "vector_ratio": round(vector.ours / (vector.base or 1), 4),
        "signals_s": round(signals.ours, 5),
        "run_vector_s": round(run.ours, 5),
        "simulate_kernel_s": round(kernel.ours, 5),
        "compute_stats_s": round(stats.ours, 5),
        "event_bars_per_s": round(event.ours),
        "event_null_bars_per_s": round(event.base or 0),
        "event_us_per_bar": round(1e6 / event.ours, 3),
        "engine_us_per_bar": round(1e6 / (event.base or 1), 3),
        "sweep_points": points,
        "sweep_cluster_s": round(sweep.ours, 4),
        "sweep_in_process_s": round(sweep.base or 0, 4),
        "sweep_cluster_start_s": round(cluster_start.ours, 4),
        **check,
        "engines_agree": agreed[0],
        "sweeps_agree": agreed[1],
        "pass": all(r.ok for r in results if r.ok is not None),
    }


def anchor_figures(anchors: list[Anchor]) -> dict[str, Any]:
    """The anchors' JSON keys: the median ratio and its range (null when not installed)."""
    out: dict[str, Any] = {}
    for key, anchor in zip(
        ("vector_vs_loop", "vector_vs_vectorbt", "event_vs_backtesting_py"), anchors, strict=True
    ):
        ratios = anchor.ratios
        out[key] = None if ratios is None else round(float(np.median(ratios)), 4)
        low_high = None if ratios is None else [round(min(ratios), 4), round(max(ratios), 4)]
        out[f"{key}_range"] = low_high
    out["event_vs_backtesting_py_bars"] = anchors[2].bars
    out["repeats"] = len(anchors[0].ratios or [])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="Bars of the big series")
    parser.add_argument("--quick", action="store_true", help="Use 200,000 bars")
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs per figure (best)")
    parser.add_argument("--check", action="store_true", help="Exit 1 on a missed goal")
    parser.add_argument(
        "--event-bars", type=int, default=EVENT_BARS, help="Bars of the event vs backtesting.py run"
    )
    args = parser.parse_args()
    n = 200_000 if args.quick else args.bars
    if n < 2 * SLOW or args.repeat < 1:
        parser.error(f"need at least {2 * SLOW} bars and one repeat")
    log(f"generating {n:,} 1-minute bars ...")
    bars = minute_bars(n)
    vector_rows, vector, hand = bench_vector(bars, args.repeat)
    event_rows, event = bench_event(bars, args.repeat)
    sweep_rows, sweep_same, points = bench_sweep(args.repeat)
    anchors = bench_anchors(bars, min(args.event_bars, n), args.repeat)
    results = vector_rows + event_rows + sweep_rows
    print_table(results)
    print()
    print_anchors(anchors)
    check = same_run(event, vector, hand)
    agreed = print_sanity(check, sweep_same)
    document = summary(n, results, check, points, agreed) | anchor_figures(anchors)
    document["pass"] = document["pass"] and all(
        a.median is None or a.goal is None or a.median >= a.goal for a in anchors
    )
    print(json.dumps(document))
    if args.check and not (document["pass"] and all(agreed)):
        sys.exit(1)


if __name__ == "__main__":
    main()
