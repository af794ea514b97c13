"""Round trips from fills, trade statistics and attribution, checked by hand."""

from __future__ import annotations

import pytest

from bifrost.analytics.trades import attribution, round_trips, trade_analysis

DAY = 86_400_000_000_000


def fill(
    ts: int,
    side: str,
    qty: float,
    price: float,
    fee: float = 0.0,
    strategy: str = "s1",
    symbol: str = "AAPL",
) -> dict:
    return {
        "ts_ns": ts,
        "side": side,
        "quantity": qty,
        "price": price,
        "commission": fee,
        "strategy_id": strategy,
        "symbol": symbol,
    }


def test_fifo_round_trips_share_commissions_pro_rata() -> None:
    fills = [
        fill(0, "BUY", 100, 10.0, fee=1.0),
        fill(DAY, "BUY", 100, 12.0, fee=1.0),
        fill(2 * DAY, "SELL", 150, 13.0, fee=1.5),
    ]
    closed, lots = round_trips(fills)
    first, second = closed
    # first lot: 100 x (13 - 10) = 300, fees 1.0 + 100 x 0.01 = 2.0
    assert first["size"] == 100 and first["pnl"] == pytest.approx(298.0)
    # half the second lot: 50 x (13 - 12) = 50, fees 0.5 + 0.5 = 1.0
    assert second["size"] == 50 and second["pnl"] == pytest.approx(49.0)
    assert second["commission"] == pytest.approx(1.0)
    (lot,) = lots
    assert (lot.quantity, lot.price, lot.commission) == (50, 12.0, pytest.approx(0.5))


def test_a_fill_through_zero_closes_the_long_and_opens_a_short() -> None:
    closed, lots = round_trips([fill(0, "BUY", 10, 100.0), fill(DAY, "SELL", 15, 90.0)])
    assert [t["pnl"] for t in closed] == [pytest.approx(-100.0)]
    assert [(lot.quantity, lot.price) for lot in lots] == [(-5, 90.0)]
    closed, _ = round_trips(
        [*[fill(0, "BUY", 10, 100.0), fill(DAY, "SELL", 15, 90.0)], fill(2 * DAY, "BUY", 5, 80.0)]
    )
    assert closed[-1]["size"] == -5 and closed[-1]["pnl"] == pytest.approx(50.0)


def test_strategies_keep_their_own_positions() -> None:
    closed, lots = round_trips(
        [
            fill(0, "BUY", 10, 100.0, strategy="a"),
            fill(1, "SELL", 10, 101.0, strategy="b"),
        ]
    )
    assert closed == []
    assert sorted((lot.strategy, lot.quantity) for lot in lots) == [("a", 10), ("b", -10)]


def test_trade_analysis_of_three_trades() -> None:
    trades = [
        {
            "symbol": "A",
            "entry_ts": 0,
            "exit_ts": 2 * DAY,
            "size": 1,
            "pnl": 300.0,
            "commission": 1.0,
        },
        {"symbol": "B", "entry_ts": 0, "exit_ts": DAY, "size": 1, "pnl": -100.0, "commission": 1.0},
        {
            "symbol": "A",
            "entry_ts": DAY,
            "exit_ts": 4 * DAY,
            "size": 1,
            "pnl": 100.0,
            "commission": 1.0,
        },
    ]
    stats = trade_analysis(trades)
    assert stats["win_rate_pct"] == pytest.approx(200 / 3)
    assert stats["profit_factor"] == pytest.approx(4.0)
    assert (stats["avg_win"], stats["avg_loss"], stats["payoff_ratio"]) == (200.0, -100.0, 2.0)
    assert stats["avg_holding_days"] == pytest.approx(2.0)
    assert stats["best"]["pnl"] == 300.0 and stats["worst"]["symbol"] == "B"
    assert stats["total_pnl"] == 300.0 and stats["commission"] == 3.0


def test_attribution_by_strategy_and_symbol_with_open_lots_marked() -> None:
    fills = [
        fill(0, "BUY", 10, 100.0, strategy="a", symbol="X"),
        fill(1, "SELL", 10, 110.0, fee=2.0, strategy="a", symbol="X"),
        fill(2, "BUY", 5, 50.0, strategy="b", symbol="Y"),
    ]
    closed, lots = round_trips(fills)
    result = attribution(closed, lots, {"Y": 54.0})
    by_strategy = {r["strategy"]: r for r in result["by_strategy"]}
    assert by_strategy["a"]["realized"] == pytest.approx(98.0)
    assert by_strategy["b"]["unrealized"] == pytest.approx(20.0)
    assert [r["symbol"] for r in result["by_symbol"]] == ["X", "Y"]
    assert result["by_symbol"][1]["total"] == pytest.approx(20.0)
