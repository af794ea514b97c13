"""Both engines give the same trades and final equity, and match a plain-Python reference.

The reference below is written straight from docs/BACKTESTING.md, with no code shared
with the engines: signals on the bar's close, market orders at the next open (or that
close), whole shares from the cash with commission included, everything sold at the
last close.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bifrost.backtest.engine import BacktestConfig, BacktestResult, run_backtest
from bifrost.backtest.vector import run_vector_backtest, run_vector_targets
from bifrost.market.sample import SAMPLE_SYMBOLS, daily_bars, xnys_sessions
from bifrost.sim.costs import FixedCommission, PercentCommission, PerShareCommission
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.builtin import BollingerBreakout, RsiReversion, SmaCross

SESSIONS = xnys_sessions("2019-01-02", "2023-12-29")


def sample_arrays(symbol: str) -> BarArrays:
    """Five years of the built-in sample series of `symbol` as arrays."""
    price, drift, vol = SAMPLE_SYMBOLS[symbol]
    frame = daily_bars(symbol, SESSIONS, price, drift, vol, seed=7)
    ts = np.array(
        [np.datetime64(d, "ns").astype(np.int64) for d in frame["Date"].to_list()], dtype=np.int64
    )
    return BarArrays(
        ts,
        frame["Open"].to_numpy(),
        frame["High"].to_numpy(),
        frame["Low"].to_numpy(),
        frame["Close"].to_numpy(),
        frame["Volume"].to_numpy().astype(np.float64),
    )


def assert_same(event: BacktestResult, vector: BacktestResult) -> None:
    """Identical round trips and final equity (prices to floating-point noise)."""
    assert len(event.trades) == len(vector.trades)
    for a, b in zip(event.trades, vector.trades, strict=True):
        assert (a.entry_ts, a.exit_ts, a.size) == (b.entry_ts, b.exit_ts, b.size)
        assert a.entry_price == pytest.approx(b.entry_price, rel=1e-12)
        assert a.exit_price == pytest.approx(b.exit_price, rel=1e-12)
        assert a.pnl == pytest.approx(b.pnl, rel=1e-9, abs=1e-6)
    assert event.equity[-1] == pytest.approx(vector.equity[-1], rel=1e-12)
    np.testing.assert_allclose(event.equity, vector.equity, rtol=1e-12)
    assert (event.exposure == vector.exposure).all()


@pytest.mark.parametrize("symbol", ["AAPL", "MSFT", "NVDA", "SPY"])
@pytest.mark.parametrize("fill", ["next-open", "close"])
@pytest.mark.parametrize(
    ("strategy", "params"),
    [
        (SmaCross, {"fast": 10, "slow": 30}),
        (RsiReversion, {"period": 14, "lower": 35.0, "upper": 60.0}),
        (BollingerBreakout, {"period": 20, "k": 1.5}),
    ],
)
def test_engines_same_trades_and_equity(symbol: str, fill: str, strategy, params) -> None:
    bars = sample_arrays(symbol)
    config = BacktestConfig(
        cash=10_000, commission=PercentCommission(0.001), slippage_bps=5, fill=fill
    )
    event = run_backtest(strategy(**params), {symbol: bars}, config)
    entries, exits = strategy.signals(bars, **params)
    vector = run_vector_backtest(symbol, bars, entries, exits, config)
    assert len(event.trades) > 3
    assert_same(event, vector)


@pytest.mark.parametrize(
    "commission", [PerShareCommission(0.01, 1.0), FixedCommission(2.5), PercentCommission(0.0)]
)
def test_engines_agree_for_every_commission_model(commission) -> None:
    bars = sample_arrays("NVDA")
    config = BacktestConfig(cash=5_000, commission=commission, slippage_bps=2)
    event = run_backtest(SmaCross(fast=5, slow=20), {"NVDA": bars}, config)
    vector = run_vector_backtest("NVDA", bars, *SmaCross.signals(bars, 5, 20), config)
    assert_same(event, vector)


def reference_sma_cross(bars: BarArrays, fast: int, slow: int, cash: float, rate: float):
    """SMA cross by hand: next-open fills, percent commission, whole shares, no slippage."""
    close, open_ = bars.close.tolist(), bars.open.tolist()

    def average(i: int, n: int) -> float:
        return sum(close[i - n + 1 : i + 1]) / n if i >= n - 1 else math.nan

    shares, trades, pending, entry = 0, [], None, None
    for i in range(len(close)):
        if pending == "buy":
            price = open_[i]
            shares = math.floor(cash / (price * (1 + rate)))
            cash -= shares * price + shares * price * rate
            entry = (i, price, shares * price * rate)
        elif pending == "sell":
            price = open_[i]
            cash += shares * price - shares * price * rate
            trades.append((entry[0], i, shares, entry[1], price))
            shares = 0
        pending = None
        f0, s0, f1, s1 = (
            average(i - 1, fast),
            average(i - 1, slow),
            average(i, fast),
            average(i, slow),
        )
        if shares == 0 and f0 <= s0 and f1 > s1:
            pending = "buy"
        elif shares > 0 and f0 >= s0 and f1 < s1:
            pending = "sell"
    if shares:
        price = close[-1]
        cash += shares * price - shares * price * rate
        trades.append((entry[0], len(close) - 1, shares, entry[1], price))
    return trades, cash


@pytest.mark.parametrize("symbol", ["AAPL", "SPY"])
def test_sma_cross_engines_match_hand_written_reference(symbol: str) -> None:
    bars = sample_arrays(symbol)
    config = BacktestConfig(cash=10_000, commission=PercentCommission(0.001))
    expected_trades, expected_cash = reference_sma_cross(bars, 10, 30, 10_000, 0.001)
    event = run_backtest(SmaCross(fast=10, slow=30), {symbol: bars}, config)
    vector = run_vector_backtest(symbol, bars, *SmaCross.signals(bars, 10, 30), config)
    for result in (event, vector):
        got = [
            (
                int(np.searchsorted(bars.ts, t.entry_ts)),
                int(np.searchsorted(bars.ts, t.exit_ts)),
                t.size,
                t.entry_price,
                t.exit_price,
            )
            for t in result.trades
        ]
        assert len(got) == len(expected_trades) > 3
        for mine, theirs in zip(got, expected_trades, strict=True):
            assert mine == pytest.approx(theirs, rel=1e-12)
        assert result.equity[-1] == pytest.approx(expected_cash, rel=1e-9)


@pytest.mark.parametrize("symbol", ["AAPL", "NVDA", "SPY"])
@pytest.mark.parametrize("fill", ["next-open", "close"])
@pytest.mark.parametrize("close_at_end", [True, False])
def test_engines_same_trades_on_a_long_short_strategy(
    symbol: str, fill: str, close_at_end: bool
) -> None:
    bars = sample_arrays(symbol)
    config = BacktestConfig(
        cash=10_000,
        commission=PercentCommission(0.001),
        slippage_bps=5,
        fill=fill,
        close_at_end=close_at_end,
    )
    params = {"fast": 10, "slow": 30, "allow_short": True}
    event = run_backtest(SmaCross(**params), {symbol: bars}, config)
    vector = run_vector_targets(symbol, bars, SmaCross.targets(bars, **params), config)
    shorts = [t for t in event.trades if t.size < 0]
    assert len(shorts) > 3 and len(event.trades) - len(shorts) > 3
    assert_same(event, vector)
    # the strategy is always in the market at the end: closed there, or still held
    assert bool(event.positions) is (not close_at_end)
    assert vector.exposure[-1] and event.exposure[-1]


def test_long_short_sma_cross_reverses_on_the_same_bar_it_closes() -> None:
    bars = sample_arrays("SPY")
    config = BacktestConfig(cash=10_000, commission=PercentCommission(0.001))
    event = run_backtest(SmaCross(fast=10, slow=30, allow_short=True), {"SPY": bars}, config)
    # after the first trade the strategy is always in the market: each trade starts when
    # the one before it ends, and the sides alternate
    trades = event.trades
    assert all(a.exit_ts == b.entry_ts for a, b in itertools.pairwise(trades))
    assert all((a.size > 0) != (b.size > 0) for a, b in itertools.pairwise(trades))
