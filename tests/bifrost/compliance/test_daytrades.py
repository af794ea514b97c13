"""Counting day trades: side switches from the day's opening side, in 5 business days."""

from __future__ import annotations

import datetime as dt

from bifrost.compliance.daytrades import FillSide, day_trades, window_start, would_day_trade

WEDNESDAY = int(dt.datetime(2024, 1, 10, 15, 0, tzinfo=dt.UTC).timestamp()) * 10**9
MINUTE = 60 * 10**9


def sides(*names: str, symbol: str = "AAPL", start: int = WEDNESDAY) -> list[FillSide]:
    return [FillSide(start + i * MINUTE, symbol, name) for i, name in enumerate(names)]


def test_day_trades_buy_buy_sell_is_one() -> None:
    assert day_trades(sides("BUY", "BUY", "SELL"), WEDNESDAY) == 1


def test_day_trades_buy_sell_buy_sell_is_two() -> None:
    assert day_trades(sides("BUY", "SELL", "BUY", "SELL"), WEDNESDAY) == 2


def test_day_trades_short_then_cover_counts_too() -> None:
    assert day_trades(sides("SELL", "BUY"), WEDNESDAY) == 1


def test_day_trades_count_per_symbol() -> None:
    fills = sides("BUY", "SELL") + sides("BUY", "BUY", symbol="MSFT")
    assert day_trades(fills, WEDNESDAY) == 1


def test_window_start_skips_the_weekend() -> None:
    assert window_start(WEDNESDAY) == dt.date(2024, 1, 4)  # Thu, Fri, Mon, Tue, Wed


def test_would_day_trade_only_when_the_order_closes_todays_opening() -> None:
    assert would_day_trade(sides("BUY"), "AAPL", "SELL", WEDNESDAY + MINUTE)
    assert not would_day_trade(sides("BUY"), "AAPL", "BUY", WEDNESDAY + MINUTE)
    assert not would_day_trade(sides("BUY", "SELL"), "AAPL", "SELL", WEDNESDAY + 9 * MINUTE)
    assert not would_day_trade(sides("BUY"), "MSFT", "SELL", WEDNESDAY + MINUTE)
