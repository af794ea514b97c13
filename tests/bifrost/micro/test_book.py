"""Tests of bifrost/micro/book.py: the numba L2 book (apply, remove, depth, snapshot/restore)."""

from __future__ import annotations

import numpy as np
import pytest

from bifrost.errors import BadRequest
from bifrost.micro.book import ASK, BID, OrderBook
from bifrost.model.market import BookDelta, BookSide, BookSnapshot


def book_of(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> OrderBook:
    book = OrderBook("AAPL")
    for price, size in bids:
        book.apply("bid", price, size)
    for price, size in asks:
        book.apply("ask", price, size)
    return book


def test_book_levels_sort_best_first_whatever_the_order_they_came_in() -> None:
    book = book_of([(99.98, 3), (100.00, 1), (99.99, 2)], [(100.03, 5), (100.02, 4)])
    assert book.depth(5) == ([(100.0, 1.0), (99.99, 2.0), (99.98, 3.0)],
                             [(100.02, 4.0), (100.03, 5.0)])  # fmt: skip
    assert book.best_bid() == (100.0, 1.0)
    assert book.best_ask() == (100.02, 4.0)
    assert book.level_counts() == (3, 2)


def test_book_size_change_updates_level_in_place() -> None:
    book = book_of([(100.0, 1)], [(100.01, 1)])
    book.apply(BookSide.BID, 100.0, 7)
    assert book.best_bid() == (100.0, 7.0)
    assert book.level_counts() == (1, 1)


def test_book_size_zero_removes_level_and_next_becomes_best() -> None:
    book = book_of([(100.0, 1), (99.97, 2)], [(100.01, 1), (100.05, 3)])
    book.apply("bid", 100.0, 0)
    book.apply("ask", 100.01, 0)
    assert book.best_bid() == (99.97, 2.0)
    assert book.best_ask() == (100.05, 3.0)
    book.apply("bid", 99.97, 0)
    assert book.best_bid() is None
    assert book.level_counts() == (0, 1)


def test_book_removing_absent_level_changes_nothing() -> None:
    book = book_of([(100.0, 1)], [])
    book.apply("bid", 99.0, 0)
    assert book.depth(10) == ([(100.0, 1.0)], [])


def test_book_depth_returns_at_most_n_levels() -> None:
    book = book_of([(100 - i / 100, i + 1) for i in range(8)], [])
    assert [p for p, _ in book.levels(BID, 3)] == [100.0, 99.99, 99.98]
    assert book.levels(ASK, 3) == []


def test_book_prices_from_float_arithmetic_land_on_one_level() -> None:
    book = OrderBook("AAPL")
    book.apply("bid", 0.1 + 0.2, 1)  # 0.30000000000000004
    book.apply("bid", 0.3, 2)
    assert book.depth(5)[0] == [(0.3, 2.0)]


def test_book_snapshot_restore_round_trip() -> None:
    book = book_of([(100.0, 1), (99.99, 2)], [(100.02, 4)])
    book.ts = 42
    snapshot = book.snapshot()
    assert snapshot == BookSnapshot("AAPL", ((100.0, 1.0), (99.99, 2.0)), ((100.02, 4.0),), 42)
    other = book_of([(50.0, 9)], [(51.0, 9)])
    other.restore(snapshot)
    assert other.snapshot() == snapshot
    assert BookSnapshot.from_body(snapshot.to_body()) == snapshot


def test_book_apply_delta_applies_changes_in_order_and_takes_its_time() -> None:
    book = book_of([(100.0, 1)], [(100.01, 1)])
    delta = BookDelta(
        "AAPL", ((BookSide.ASK, 100.01, 0.0), (BookSide.BID, 100.01, 5.0)), ts=7
    )
    book.apply_delta(delta)
    assert book.depth(2) == ([(100.01, 5.0), (100.0, 1.0)], [])
    assert book.ts == 7


def test_book_price_far_outside_window_moves_it_and_keeps_the_touch() -> None:
    book = OrderBook("BTC-USD", tick=0.01, capacity=1000)
    book.apply("bid", 100.0, 1)
    book.apply("ask", 100.01, 1)
    book.apply("bid", 104.0, 2)  # 400 ticks up: inside; 120.0 is far outside
    book.apply("bid", 120.0, 3)
    assert book.best_bid() == (120.0, 3.0)
    assert book.dropped == 3  # the levels 100.00, 100.01 and 104.00 left the window
    book.apply("bid", 50.0, 1)  # far below the best bid: dropped, book unchanged
    assert book.depth(5) == ([(120.0, 3.0)], [])
    assert book.dropped == 4


def test_book_apply_arrays_matches_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    sides = rng.integers(0, 2, 2000)
    prices = np.round(100 + np.where(sides == 0, -1, 1) * rng.integers(1, 40, 2000) / 100, 2)
    sizes = rng.integers(0, 3, 2000).astype(float)  # a third are removals
    batch = OrderBook("AAPL")
    batch.apply_arrays(sides, prices, sizes)
    single = OrderBook("AAPL")
    for side, price, size in zip(sides, prices, sizes, strict=True):
        single.apply("bid" if side == 0 else "ask", float(price), float(size))
    assert batch.snapshot() == single.snapshot()
    expected_bids = {}
    for side, price, size in zip(sides, prices, sizes, strict=True):
        if side == 0:
            expected_bids[float(price)] = size
    kept = sorted(((p, s) for p, s in expected_bids.items() if s), reverse=True)
    assert batch.levels(BID) == kept


@pytest.mark.parametrize(
    ("side", "price", "size"),
    [("middle", 100.0, 1.0), ("bid", -1.0, 1.0), ("bid", float("nan"), 1.0), ("ask", 1.0, -2.0)],
)
def test_book_bad_level_is_refused_and_book_unchanged(side: str, price: float, size: float) -> None:
    book = book_of([(100.0, 1)], [])
    with pytest.raises(BadRequest):
        book.apply(side, price, size)
    assert book.depth(5) == ([(100.0, 1.0)], [])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"symbol": "A", "ts": 1, "changes": [["bid", 1.0]]}, "expected [side, price, size]"),
        ({"symbol": "A", "ts": 1, "changes": [["top", 1.0, 1.0]]}, "side 'top'"),
        ({"symbol": "A", "ts": 1, "changes": [["ask", "x", 1.0]]}, "expected a finite number"),
        ({"symbol": "A", "ts": 1, "changes": [["ask", 1.0, -1]]}, "must be >= 0"),
        ({"symbol": "A", "changes": []}, "missing field 'ts'"),
        ("garbage", "expected a map"),
    ],
)
def test_book_delta_from_garbage_body_names_the_problem(body: object, problem: str) -> None:
    with pytest.raises(BadRequest) as failure:
        BookDelta.from_body(body)
    assert problem in failure.value.message
