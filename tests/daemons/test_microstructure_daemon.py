"""The microstructure daemon against a real data daemon: books, metrics, gaps, bad input."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from bifrost.bus import topics
from bifrost.client import BifrostClient
from bifrost.clock import SimulatedClock
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import BadRequest, NotFound
from bifrost.micro.follower import BookFollower, snapshot_entry
from daemons.data import DataDaemon
from daemons.microstructure import MicrostructureDaemon
from tests.bifrost.conftest import DaemonThread
from tests.book_feed import BOOK_LEVELS, write_book_config
from tests.conftest import wait_for


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    return load_config(write_book_config(tmp_path))


@pytest.fixture
def stack(config: BifrostConfig, home: Path) -> Iterator[tuple[DataDaemon, MicrostructureDaemon]]:
    """Data then microstructure serving from threads; stopped in reverse, even on failure."""
    started: list[DaemonThread] = []
    try:
        for name in ("data", "microstructure"):
            thread = DaemonThread(config, home, name)
            thread.start()
            started.append(thread)
        data, micro = (t.daemon for t in started)
        assert isinstance(data, DataDaemon) and isinstance(micro, MicrostructureDaemon)
        yield data, micro
    finally:
        for thread in reversed(started):
            thread.stop()


@pytest.fixture
def client(config: BifrostConfig) -> Iterator[BifrostClient]:
    with BifrostClient(config, timeout_ms=5000) as bus:
        yield bus


def test_daemon_health_book_and_published_metrics(stack, client: BifrostClient) -> None:
    health = client.call("microstructure", "health")
    assert health["state"] == "ready"
    assert health["details"]["symbols"] == ["AAPL", "MSFT", "BTC-USD"]
    subscriber = client.subscribe("microstructure", [topics.micro("AAPL")])
    try:
        events = wait_for(lambda: subscriber.poll(200), timeout=10)
    finally:
        subscriber.close()
    body = events[0].body
    assert events[0].topic == "micro.AAPL" and body["symbol"] == "AAPL"
    assert body["source"] == "live" and body["book"] == "book"
    assert body["spread"] > 0 and body["bid_depth"] > 0 and body["quotes"] > 0
    book = client.call("microstructure", "micro.book", {"symbol": "AAPL", "levels": 3})
    assert len(book["bids"]) == len(book["asks"]) == 3
    assert book["best_bid"] < book["best_ask"]
    assert [p for p, _ in book["bids"]] == sorted((p for p, _ in book["bids"]), reverse=True)
    full = client.call("microstructure", "micro.book", {"symbol": "AAPL"})
    assert len(full["bids"]) == BOOK_LEVELS


def test_metrics_are_published_at_most_once_a_second_and_stored(
    stack, client: BifrostClient
) -> None:
    subscriber = client.subscribe("microstructure", [topics.micro("MSFT")])
    try:
        subscriber.poll(100)
        time.sleep(2.5)
        received = subscriber.poll(100)
    finally:
        subscriber.close()
    assert 1 <= len(received) <= 3
    rows = client.call("microstructure", "micro.history", {"symbol": "MSFT", "limit": 5})["rows"]
    assert rows and rows[-1]["symbol"] == "MSFT" and rows[-1]["trades"] >= 0


def test_unknown_symbol_is_not_found_naming_the_followed_ones(stack, client) -> None:
    with pytest.raises(NotFound, match="follows no symbol 'NOPE' \\(it follows: AAPL, MSFT"):
        client.call("microstructure", "micro.metrics", {"symbol": "NOPE"})
    with pytest.raises(BadRequest, match="levels must be between 1 and 1000"):
        client.call("microstructure", "micro.book", {"symbol": "AAPL", "levels": 5000})
    with pytest.raises(BadRequest, match="symbol"):
        client.call("microstructure", "micro.book", {"symbol": 7})


def test_garbage_events_are_dropped_counted_and_the_book_heals(stack, client) -> None:
    data, _ = stack
    wait_for(lambda: client.call("microstructure", "micro.book", {"symbol": "AAPL"})["seq"])
    assert data.publisher is not None
    publish = data.publisher.publish
    garbage = {"symbol": "AAPL", "ts": 1, "changes": [["sideways", -3.0, "lots"]]}
    data.hand_over(lambda: publish(topics.book("AAPL"), "book_delta", garbage))
    data.hand_over(lambda: publish(topics.quote("AAPL"), "quote", {"symbol": "AAPL"}))
    data.hand_over(lambda: publish(topics.book("AAPL"), "mystery", [1, 2, 3]))
    details = wait_for(
        lambda: (d := client.call("microstructure", "health")["details"])["bad_events"] >= 3 and d
    )
    assert details["bad_events"] == 3
    book = wait_for(lambda: (b := client.call("microstructure", "micro.book",
                                              {"symbol": "AAPL"}))["seq"] > 0 and b)  # fmt: skip
    assert len(book["bids"]) == BOOK_LEVELS and book["best_bid"] < book["best_ask"]
    assert client.call("microstructure", "micro.metrics", {"symbol": "AAPL"})["spread"] > 0


def test_book_gap_heals_from_the_data_snapshot_to_the_right_book(
    config: BifrostConfig, home: Path
) -> None:
    clock = SimulatedClock(1_700_000_000 * 1_000_000_000)
    data = DataDaemon(config, "data", home, clock=clock)
    step = data_step_ns(config)
    thread = threading.Thread(target=data.serve_forever, daemon=True)
    client = BifrostClient(config, timeout_ms=5000)
    subscriber = None
    try:
        data.start()
        thread.start()
        topic = topics.book("AAPL")
        subscriber = client.subscribe("data", [topic])

        def fetch(name: str) -> dict | None:
            return snapshot_entry(client.call("data", "snapshot", {"prefix": name}), name)

        follower = BookFollower(fetch)
        recovered = []

        def run(steps: int) -> None:
            for _ in range(steps):
                clock.advance_by(step)
                time.sleep(0.02)  # the loop's timer publishes the step
                for event in subscriber.poll(0):
                    if event.recovered:
                        recovered.append(event)
                    follower.on_event(event.topic, event.type, event.seq, event.body)

        wait_for(lambda: run(1) or follower.seqs.get("AAPL", 0) >= 5, timeout=10)
        subscriber.socket.setsockopt(zmq.UNSUBSCRIBE, topic.encode())
        time.sleep(0.2)  # the publisher stops sending it: what follows is lost
        before = follower.seqs["AAPL"]
        run(20)
        subscriber.socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
        time.sleep(0.2)
        wait_for(lambda: run(1) or recovered, timeout=10)
        run(3)
        latest = wait_for(lambda: (e := fetch(topic)) and e["seq"] == follower.seqs["AAPL"] and e)
    finally:
        if subscriber is not None:
            subscriber.close()
        client.close()
        data.request_stop()
        if thread.is_alive():
            thread.join(timeout=10)
        data.stop()
    assert subscriber.gaps == 1 and follower.resyncs == 1  # healed by the Subscriber
    assert recovered[0].type == "book" and recovered[0].seq > before + 20
    book = follower.books["AAPL"].snapshot()
    assert [list(level) for level in book.bids] == latest["body"]["bids"]
    assert [list(level) for level in book.asks] == latest["body"]["asks"]
    assert len(book.bids) == len(book.asks) == BOOK_LEVELS


def data_step_ns(config: BifrostConfig) -> int:
    """One step of the synthetic feed, in ns."""
    return int(1e9 / config.feed.quotes_per_second)
