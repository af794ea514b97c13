"""Tests of the synthetic feed's L2 mode: book deltas consistent with its quotes."""

from __future__ import annotations

import dataclasses

from bifrost.feed.config import FeedConfig
from bifrost.feed.synthetic import SyntheticFeed
from bifrost.micro.book import OrderBook
from bifrost.model.market import BookDelta, Quote

CONFIG = FeedConfig(
    symbols=("AAPL", "BTC-USD"),
    quotes_per_second=100,
    seed=11,
    prices={"AAPL": 190.0, "BTC-USD": 65000.0},
    book_levels=5,
)


def test_feed_book_off_by_default_publishes_no_deltas() -> None:
    events = SyntheticFeed(dataclasses.replace(CONFIG, book_levels=0), 0).step(0)
    assert not any(isinstance(e, BookDelta) for e in events)


def test_feed_book_does_not_change_quotes_and_trades() -> None:
    with_book = SyntheticFeed(CONFIG, 0).advance(10**9, max_steps=100)
    without = SyntheticFeed(dataclasses.replace(CONFIG, book_levels=0), 0).advance(
        10**9, max_steps=100
    )
    assert [e for e in with_book if not isinstance(e, BookDelta)] == without


def test_feed_book_deltas_rebuild_a_book_whose_touch_is_the_quote() -> None:
    feed = SyntheticFeed(CONFIG, 0)
    books = {s: OrderBook(s) for s in CONFIG.symbols}
    last: dict[str, Quote] = {}
    for step in range(500):
        for event in feed.step(step):
            if isinstance(event, Quote):
                last[event.symbol] = event
            elif isinstance(event, BookDelta):
                book = books[event.symbol]
                book.apply_delta(BookDelta.from_body(event.to_body()))
                quote = last[event.symbol]
                assert book.best_bid() == (quote.bid, quote.bid_size)
                assert book.best_ask() == (quote.ask, quote.ask_size)
                assert book.level_counts() == (5, 5)
    for symbol, book in books.items():
        assert book.snapshot().bids == feed.book(symbol).bids
        assert book.snapshot().asks == feed.book(symbol).asks


def test_feed_book_delta_lists_removals_first() -> None:
    feed = SyntheticFeed(CONFIG, 0)
    for step in range(200):
        for event in feed.step(step):
            if isinstance(event, BookDelta):
                sizes = [size for _, _, size in event.changes]
                assert sizes == sorted(sizes, key=bool)  # zeros, then the rest
