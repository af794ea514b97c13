"""The vectorized backtest: target positions (or entry/exit signals) through one numba loop.

Same conventions as the event engine (docs/BACKTESTING.md), for one symbol. The
signal is a target position per bar: +1 long, -1 short, 0 flat, NaN keep what is
held (long-only entry/exit signals are +1 and 0). A target at bar t that differs
from the side held closes the position and opens the new side with `fraction` of
the cash in whole lots, as the event engine does with a sizeless order that closes
and one that opens (a short is sized as a buy would be). Orders
fill at bar t+1's open ("next-open") or at bar t's close ("close"), with the same
slippage, commission and sizing arithmetic as SimulatedExchange and SimAccount, in
the same order of floating-point operations, so both engines give the same trades
and final equity. A target on the last bar never fills; a position still open after
the last bar is closed at its close when `close_at_end` is set.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from bifrost.backtest.engine import BacktestConfig, BacktestResult
from bifrost.errors import BadRequest
from bifrost.sim.account import TradeRecord
from bifrost.sim.costs import (
    CommissionModel,
    FixedCommission,
    PercentCommission,
    PerShareCommission,
)
from bifrost.strategy.bars import BarArrays

PERCENT, PER_SHARE, FIXED = 0, 1, 2


def commission_terms(model: CommissionModel) -> tuple[int, float, float]:
    """(kind, rate, minimum-or-amount) of a commission model, for the numba kernel."""
    if isinstance(model, PercentCommission):
        return PERCENT, model.rate, 0.0
    if isinstance(model, PerShareCommission):
        return PER_SHARE, model.per_share, model.minimum
    if isinstance(model, FixedCommission):
        return FIXED, 0.0, model.amount
    raise BadRequest(f"the vectorized engine does not support {type(model).__name__}")


@njit(cache=True)
def _commission(kind: int, rate: float, extra: float, quantity: float, price: float) -> float:
    if kind == PERCENT:
        return rate * quantity * price
    if kind == PER_SHARE:
        return max(extra, rate * quantity)
    return extra


@njit(cache=True)
def _whole_lots(quantity: float, lot: float) -> float:
    return math.floor(quantity / lot + 1e-9) * lot


@njit(cache=True)
def _affordable(
    cash: float, price: float, fraction: float, lot: float, kind: int, rate: float, extra: float
) -> float:
    if cash <= 0 or price <= 0:
        return 0.0
    budget = cash * fraction
    if kind == PERCENT:
        return _whole_lots(budget / (price * (1 + rate)), lot)
    if kind == FIXED:
        return max(_whole_lots((budget - extra) / price, lot), 0.0)
    quantity = _whole_lots((budget - extra) / price, lot)
    while quantity > 0 and quantity * price + max(extra, rate * quantity) > budget:
        quantity -= lot
    return max(quantity, 0.0)


@njit(cache=True)
def _record(
    trades: np.ndarray,
    count: int,
    entry: tuple[int, float, float],
    bar: int,
    held: float,
    price: float,
    fee: float,
) -> None:
    """Row `count` of `trades`: the round trip of `held` (signed) closed at `price`."""
    entry_bar, entry_price, entry_fee = entry
    direction = 1.0 if held > 0 else -1.0
    quantity = abs(held)
    trades[count, 0], trades[count, 1], trades[count, 2] = entry_bar, bar, held
    trades[count, 3], trades[count, 4] = entry_price, price
    trades[count, 5] = direction * (quantity * price - entry_price * quantity) - (entry_fee + fee)
    trades[count, 6] = entry_fee + fee


@njit(cache=True)
def simulate_targets(
    open_: np.ndarray,
    close: np.ndarray,
    targets: np.ndarray,
    costs: np.ndarray,
    kind: int,
    fill_at_close: bool,
    close_at_end: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run target positions (+1 long, -1 short, 0 flat, NaN keep); `costs` = (cash,
    fraction, lot, rate, extra, slippage_bps).

    A target that differs from the side held closes the position, then opens the new
    side with `fraction` of the cash (as the event engine does with a sizeless order
    that closes, then one that opens). Returns equity and exposure per bar and the
    trades as rows of (entry bar, exit bar, signed size, entry price, exit price, pnl,
    commission).
    """
    cash, fraction, lot, rate, extra, bps = (
        costs[0],
        costs[1],
        costs[2],
        costs[3],
        costs[4],
        costs[5],
    )
    n = len(close)
    equity = np.empty(n)
    exposure = np.zeros(n, dtype=np.bool_)
    trades = np.empty((n + 1, 7))
    count = 0
    held = 0.0  # signed: negative while short
    pending, has_pending = 0.0, False
    entry = (0, 0.0, 0.0)  # bar, price, commission of the open position's entry
    up, down = 1 + bps / 10_000, 1 + -bps / 10_000
    for t in range(2 * n):
        bar = t // 2
        at_close = t % 2 == 1  # each bar has an open step and a close step
        if at_close and not math.isnan(targets[bar]):
            side = 1.0 if held > 0 else (-1.0 if held < 0 else 0.0)
            if targets[bar] != side:
                pending, has_pending = targets[bar], True
        if has_pending and at_close == fill_at_close:
            reference = close[bar] if at_close else open_[bar]
            if held != 0.0:
                price = reference * (down if held > 0 else up)
                fee = _commission(kind, rate, extra, abs(held), price)
                cash = cash - (-held * price + fee)
                _record(trades, count, entry, bar, held, price, fee)
                count += 1
                held = 0.0
            if pending != 0.0:
                price = reference * (up if pending > 0 else down)
                quantity = _affordable(cash, price, fraction, lot, kind, rate, extra)
                if quantity > 0:
                    fee = _commission(kind, rate, extra, quantity, price)
                    signed = quantity * pending
                    cash = cash - (signed * price + fee)
                    held, entry = signed, (bar, price, fee)
            has_pending = False
        if at_close:
            equity[bar] = cash + held * close[bar]
            exposure[bar] = held != 0.0
    if close_at_end and held != 0.0:
        price = close[n - 1] * (down if held > 0 else up)
        fee = _commission(kind, rate, extra, abs(held), price)
        cash = cash - (-held * price + fee)
        _record(trades, count, entry, n - 1, held, price, fee)
        count += 1
        equity[n - 1] = cash
    return equity, exposure, trades[:count]


def targets_of(entries: np.ndarray, exits: np.ndarray) -> np.ndarray:
    """Long-only entry/exit signals as targets: an entry is +1, an exit 0, else NaN (keep).

    A bar with both is ambiguous; the entry wins (built-in strategies' constraints make
    their signals exclusive).
    """
    entries, exits = np.asarray(entries, dtype=np.bool_), np.asarray(exits, dtype=np.bool_)
    return np.where(entries, 1.0, np.where(exits, 0.0, np.nan))


def run_vector_backtest(
    symbol: str,
    bars: BarArrays,
    entries: np.ndarray,
    exits: np.ndarray,
    config: BacktestConfig,
    *,
    fraction: float = 1.0,
    lot: float = 1.0,
) -> BacktestResult:
    """Run long-only entry/exit signals for one symbol with the event engine's conventions."""
    if not len(entries) == len(exits) == len(bars):
        raise BadRequest("entries, exits and bars must have the same length")
    targets = targets_of(entries, exits)
    return run_vector_targets(symbol, bars, targets, config, fraction=fraction, lot=lot)


def run_vector_targets(
    symbol: str,
    bars: BarArrays,
    targets: np.ndarray,
    config: BacktestConfig,
    *,
    fraction: float = 1.0,
    lot: float = 1.0,
) -> BacktestResult:
    """Run target positions (+1, -1, 0, NaN keep) for one symbol with the event engine's
    conventions."""
    if config.max_participation is not None:
        raise BadRequest("the vectorized engine has no volume-participation cap")
    targets = np.asarray(targets, dtype=np.float64)
    if len(targets) != len(bars):
        raise BadRequest("targets and bars must have the same length")
    known = targets[~np.isnan(targets)]
    if not np.isin(known, (-1.0, 0.0, 1.0)).all():
        raise BadRequest("targets must be +1 (long), -1 (short), 0 (flat) or NaN (keep)")
    kind, rate, extra = commission_terms(config.commission)
    costs = np.array([config.cash, fraction, lot, rate, extra, config.slippage_bps])
    equity, exposure, rows = simulate_targets(
        np.ascontiguousarray(bars.open, dtype=np.float64),
        np.ascontiguousarray(bars.close, dtype=np.float64),
        np.ascontiguousarray(targets),
        costs,
        kind,
        config.fill == "close",
        config.close_at_end,
    )
    # Converted in bulk: tolist gives the same Python ints and floats as int() and float()
    # of each element, and a long series can make tens of thousands of trades.
    entry_ts = bars.ts[rows[:, 0].astype(np.int64)].tolist()
    exit_ts = bars.ts[rows[:, 1].astype(np.int64)].tolist()
    trades = [
        TradeRecord(
            symbol,
            entry,
            exit_,
            size,
            1 if size > 0 else -1,
            entry_price,
            exit_price,
            pnl,
            commission,
        )
        for entry, exit_, (_, _, size, entry_price, exit_price, pnl, commission) in zip(
            entry_ts, exit_ts, rows.tolist(), strict=True
        )
    ]
    result = BacktestResult(
        [symbol], bars.ts.copy(), equity, exposure, trades, [], [], {}, bars.close
    )
    result.compute_stats(config.periods_per_year)
    return result
