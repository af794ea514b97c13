"""Each compliance rule on hand-made inputs: the rule that fires, its numbers, its edges.

State comes through the engine's own bus handlers (`on_order`, `on_fill`, `on_pnl`,
`on_quote`) and time is passed in, so every test is deterministic at any hour.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from bifrost.compliance.config import ComplianceConfig
from bifrost.compliance.engine import ComplianceEngine, crosses
from bifrost.errors import Rejected
from bifrost.model.commands import SubmitOrder

MONDAY_OPEN = int(dt.datetime(2024, 1, 8, 15, 0, tzinfo=dt.UTC).timestamp()) * 10**9
"""Monday 2024-01-08 10:00 New York: XNYS is open."""
SATURDAY = int(dt.datetime(2024, 1, 6, 15, 0, tzinfo=dt.UTC).timestamp()) * 10**9
MINUTE = 60 * 10**9


def engine(**rules: Any) -> ComplianceEngine:
    """Every rule off except those given; AAPL quoted at 100, account equity 100,000."""
    off = ComplianceConfig(wash_trade_prevention=False, pdt_max_day_trades=0)
    made = ComplianceEngine(replace(off, **rules))
    made.on_quote("AAPL", 100.0)
    made.on_pnl({"account": "paper", "equity": "100000", "positions": []})
    return made


def order(
    side: str = "BUY", quantity: float = 10.0, symbol: str = "AAPL", **extra: Any
) -> SubmitOrder:
    return SubmitOrder.new(symbol, side, quantity, account="paper", **extra)


def rule_of(check: Any) -> str:
    with pytest.raises(Rejected) as caught:
        check()
    return str(caught.value.details["rule"])


def test_restricted_symbol_is_rejected_and_others_pass() -> None:
    rules = engine(restricted=("NVDA",))
    assert rule_of(lambda: rules.check(order(symbol="NVDA"), MONDAY_OPEN)) == "restricted"
    assert rules.check(order(), MONDAY_OPEN) == []


def test_watch_symbol_passes_with_a_hit() -> None:
    assert engine(watch=("AAPL",)).check(order(), MONDAY_OPEN) == ["watch"]


def test_market_hours_rejects_a_closed_exchange_and_passes_an_open_one() -> None:
    rules = engine(market_hours_only=True)
    assert rules.check(order(), MONDAY_OPEN) == []
    with pytest.raises(Rejected, match="XNYS market of AAPL is closed") as caught:
        rules.check(order(), SATURDAY)
    assert caught.value.details["rule"] == "market_hours"


def test_market_hours_always_passes_a_24_7_instrument() -> None:
    assert engine(market_hours_only=True).check(order(symbol="BTC-USD"), SATURDAY) == []


def test_market_hours_off_passes_a_closed_exchange() -> None:
    assert engine().check(order(), SATURDAY) == []


def test_max_orders_per_day_counts_per_symbol_and_resets_next_day() -> None:
    rules = engine(max_orders_per_day=2)
    rules.check(order(), MONDAY_OPEN)
    rules.check(order(), MONDAY_OPEN + MINUTE)
    rules.check(order(symbol="MSFT"), MONDAY_OPEN + MINUTE)
    with pytest.raises(Rejected, match="2 AAPL orders today already"):
        rules.check(order(), MONDAY_OPEN + 2 * MINUTE)
    assert rules.check(order(), MONDAY_OPEN + 86_400 * 10**9) == []


def resting(side: str, kind: str = "LIMIT", limit: float | None = 100.0, **extra: Any) -> dict:
    return {
        "client_order_id": f"rest-{side}",
        "symbol": "AAPL",
        "side": side,
        "type": kind,
        "limit_price": limit,
        "status": "ACCEPTED",
        "account": "paper",
        "strategy_id": "s1",
        **extra,
    }


def test_wash_trade_buy_limit_at_or_above_own_resting_sell_is_rejected() -> None:
    rules = engine(wash_trade_prevention=True)
    rules.on_order(resting("SELL", limit=101.0))
    buy = order(type="LIMIT", limit_price=101.0, strategy_id="s1")
    assert rule_of(lambda: rules.check(buy, MONDAY_OPEN)) == "wash_trade"
    below = order(type="LIMIT", limit_price=100.5, strategy_id="s1")
    assert rules.check(below, MONDAY_OPEN) == []


def test_wash_trade_market_order_against_own_resting_opposite_is_rejected() -> None:
    rules = engine(wash_trade_prevention=True)
    rules.on_order(resting("BUY", limit=99.0))
    sell = order("SELL", type="MARKET", strategy_id="s1")
    assert rule_of(lambda: rules.check(sell, MONDAY_OPEN)) == "wash_trade"


def test_wash_trade_ignores_other_strategies_ended_orders_and_plain_stops() -> None:
    rules = engine(wash_trade_prevention=True)
    rules.on_order(resting("SELL", limit=99.0))
    assert rules.check(order(strategy_id="other"), MONDAY_OPEN) == []
    rules.on_order(resting("SELL", limit=99.0, status="CANCELED"))
    assert rules.check(order(strategy_id="s1"), MONDAY_OPEN) == []
    rules.on_order(resting("SELL", kind="STOP", limit=None))
    assert rules.check(order(strategy_id="s1"), MONDAY_OPEN) == []


def test_crosses_compares_limit_prices_by_side() -> None:
    assert crosses("SELL", "LIMIT", 99.0, resting("BUY", limit=99.0))
    assert not crosses("SELL", "LIMIT", 99.5, resting("BUY", limit=99.0))
    assert crosses("BUY", "LIMIT", 100.0, resting("SELL", kind="MARKET", limit=None))


def fill(n: int, side: str, symbol: str = "AAPL") -> dict:
    return {
        "trade_id": f"t{n}",
        "symbol": symbol,
        "side": side,
        "quantity": 1.0,
        "account": "paper",
    }


def day_traded(rules: ComplianceEngine, trades: int, start: int) -> int:
    """Make `trades` round trips (buy then sell) in AAPL from `start`; returns the next time."""
    now = start
    for _ in range(trades):
        for side in ("BUY", "SELL"):
            rules.on_fill(fill(len(rules.trade_ids), side), now)
            now += MINUTE
    return now


def test_pattern_day_trader_rejects_the_fourth_day_trade_under_the_threshold() -> None:
    rules = engine(pdt_max_day_trades=3, pdt_equity_threshold=25_000.0)
    rules.on_pnl({"account": "paper", "equity": "20000", "positions": []})
    now = day_traded(rules, 3, MONDAY_OPEN)
    rules.on_fill(fill(99, "BUY"), now)
    with pytest.raises(Rejected, match="3 day trades in 5 business days") as caught:
        rules.check(order("SELL"), now + MINUTE)
    assert caught.value.details["rule"] == "pattern_day_trader"
    assert rules.check(order("BUY"), now + MINUTE) == []  # adds to the position: no day trade


def test_pattern_day_trader_passes_above_the_equity_threshold() -> None:
    rules = engine(pdt_max_day_trades=3, pdt_equity_threshold=25_000.0)
    now = day_traded(rules, 3, MONDAY_OPEN)
    rules.on_fill(fill(99, "BUY"), now)
    assert rules.check(order("SELL"), now + MINUTE) == []


def test_pattern_day_trader_window_is_five_business_days() -> None:
    rules = engine(pdt_max_day_trades=3)
    rules.on_pnl({"account": "paper", "equity": "20000", "positions": []})
    day = 86_400 * 10**9
    day_traded(rules, 3, MONDAY_OPEN - 7 * day)  # the Monday before: out of the window
    rules.on_fill(fill(99, "BUY"), MONDAY_OPEN)
    assert rules.check(order("SELL"), MONDAY_OPEN + MINUTE) == []


def test_pattern_day_trader_fails_closed_without_equity() -> None:
    rules = ComplianceEngine(ComplianceConfig(pdt_max_day_trades=3))
    rules.on_fill(fill(1, "BUY"), MONDAY_OPEN)
    with pytest.raises(Rejected, match="equity of account paper is not known"):
        rules.check(order("SELL"), MONDAY_OPEN + MINUTE)


def test_concentration_rejects_a_position_over_the_share_of_equity() -> None:
    rules = engine(max_concentration_pct=10.0)
    assert rules.check(order(quantity=100), MONDAY_OPEN) == []  # 10,000 = 10%
    with pytest.raises(Rejected, match=r"AAPL would be 10\.1% of equity") as caught:
        rules.check(order(quantity=101), MONDAY_OPEN)
    assert caught.value.details["rule"] == "concentration"


def test_concentration_counts_the_held_position_and_lets_reductions_pass() -> None:
    rules = engine(max_concentration_pct=10.0)
    position = {"symbol": "AAPL", "quantity": 150.0, "mark": 100.0}
    rules.on_pnl({"account": "paper", "equity": "100000", "positions": [position]})
    assert rule_of(lambda: rules.check(order(quantity=1), MONDAY_OPEN)) == "concentration"
    assert rules.check(order("SELL", quantity=10), MONDAY_OPEN) == []


def test_rules_run_in_order_so_restricted_wins() -> None:
    rules = engine(restricted=("AAPL",), max_orders_per_day=1, market_hours_only=True)
    assert rule_of(lambda: rules.check(order(), SATURDAY)) == "restricted"
