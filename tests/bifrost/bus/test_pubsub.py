"""Tests of bifrost/bus/pubsub.py: per-topic seq, snapshots, and gap healing (Clone pattern).

The sockets are real ZeroMQ sockets on `inproc://` endpoints, which drop on the
high-water mark deterministically (no kernel buffers in between), so a real gap
can be forced by publishing past a tiny HWM without reading.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import zmq

from bifrost.bus import codec
from bifrost.bus.pubsub import Event, EventBatch, Publisher, Subscriber
from bifrost.errors import Unavailable

_endpoints = itertools.count()


def endpoint() -> str:
    return f"inproc://pubsub-test-{next(_endpoints)}"


class FakeTime:
    """An injected clock for the publisher: 1000, 2000, 3000 ... ns."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        self.now += 1000
        return self.now


def until_connected(send: Callable[[], Any], sub: Subscriber, tries: int = 300) -> list[Event]:
    """Send warm-up events until the subscription reaches the publisher (slow joiner)."""
    for _ in range(tries):
        send()
        events = sub.poll(10)
        if events:
            return events
    raise AssertionError("subscription never reached the publisher")


def pause() -> None:
    """Let the publisher's socket see the reader's progress (libzmq batches commands ~1 ms)."""
    time.sleep(0.01)


@pytest.fixture
def pub_address() -> str:
    """The endpoint the `pub` fixture binds."""
    return endpoint()


@pytest.fixture
def pub(zmq_ctx: zmq.Context, pub_address: str) -> Iterator[Publisher]:
    publisher = Publisher(zmq_ctx, pub_address, "data@local", now_ns=FakeTime())
    yield publisher
    publisher.close()


@pytest.fixture
def raw_pub(zmq_ctx: zmq.Context) -> Iterator[tuple[zmq.Socket, str]]:
    """A bare PUB socket, for frames a real Publisher would never send."""
    address = endpoint()
    socket = zmq_ctx.socket(zmq.PUB)
    socket.setsockopt(zmq.LINGER, 0)
    socket.bind(address)
    yield socket, address
    socket.close(linger=0)


def send_envelope(
    socket: zmq.Socket,
    topic: str,
    seq: int,
    body: Any = None,
    *,
    type_: str = "quote",
    src: str = "data@local",
) -> None:
    socket.send(codec.encode_event(topic, type_, seq, seq * 10, src, "", body or {"n": seq}))


def connect_raw(raw_pub: tuple[zmq.Socket, str], sub: Subscriber, kind: str = "quote") -> None:
    """Warm up on a stream of its own so the streams under test start clean."""
    socket, _ = raw_pub
    until_connected(lambda: send_envelope(socket, f"{kind}.WARMUP", 1, src="warmup@x"), sub)


def test_publisher_seq_counts_per_topic(pub: Publisher) -> None:
    seqs = [pub.publish(t, "quote", {}) for t in ("quote.A", "quote.A", "quote.B", "quote.A")]
    assert seqs == [1, 2, 1, 3]
    assert pub.sent == 4


def test_publisher_batch_returns_first_seq_and_advances_stream(pub: Publisher) -> None:
    pub.publish("quote.A", "quote", {"n": 0})
    assert pub.publish_batch("quote.A", "quote", [{"n": 1}, {"n": 2}, {"n": 3}]) == 2
    assert pub.publish("quote.A", "quote", {"n": 4}) == 5
    assert pub.sent == 5


def test_publisher_batch_empty_is_value_error(pub: Publisher) -> None:
    with pytest.raises(ValueError, match="at least one body"):
        pub.publish_batch("quote.A", "quote", [])


def test_publisher_snapshot_holds_last_event_per_topic(pub: Publisher) -> None:
    pub.publish("quote.A", "quote", {"n": 1})
    pub.publish("quote.A", "quote", {"n": 2})
    pub.publish_batch("trade.A", "trade", [{"n": 3}, {"n": 4}])
    snap = pub.snapshot()
    assert snap["src"] == "data@local"
    assert snap["topics"]["quote.A"] == {"seq": 2, "ts": 2000, "type": "quote", "body": {"n": 2}}
    assert snap["topics"]["trade.A"] == {"seq": 2, "ts": 3000, "type": "trade", "body": {"n": 4}}


def test_publisher_snapshot_prefix_filters_topics(pub: Publisher) -> None:
    for topic in ("quote.A", "quote.B", "trade.A"):
        pub.publish(topic, "x", {})
    assert sorted(pub.snapshot("quote.")["topics"]) == ["quote.A", "quote.B"]
    assert list(pub.snapshot("trade.A")["topics"]) == ["trade.A"]


def test_publisher_snapshot_is_plain_data_the_codec_accepts(pub: Publisher) -> None:
    pub.publish("quote.A", "quote", {"bid": 1.0})
    [frame] = codec.encode_ok(1, pub.snapshot())
    assert codec.decode_reply(frame)["result"] == pub.snapshot()


def test_subscriber_receives_events_in_order_with_envelope_fields(
    zmq_ctx: zmq.Context, pub: Publisher, pub_address: str
) -> None:
    sub = Subscriber(zmq_ctx, [pub_address], ["quote."])
    first = until_connected(lambda: pub.publish("quote.A", "quote", {"n": 0}, cid="c0"), sub)[0]
    for n in range(1, 4):
        pub.publish("quote.A", "quote", {"n": n}, cid=f"c{n}")
    events = sub.poll(100)
    assert [e.seq for e in events] == [first.seq + 1, first.seq + 2, first.seq + 3]
    assert [e.body for e in events] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert events[0] == Event(
        "quote.A", "quote", first.seq + 1, events[0].ts, "data@local", "c1", {"n": 1}, False
    )
    assert events[0].ts < events[1].ts
    assert sub.gaps == 0
    sub.close()


def test_subscriber_prefix_filters_other_topics(
    zmq_ctx: zmq.Context, pub: Publisher, pub_address: str
) -> None:
    sub = Subscriber(zmq_ctx, [pub_address], ["quote.AAPL"])
    until_connected(lambda: pub.publish("quote.AAPL", "quote", {}), sub)
    pub.publish("quote.MSFT", "quote", {})
    pub.publish("trade.AAPL", "trade", {})
    pub.publish("quote.AAPL", "quote", {"last": True})
    events = sub.poll(100)
    assert [(e.topic, e.body) for e in events] == [("quote.AAPL", {"last": True})]
    sub.close()


def test_subscriber_batch_envelope_becomes_consecutive_events(
    zmq_ctx: zmq.Context, pub: Publisher, pub_address: str
) -> None:
    sub = Subscriber(zmq_ctx, [pub_address], ["bar."])
    first = until_connected(lambda: pub.publish("bar.1m.A", "bar", {"n": 0}), sub)[0]
    pub.publish_batch("bar.1m.A", "bar", [{"n": 1}, {"n": 2}, {"n": 3}])
    events = sub.poll(100)
    assert [(e.type, e.seq, e.body) for e in events] == [
        ("bar", first.seq + 1, {"n": 1}),
        ("bar", first.seq + 2, {"n": 2}),
        ("bar", first.seq + 3, {"n": 3}),
    ]
    assert sub.received == 4
    sub.close()


def test_subscriber_hwm_gap_recovers_from_snapshot_and_skips_stale(zmq_ctx: zmq.Context) -> None:
    pub = Publisher(zmq_ctx, address := endpoint(), "data@local", sndhwm=1)
    fetched: list[tuple[str, str]] = []

    def fetch_snapshot(src: str, prefix: str) -> dict[str, Any]:
        fetched.append((src, prefix))
        return pub.snapshot(prefix)

    sub = Subscriber(zmq_ctx, [address], ["quote."], fetch_snapshot, rcvhwm=1)
    start = until_connected(lambda: pub.publish("quote.A", "quote", {"n": -1}), sub)[-1].seq
    pause()
    for n in range(20):  # far past the tiny HWM while nobody reads: most are dropped
        pub.publish("quote.A", "quote", {"n": n})
    before_gap = sub.poll(50)
    assert 0 < len(before_gap) < 20
    assert [e.seq for e in before_gap] == list(range(start + 1, start + 1 + len(before_gap)))
    pause()
    for n in range(20, 30):  # the first ones queue (they reveal the gap), the rest drop
        pub.publish("quote.A", "quote", {"n": n})
    latest = pub.snapshot()["topics"]["quote.A"]
    healed = sub.poll(50)
    assert sub.gaps == 1
    assert fetched == [("data@local", "quote.")]
    assert healed == [
        Event("quote.A", "quote", latest["seq"], latest["ts"], "data@local", "", {"n": 29}, True)
    ]
    assert sub.stale >= 1  # queued events no newer than the snapshot were skipped
    pause()
    pub.publish("quote.A", "quote", {"n": 30})
    after = sub.poll(100)
    assert [(e.seq, e.recovered) for e in after] == [(latest["seq"] + 1, False)]
    assert sub.gaps == 1
    sub.close()
    pub.close()


def test_subscriber_gap_without_fetcher_counts_and_goes_on(
    zmq_ctx: zmq.Context, raw_pub: tuple[zmq.Socket, str]
) -> None:
    socket, address = raw_pub
    sub = Subscriber(zmq_ctx, [address], ["quote."])
    connect_raw(raw_pub, sub)
    for seq in (1, 2, 5, 6):
        send_envelope(socket, "quote.A", seq)
    assert [e.seq for e in sub.poll(100)] == [1, 2, 5, 6]
    assert sub.gaps == 1
    sub.close()


def test_subscriber_gap_snapshot_failure_records_error_and_goes_on(
    zmq_ctx: zmq.Context, raw_pub: tuple[zmq.Socket, str]
) -> None:
    def fetch_snapshot(src: str, prefix: str) -> dict[str, Any]:
        raise Unavailable("data is down")

    socket, address = raw_pub
    sub = Subscriber(zmq_ctx, [address], ["quote."], fetch_snapshot)
    connect_raw(raw_pub, sub)
    for seq in (1, 4):
        send_envelope(socket, "quote.A", seq)
    assert [(e.seq, e.recovered) for e in sub.poll(100)] == [(1, False), (4, False)]
    assert sub.gaps == 1
    assert sub.last_error == "snapshot from data@local failed: data is down"
    sub.close()


def test_subscriber_gap_in_batch_delivers_only_items_newer_than_snapshot(
    zmq_ctx: zmq.Context, raw_pub: tuple[zmq.Socket, str]
) -> None:
    snapshot = {
        "src": "data@local",
        "topics": {
            "bar.1m.A": {"seq": 6, "ts": 60, "type": "bar", "body": {"n": 6}},
            "bar.1m.B": {"seq": 3, "ts": 30, "type": "bar", "body": {"n": 3}},
        },
    }
    socket, address = raw_pub
    sub = Subscriber(zmq_ctx, [address], ["bar."], lambda src, prefix: snapshot)
    connect_raw(raw_pub, sub, "bar")
    send_envelope(socket, "bar.1m.A", 1, type_="bar")
    body = codec.batch_body("bar", 4, {"n": [5, 6, 7, 8]})  # seqs 5..8 after 1: a gap
    socket.send(codec.encode_event("bar.1m.A", codec.BATCH_TYPE, 5, 50, "data@local", "", body))
    events = sub.poll(100)
    assert [(e.topic, e.seq, e.recovered) for e in events] == [
        ("bar.1m.A", 1, False),
        ("bar.1m.A", 6, True),
        ("bar.1m.B", 3, True),
        ("bar.1m.A", 7, False),
        ("bar.1m.A", 8, False),
    ]
    assert [e.body for e in events[-2:]] == [{"n": 7}, {"n": 8}]
    sub.close()


def test_subscriber_events_older_than_snapshot_are_stale(
    zmq_ctx: zmq.Context, raw_pub: tuple[zmq.Socket, str]
) -> None:
    snapshot = {"topics": {"quote.A": {"seq": 9, "ts": 90, "type": "quote", "body": {"n": 9}}}}
    socket, address = raw_pub
    sub = Subscriber(zmq_ctx, [address], ["quote."], lambda src, prefix: snapshot)
    connect_raw(raw_pub, sub)
    for seq in (1, 3, 4, 9, 10):
        send_envelope(socket, "quote.A", seq)
    events = sub.poll(100)
    assert [(e.seq, e.recovered) for e in events] == [(1, False), (9, True), (10, False)]
    assert sub.stale == 3
    assert sub.gaps == 1
    sub.close()


def test_subscriber_publisher_restart_at_seq_one_is_not_a_gap(
    zmq_ctx: zmq.Context, raw_pub: tuple[zmq.Socket, str]
) -> None:
    socket, address = raw_pub
    sub = Subscriber(zmq_ctx, [address], ["quote."])
    connect_raw(raw_pub, sub)
    for seq in (1, 2, 3, 1, 2):
        send_envelope(socket, "quote.A", seq)
    assert [e.seq for e in sub.poll(100)] == [1, 2, 3, 1, 2]
    assert sub.gaps == 0
    sub.close()


def test_subscriber_streams_of_different_sources_are_separate(
    zmq_ctx: zmq.Context, raw_pub: tuple[zmq.Socket, str]
) -> None:
    socket, address = raw_pub
    sub = Subscriber(zmq_ctx, [address], ["quote."])
    connect_raw(raw_pub, sub)
    send_envelope(socket, "quote.A", 1, src="data@a")
    send_envelope(socket, "quote.A", 7, src="data@b")
    send_envelope(socket, "quote.A", 2, src="data@a")
    assert [(e.src, e.seq) for e in sub.poll(100)] == [("data@a", 1), ("data@b", 7), ("data@a", 2)]
    assert sub.gaps == 0
    sub.close()


def test_subscriber_bad_frames_are_counted_not_raised(
    zmq_ctx: zmq.Context, raw_pub: tuple[zmq.Socket, str]
) -> None:
    socket, address = raw_pub
    sub = Subscriber(zmq_ctx, [address], ["quote."])
    connect_raw(raw_pub, sub)
    envelope = codec.encode_envelope("quote", 1, 1, "data@local", "", {"n": 1})
    bad = [
        [b"quote.A"],  # no topic end
        [b"quote.A", envelope],  # a wire v1 event (two frames): one bad frame
        [b"quote.\xff\x00" + envelope],  # topic is not UTF-8
        [b"quote.A\x00\xc1not msgpack"],
        [b"quote.A\x00" + codec.pack([2, "quote", 1])],  # short envelope
        [b"quote.A\x00" + codec.pack([2, "quote", 1, 1, "s", "", {"t": 1}]) + b"\x00"],
        [b"quote.A\x00" + codec.encode_envelope(codec.BATCH_TYPE, 1, 1, "s", "", {"items": []})],
    ]
    for frames in bad:
        socket.send_multipart(frames)
    socket.send(b"quote.A\x00" + envelope)
    events = sub.poll(100)
    assert [(e.topic, e.body) for e in events] == [("quote.A", {"n": 1})]
    assert sub.bad_frames == len(bad)
    assert "batch: expected a map {type, n, columns}" in sub.last_error
    sub.close()


def test_subscriber_close_is_idempotent(zmq_ctx: zmq.Context) -> None:
    sub = Subscriber(zmq_ctx, [endpoint()], [])
    assert sub.prefixes == [""]
    sub.close()
    sub.close()
    assert sub.socket.closed


def test_subscriber_poll_columns_keeps_a_batch_as_columns(
    zmq_ctx: zmq.Context, pub: Publisher, pub_address: str
) -> None:
    sub = Subscriber(zmq_ctx, [pub_address], ["quote."])
    first = until_connected(lambda: pub.publish("quote.A", "quote", {"bid": 0.0}), sub)[0]
    pub.publish_columns("quote.A", "quote", {"bid": np.array([1.0, 2.0]), "sym": ["A", "A"]})
    [batch] = sub.poll_columns(100)
    assert isinstance(batch, EventBatch)
    assert (batch.topic, batch.type, batch.count) == ("quote.A", "quote", 2)
    assert batch.seq == first.seq + 1
    assert batch.columns == {"bid": [1.0, 2.0], "sym": ["A", "A"]}
    assert [(e.seq, e.body) for e in batch.events()] == [
        (first.seq + 1, {"bid": 1.0, "sym": "A"}),
        (first.seq + 2, {"bid": 2.0, "sym": "A"}),
    ]
    assert sub.received == 3
    sub.close()


def test_subscriber_poll_columns_gives_single_events_as_events(
    zmq_ctx: zmq.Context, pub: Publisher, pub_address: str
) -> None:
    sub = Subscriber(zmq_ctx, [pub_address], ["quote."])
    until_connected(lambda: pub.publish("quote.A", "quote", {}), sub)
    pub.publish("quote.A", "quote", {"n": 1})
    [event] = sub.poll_columns(100)
    assert isinstance(event, Event) and event.body == {"n": 1}
    sub.close()


def test_publisher_batch_of_bodies_with_other_fields_is_value_error(pub: Publisher) -> None:
    with pytest.raises(ValueError, match="needs the fields"):
        pub.publish_batch("quote.A", "quote", [{"n": 1}, {"m": 2}])


def test_publisher_columns_of_unequal_length_are_value_error(pub: Publisher) -> None:
    with pytest.raises(ValueError, match="one length"):
        pub.publish_columns("quote.A", "quote", {"a": [1, 2], "b": [1]})


def test_publisher_columns_snapshot_holds_the_last_row(pub: Publisher) -> None:
    pub.publish_columns("quote.A", "quote", {"bid": [1.0, 2.0], "ask": [3.0, 4.0]})
    assert pub.snapshot()["topics"]["quote.A"]["body"] == {"bid": 2.0, "ask": 4.0}
    assert pub.snapshot()["topics"]["quote.A"]["seq"] == 2


def test_subscriber_wire_v1_event_is_refused_naming_the_version(
    zmq_ctx: zmq.Context, raw_pub: tuple[zmq.Socket, str]
) -> None:
    socket, address = raw_pub
    sub = Subscriber(zmq_ctx, [address], ["quote."])
    connect_raw(raw_pub, sub)
    v1 = codec.pack([1, "quote", 1, 1, "data@local", "", {"n": 1}])
    socket.send_multipart([b"quote.A", v1])  # how a v1 publisher sends
    socket.send(b"quote.B\x00" + v1)  # a v1 envelope in a v2 frame
    assert sub.poll(100) == []
    assert sub.bad_frames == 2
    assert "protocol version 1 is not 2" in sub.last_error
    sub.close()
