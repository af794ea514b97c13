"""Tests of bifrost/micro/follower.py and engine.py: books kept in step with `book.` events."""

from __future__ import annotations

from typing import Any

import pytest

from bifrost.bus import codec
from bifrost.errors import BadRequest, NotFound
from bifrost.feed.config import FeedConfig
from bifrost.feed.synthetic import SyntheticFeed
from bifrost.micro.engine import MicroEngine
from bifrost.micro.follower import BookFollower
from bifrost.model.market import BookDelta, Quote, Trade

STEP_NS = 10_000_000


def wire(body: dict[str, Any]) -> Any:
    """A body as a subscriber receives it (through the codec: plain Python values)."""
    return codec.decode_envelope(codec.encode_envelope("t", 1, 1, "data@local", "", body)).body


class FeedPublisher:
    """The synthetic feed's book events numbered per topic, with the snapshot a publisher
    would serve (the whole book at the latest seq), as the data daemon publishes them."""

    def __init__(self, levels: int = 5) -> None:
        config = FeedConfig(symbols=("AAPL",), quotes_per_second=100, book_levels=levels)
        self.feed = SyntheticFeed(config, 0)
        self.seq = 0
        self.now = 0
        self.fetched = 0

    def steps(self, count: int) -> list[tuple[str, str, int, Any]]:
        events = []
        for _ in range(count):
            for event in self.feed.step(self.now):
                if isinstance(event, BookDelta):
                    self.seq += 1
                    events.append(("book.AAPL", "book_delta", self.seq, event.to_body()))
            self.now += STEP_NS
        return events

    def snapshot(self, topic: str) -> dict[str, Any] | None:
        self.fetched += 1
        if not self.seq:
            return None
        body = self.feed.book("AAPL", self.now).to_body()
        return {"seq": self.seq, "ts": self.now, "type": "book", "body": body}


def test_follower_joining_mid_stream_starts_from_the_snapshot() -> None:
    source = FeedPublisher()
    source.steps(20)
    follower = BookFollower(source.snapshot)
    for event in source.steps(1):
        follower.on_event(*event)
    assert source.fetched == 1 and follower.seqs["AAPL"] == 21
    assert follower.books["AAPL"].snapshot().bids == source.feed.book("AAPL").bids


def test_follower_gap_in_seq_resyncs_to_the_right_book() -> None:
    source = FeedPublisher()
    follower = BookFollower(source.snapshot)
    for event in source.steps(10):
        follower.on_event(*event)
    source.steps(15)  # missed
    for event in source.steps(5):
        follower.on_event(*event)
    assert follower.resyncs == 2  # the start and the gap
    assert follower.books["AAPL"].snapshot().bids == source.feed.book("AAPL").bids
    assert follower.books["AAPL"].snapshot().asks == source.feed.book("AAPL").asks


def test_follower_recovered_book_event_then_only_newer_deltas() -> None:
    source = FeedPublisher()
    follower = BookFollower(source.snapshot)
    early = source.steps(3)
    late = source.steps(2)
    entry = source.snapshot("book.AAPL")
    assert entry is not None
    follower.on_event("book.AAPL", "book", entry["seq"], entry["body"])
    for event in (early + late)[1:]:  # no newer than the snapshot: skipped (a seq of 1
        assert follower.on_event(*event) is None  # would mean the publisher restarted)
    assert follower.stale == 4
    assert follower.books["AAPL"].snapshot().bids == source.feed.book("AAPL").bids


def test_follower_garbage_delta_is_refused_and_book_kept() -> None:
    source = FeedPublisher()
    follower = BookFollower(source.snapshot)
    for event in source.steps(3):
        follower.on_event(*event)
    before = follower.books["AAPL"].snapshot()
    with pytest.raises(BadRequest, match="side 'up'"):
        garbage = {"symbol": "AAPL", "ts": 1, "changes": [["up", 1.0, 1.0]]}
        follower.on_event("book.AAPL", "book_delta", 4, garbage)
    with pytest.raises(BadRequest, match="unknown book event type"):
        follower.on_event("book.AAPL", "weird", 4, {})
    assert follower.books["AAPL"].snapshot() == before and follower.seqs["AAPL"] == 3


def test_engine_follows_quotes_trades_and_book_and_answers_metrics() -> None:
    source = FeedPublisher()
    engine = MicroEngine(["AAPL"], source.snapshot)
    for step in range(200):
        for event in source.feed.step(step * STEP_NS):
            if isinstance(event, Quote):
                engine.on_event("quote.AAPL", "quote", step + 1, wire(event.to_body()))
            elif isinstance(event, Trade):
                engine.on_event("trade.AAPL", "trade", step + 1, wire(event.to_body()))
            else:
                source.seq += 1
                engine.on_event("book.AAPL", "book_delta", source.seq, event.to_body())
    book = engine.book("AAPL", 3)
    assert book["source"] == "book" and len(book["bids"]) == 3
    assert book["bids"][0][0] == book["best_bid"] < book["best_ask"] == book["asks"][0][0]
    metrics = engine.metrics("AAPL", 0)
    assert metrics["quotes"] == 200 and metrics["trades"] > 10
    assert metrics["vpin"] is not None and 0 <= metrics["vpin"] <= 1
    assert engine.take_changed() == ["AAPL"] and engine.take_changed() == []


def test_engine_unknown_symbol_and_bad_levels_are_clear_errors() -> None:
    engine = MicroEngine(["AAPL"], lambda topic: None)
    with pytest.raises(NotFound, match="follows no symbol 'XYZ' \\(it follows: AAPL\\)"):
        engine.metrics("XYZ", 0)
    with pytest.raises(BadRequest, match="levels must be between 1 and 1000"):
        engine.book("AAPL", 0)
    with pytest.raises(BadRequest, match="expected a number"):
        quote = {"symbol": "AAPL", "bid": "x", "ask": 1.0, "bid_size": 1.0, "ask_size": 1.0}
        engine.on_event("quote.AAPL", "quote", 1, {**quote, "ts": 1})
