"""Tests of bifrost/bus/poller.py: one wait over several subscribers, decoded events back.

Real ZeroMQ sockets on `inproc://` endpoints, one publisher per service.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
import zmq

from bifrost.bus.poller import EventPoller
from bifrost.bus.pubsub import Event, Publisher, Subscriber

_endpoints = itertools.count()


@pytest.fixture
def two_services(zmq_ctx: zmq.Context) -> Iterator[tuple[Publisher, Publisher, EventPoller]]:
    """A data and a news publisher and one poller over a subscriber to each."""
    endpoints = [f"inproc://poller-test-{next(_endpoints)}" for _ in range(2)]
    data = Publisher(zmq_ctx, endpoints[0], "data@local")
    news = Publisher(zmq_ctx, endpoints[1], "news@local")
    poller = EventPoller(
        [Subscriber(zmq_ctx, [endpoints[0]], ["quote."]), Subscriber(zmq_ctx, [endpoints[1]], [""])]
    )
    try:
        yield data, news, poller
    finally:
        poller.close()
        data.close()
        news.close()


def connected(publisher: Publisher, topic: str, poller: EventPoller) -> None:
    """Publish warm-up events until one comes through (the slow joiner of PUB/SUB)."""
    for _ in range(300):
        publisher.publish(topic, "warmup", {})
        if poller.poll(10):
            return
    raise AssertionError("the subscription never reached the publisher")


def test_poller_gives_back_the_events_of_every_subscriber(two_services) -> None:
    data, news, poller = two_services
    connected(data, "quote.WARMUP", poller)
    connected(news, "news.WARMUP", poller)
    while poller.poll(20):
        pass  # warm-up events still in flight
    data.publish("quote.AAPL", "quote", {"bid": 1.0})
    data.publish("trade.AAPL", "trade", {"price": 1.0})  # not subscribed: never delivered
    news.publish("news.AAPL", "news", {"title": "up"})
    seen: list[Event] = []
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        seen += poller.poll(100)
    assert sorted((e.topic, e.src, e.body) for e in seen) == [
        ("news.AAPL", "news@local", {"title": "up"}),
        ("quote.AAPL", "data@local", {"bid": 1.0}),
    ]
    assert poller.poll(50) == []


def test_poller_without_subscribers_waits_out_its_timeout() -> None:
    poller = EventPoller([])
    started = time.monotonic()
    assert poller.poll(50) == []
    assert time.monotonic() - started >= 0.045


def test_poller_close_closes_its_subscribers(zmq_ctx: zmq.Context) -> None:
    subscriber = Subscriber(zmq_ctx, [f"inproc://poller-test-{next(_endpoints)}"], [""])
    with EventPoller([subscriber]) as poller:
        assert poller.poll(10) == []
    assert subscriber.socket.closed
