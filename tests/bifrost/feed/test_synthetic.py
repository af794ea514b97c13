"""Tests of bifrost/feed/synthetic.py: a seeded, clock-paced GBM quote and trade feed."""

from __future__ import annotations

import dataclasses

import pytest

from bifrost.feed.config import FeedConfig
from bifrost.feed.synthetic import SyntheticFeed
from bifrost.model.market import Quote, Side, Trade

STEP_NS = 10_000_000  # 100 quotes per second
CONFIG = FeedConfig(
    symbols=("AAPL", "MSFT", "BTC-USD", "XYZ"),
    quotes_per_second=100,
    seed=11,
    trade_ratio=0.5,
    prices={"AAPL": 190.0, "MSFT": 420.0, "BTC-USD": 65000.0},
)


def steps(feed: SyntheticFeed, count: int, start_ns: int = 0) -> list[Quote | Trade]:
    return feed.advance(start_ns + (count - 1) * STEP_NS, max_steps=count)


def on_tick(price: float) -> bool:
    return abs(price * 100 - round(price * 100)) < 1e-6


def test_synthetic_feed_same_seed_gives_same_sequence() -> None:
    first = steps(SyntheticFeed(CONFIG, 0), 200)
    second = steps(SyntheticFeed(CONFIG, 0), 200)
    assert first == second
    assert any(isinstance(e, Trade) for e in first)


def test_synthetic_feed_other_seed_gives_other_prices() -> None:
    other = dataclasses.replace(CONFIG, seed=12)
    first = [e for e in steps(SyntheticFeed(CONFIG, 0), 50) if isinstance(e, Quote)]
    second = [e for e in steps(SyntheticFeed(other, 0), 50) if isinstance(e, Quote)]
    assert [q.bid for q in first] != [q.bid for q in second]


def test_synthetic_feed_same_seed_other_start_differs_only_in_time() -> None:
    early = steps(SyntheticFeed(CONFIG, 0), 50)
    late = steps(SyntheticFeed(CONFIG, 5_000_000_000), 50, start_ns=5_000_000_000)
    assert [dataclasses.replace(e, ts=0) for e in early] == [
        dataclasses.replace(e, ts=0) for e in late
    ]


def test_synthetic_feed_quotes_bid_below_ask() -> None:
    quotes = [e for e in steps(SyntheticFeed(CONFIG, 0), 2000) if isinstance(e, Quote)]
    assert len(quotes) == 2000 * len(CONFIG.symbols)
    assert all(0 < q.bid < q.ask for q in quotes)


def test_synthetic_feed_prices_are_on_cent_ticks() -> None:
    events = steps(SyntheticFeed(CONFIG, 0), 1000)
    prices = [p for e in events for p in ((e.bid, e.ask) if isinstance(e, Quote) else (e.price,))]
    assert all(on_tick(p) for p in prices)


def test_synthetic_feed_starts_near_configured_prices() -> None:
    first = {e.symbol: e for e in SyntheticFeed(CONFIG, 0).step(0) if isinstance(e, Quote)}
    assert first["AAPL"].mid == pytest.approx(190.0, rel=0.01)
    assert first["BTC-USD"].mid == pytest.approx(65000.0, rel=0.01)
    assert first["XYZ"].mid == pytest.approx(100.0, rel=0.01)  # no configured price


def test_synthetic_feed_trades_print_at_bid_or_ask_of_their_step() -> None:
    events = steps(SyntheticFeed(CONFIG, 0), 500)
    last_quote: dict[str, Quote] = {}
    for event in events:
        if isinstance(event, Quote):
            last_quote[event.symbol] = event
            continue
        quote = last_quote[event.symbol]
        assert event.ts == quote.ts
        expected = quote.ask if event.side is Side.BUY else quote.bid
        assert event.price == expected
        assert event.size == min(quote.bid_size, quote.ask_size)


def test_synthetic_feed_trade_ids_count_up_per_symbol() -> None:
    trades = [e for e in steps(SyntheticFeed(CONFIG, 0), 300) if isinstance(e, Trade)]
    aapl = [t.trade_id for t in trades if t.symbol == "AAPL"]
    assert aapl == [f"AAPL-{n}" for n in range(1, len(aapl) + 1)]


def test_synthetic_feed_counts_quotes_and_trades() -> None:
    feed = SyntheticFeed(CONFIG, 0)
    events = steps(feed, 100)
    assert feed.quotes == sum(isinstance(e, Quote) for e in events) == 400
    assert feed.trades == sum(isinstance(e, Trade) for e in events)


def test_synthetic_feed_advance_paces_by_clock() -> None:
    feed = SyntheticFeed(CONFIG, 1_000)
    assert feed.advance(999) == []
    assert not feed.due(999)
    first = feed.advance(1_000)  # the first step is due at the start time
    assert {e.ts for e in first} == {1_000}
    assert feed.advance(1_000 + STEP_NS - 1) == []
    assert feed.seconds_to_next(1_000) == pytest.approx(0.01)
    later = feed.advance(1_000 + 3 * STEP_NS)
    assert sorted({e.ts for e in later}) == [1_000 + n * STEP_NS for n in (1, 2, 3)]
    assert feed.quotes == 4 * len(CONFIG.symbols)


def test_synthetic_feed_stalled_caller_skips_ahead_after_max_steps() -> None:
    feed = SyntheticFeed(CONFIG, 0)
    now = 1_000 * STEP_NS
    events = feed.advance(now, max_steps=5)
    assert len({e.ts for e in events}) == 5
    assert feed.due(now) is False
    assert feed.seconds_to_next(now) == pytest.approx(STEP_NS / 1e9)


def test_synthetic_feed_crypto_sizes_are_fractional_lots() -> None:
    quotes = [e for e in steps(SyntheticFeed(CONFIG, 0), 50) if isinstance(e, Quote)]
    btc = [q.bid_size for q in quotes if q.symbol == "BTC-USD"]
    aapl = [q.bid_size for q in quotes if q.symbol == "AAPL"]
    assert all(s < 2.0 for s in btc)
    assert all(s % 100 == 0 for s in aapl)


def test_feed_with_start_prices_starts_there_before_the_configured_prices() -> None:
    feed = SyntheticFeed(CONFIG, 0, {"AAPL": 25.76, "XYZ": 7.5})
    first = {e.symbol: e for e in feed.step(0) if isinstance(e, Quote)}
    assert (first["AAPL"].bid + first["AAPL"].ask) / 2 == pytest.approx(25.76, rel=0.01)
    assert (first["XYZ"].bid + first["XYZ"].ask) / 2 == pytest.approx(7.5, rel=0.01)
    assert (first["MSFT"].bid + first["MSFT"].ask) / 2 == pytest.approx(420.0, rel=0.01)
