"""Round trips, trade statistics and P&L attribution by strategy and by symbol.

Live fills become round trips by FIFO matching per (strategy, symbol): a strategy's
position is the sum of the fills carrying its id, as in the live runner. A fill that
crosses zero closes the open lots and opens a new one with the rest. Commissions are
shared pro rata by quantity: a round trip carries its part of the opening and of the
closing fill's commission, and its `pnl` is net of both.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from bifrost.backtest.stats import NS_PER_DAY

NAN = float("nan")
QUANTITY_EPSILON = 1e-9


@dataclass(slots=True)
class Lot:
    """Open quantity of one fill: signed (+ long, - short), with its unbooked commission."""

    strategy: str
    symbol: str
    ts: int
    quantity: float
    price: float
    commission: float


def round_trips(fills: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Lot]]:
    """Closed round trips (FIFO per strategy and symbol) and the lots still open.

    Each fill has strategy_id, symbol, side (BUY/SELL), quantity, price, commission
    and ts_ns; fills are taken in time order.
    """
    books: dict[tuple[str, str], deque[Lot]] = {}
    closed: list[dict[str, Any]] = []
    for fill in sorted(fills, key=lambda f: f["ts_ns"]):
        key = (fill["strategy_id"] or "manual", fill["symbol"])
        book = books.setdefault(key, deque())
        sign = 1.0 if fill["side"] == "BUY" else -1.0
        left = float(fill["quantity"])
        fee_per_unit = float(fill["commission"]) / left if left else 0.0
        while left > QUANTITY_EPSILON and book and book[0].quantity * sign < 0:
            lot = book[0]
            size = min(left, abs(lot.quantity))
            share = size / abs(lot.quantity)
            fees = lot.commission * share + fee_per_unit * size
            direction = 1.0 if lot.quantity > 0 else -1.0
            closed.append(
                {
                    "strategy": key[0],
                    "symbol": key[1],
                    "entry_ts": lot.ts,
                    "exit_ts": int(fill["ts_ns"]),
                    "size": direction * size,
                    "entry_price": lot.price,
                    "exit_price": float(fill["price"]),
                    "pnl": direction * size * (float(fill["price"]) - lot.price) - fees,
                    "commission": fees,
                }
            )
            lot.commission -= lot.commission * share
            lot.quantity -= direction * size
            left -= size
            if abs(lot.quantity) <= QUANTITY_EPSILON:
                book.popleft()
        if left > QUANTITY_EPSILON:
            book.append(
                Lot(
                    key[0],
                    key[1],
                    int(fill["ts_ns"]),
                    sign * left,
                    float(fill["price"]),
                    fee_per_unit * left,
                )
            )
    return closed, [lot for book in books.values() for lot in book]


def trade_analysis(trades: list[dict[str, Any]]) -> dict[str, Any]:
    """Win rate, profit factor, average win and loss, holding time, best and worst trade."""
    if not trades:
        return {
            "trades": 0,
            "win_rate_pct": NAN,
            "profit_factor": NAN,
            "avg_win": NAN,
            "avg_loss": NAN,
            "payoff_ratio": NAN,
            "avg_holding_days": NAN,
            "total_pnl": 0.0,
            "commission": 0.0,
            "best": None,
            "worst": None,
        }
    pnl = np.array([t["pnl"] for t in trades], dtype=np.float64)
    held = np.array([t["exit_ts"] - t["entry_ts"] for t in trades], dtype=np.float64)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    avg_win = float(wins.mean()) if len(wins) else NAN
    avg_loss = float(losses.mean()) if len(losses) else NAN
    best, worst = trades[int(pnl.argmax())], trades[int(pnl.argmin())]
    return {
        "trades": len(trades),
        "win_rate_pct": 100.0 * len(wins) / len(trades),
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else NAN,
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "payoff_ratio": avg_win / -avg_loss if len(wins) and len(losses) else NAN,
        "avg_holding_days": float(held.mean()) / NS_PER_DAY,
        "total_pnl": float(pnl.sum()),
        "commission": float(sum(t["commission"] for t in trades)),
        "best": _brief(best),
        "worst": _brief(worst),
    }


def attribution(
    trades: list[dict[str, Any]], lots: list[Lot], marks: dict[str, float]
) -> dict[str, list[dict[str, Any]]]:
    """Realized (net of commissions) and unrealized P&L by strategy and by symbol.

    Unrealized P&L marks open lots at `marks` (a symbol without a mark counts 0) and
    leaves out the opening commission still carried by the lots.
    """
    rows: dict[str, dict[tuple[str, str], dict[str, Any]]] = {"strategy": {}, "symbol": {}}
    for trade in trades:
        for by in rows:
            row = _row(rows[by], by, trade[by])
            row["realized"] += trade["pnl"]
            row["commission"] += trade["commission"]
            row["trades"] += 1
    for lot in lots:
        mark = marks.get(lot.symbol)
        unrealized = lot.quantity * (mark - lot.price) if mark is not None else 0.0
        for by, name in (("strategy", lot.strategy), ("symbol", lot.symbol)):
            _row(rows[by], by, name)["unrealized"] += unrealized
    out = {}
    for by, table in rows.items():
        for row in table.values():
            row["total"] = row["realized"] + row["unrealized"]
        out[f"by_{by}"] = sorted(table.values(), key=lambda r: -r["total"])
    return out


def _row(table: dict[Any, dict[str, Any]], by: str, name: str) -> dict[str, Any]:
    if name not in table:
        table[name] = {by: name, "realized": 0.0, "unrealized": 0.0, "commission": 0.0, "trades": 0}
    return table[name]


def _brief(trade: dict[str, Any]) -> dict[str, Any]:
    return {k: trade.get(k) for k in ("symbol", "strategy", "entry_ts", "exit_ts", "size", "pnl")}
