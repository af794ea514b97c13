"""Live bar building from trades, and replay pacing."""

from __future__ import annotations

import polars as pl
import pytest

from bifrost.errors import BadRequest
from bifrost.market.bar_builder import BarBuilder
from bifrost.market.replay import Replay, parse_speed

MINUTE = 60_000_000_000
DAY = 86_400_000_000_000


def test_bar_builder_trades_in_one_minute_fold_into_one_bar() -> None:
    builder = BarBuilder("1m")
    for ts, price in ((1, 10.0), (2, 12.0), (3, 9.0), (4, 11.0)):
        assert builder.add_trade("AAPL", ts, price, 100) is None
    closed = builder.close_due(MINUTE)
    assert len(closed) == 1
    bar = closed[0]
    assert (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        0,
        10.0,
        12.0,
        9.0,
        11.0,
        400,
    )


def test_bar_builder_next_minute_trade_closes_previous_bar() -> None:
    builder = BarBuilder("1m")
    builder.add_trade("AAPL", 5, 10.0, 1)
    closed = builder.add_trade("AAPL", MINUTE + 5, 11.0, 1)
    assert closed is not None and closed.ts == 0 and closed.close == 10.0
    assert builder.close_due(MINUTE + 10) == []


def test_bar_builder_late_trade_for_closed_minute_is_ignored() -> None:
    builder = BarBuilder("1m")
    builder.add_trade("AAPL", MINUTE + 5, 11.0, 1)
    assert builder.add_trade("AAPL", 5, 99.0, 1) is None
    (bar,) = builder.close_due(2 * MINUTE)
    assert bar.high == 11.0


def daily(symbols: list[str], days: int) -> pl.DataFrame:
    rows = [
        {
            "symbol": s,
            "timeframe": "1d",
            "ts": d * DAY,
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": 1.0,
            "volume": 1.0,
        }
        for s in symbols
        for d in range(days)
    ]
    return pl.DataFrame(rows)


def test_replay_max_speed_hands_out_everything_in_time_then_symbol_order() -> None:
    replay = Replay("r1", daily(["MSFT", "AAPL"], 3), None, start_ns=0)
    out = replay.due(0)
    assert [(b["ts"], b["symbol"]) for b in out] == [
        (d * DAY, s) for d in range(3) for s in ("AAPL", "MSFT")
    ]
    assert replay.finished


def test_replay_paced_speed_releases_bars_as_time_passes() -> None:
    replay = Replay("r2", daily(["AAPL"], 4), speed=86_400.0, start_ns=0)  # one day a second
    assert len(replay.due(0)) == 1
    assert len(replay.due(1_500_000_000)) == 1
    assert len(replay.due(10_000_000_000)) == 2
    assert replay.finished


@pytest.mark.parametrize("text", ["fast", "0x", "-2x", ""])
def test_parse_speed_bad_text_is_bad_request(text: str) -> None:
    with pytest.raises(BadRequest, match="speed"):
        parse_speed(text)


def test_parse_speed_accepts_multiplier_and_max() -> None:
    assert parse_speed("10x") == 10.0
    assert parse_speed("0.5x") == 0.5
    assert parse_speed("max") is None
