"""Events: a publisher with per-topic sequence numbers and a subscriber that heals gaps.

Each event is one frame (wire v2, bifrost.bus.codec): the topic, a NUL, the envelope,
so the SUB socket's prefix filter works on the frame's start. Many events of one topic
go in one columnar batch frame, which a subscriber can take as columns (EventBatch).

Each topic is a stream with its own `seq` (+1 per event), so a subscriber that
picks topics by prefix can still tell when it missed one. The publisher keeps the
last event of every topic; its owner serves that as the `snapshot` RPC. When a
subscriber sees a gap it fetches the snapshot, delivers the current value of each
topic it follows and then skips events no newer than the snapshot (the zguide
Clone pattern). A slow subscriber is never waited for: the PUB socket's high-water
mark drops for it, and the gap is healed the same way.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import zmq

from bifrost.bus import codec
from bifrost.bus.curve import ClientCurve, ServerCurve
from bifrost.bus.schema import Optional, Schema
from bifrost.errors import BadRequest, BifrostError

_NOBLOCK = int(zmq.NOBLOCK)
"""The send/recv flag as a plain int: passing the flag enum costs more than the call."""

SNAPSHOT_ENTRY = Schema(
    "snapshot entry", {"seq": int, "ts": int, "type": str, "body": Optional(object)}
)
"""One topic of a `snapshot` reply; a malformed one is refused, never trusted."""

SnapshotFetcher = Callable[[str, str], dict[str, Any]]
"""(src, prefix) -> the publisher's `snapshot` result: {"topics": {topic: {...}}}."""


class Event(NamedTuple):
    """One delivered event: the topic plus its envelope fields."""

    topic: str
    type: str
    seq: int
    ts: int
    src: str
    cid: str
    body: Any
    recovered: bool = False
    """True when the value came from a snapshot after a gap, not from the stream."""


_new_event = tuple.__new__
"""Builds an Event from a full 8-tuple without NamedTuple's keyword handling (per event)."""


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Events of one topic as published in one frame, kept as columns (one list per field).

    `Subscriber.poll_columns` hands these over without building an object per event;
    event i has seq `seq + i`. `events()` materialises them when a caller wants objects.
    """

    topic: str
    type: str
    seq: int
    ts: int
    src: str
    cid: str
    count: int
    columns: dict[str, list[Any]]

    def events(self) -> list[Event]:
        """One Event per item, bodies rebuilt as maps."""
        names = list(self.columns)
        if names:
            rows = zip(*self.columns.values(), strict=True)
            bodies: Iterable[dict[str, Any]] = (dict(zip(names, row, strict=True)) for row in rows)
        else:
            bodies = ({} for _ in range(self.count))
        head = (self.topic, self.type)
        tail = (self.ts, self.src, self.cid)
        return [
            _new_event(Event, (*head, self.seq + i, *tail, body, False))
            for i, body in enumerate(bodies)
        ]


class Publisher:
    """One service's PUB socket: numbers events per topic and remembers the last of each."""

    def __init__(
        self,
        ctx: zmq.SyncContext,
        endpoint: str,
        src: str,
        now_ns: Callable[[], int] = time.time_ns,
        sndhwm: int = 100_000,
        curve: ServerCurve | None = None,
    ) -> None:
        self.src = src
        self._now_ns = now_ns
        self._socket = ctx.socket(zmq.PUB)
        self._socket.setsockopt(zmq.SNDHWM, sndhwm)
        self._socket.setsockopt(zmq.LINGER, 0)
        if curve is not None:  # events are encrypted and only allow-listed keys subscribe
            curve.apply(self._socket)
        try:
            self._socket.bind(endpoint)
        except zmq.ZMQError:
            self._socket.close(linger=0)
            raise
        self._encode = codec.event_encoder()
        self._streams: dict[str, list[Any]] = {}  # topic -> [seq, frame prefix]
        self._last: dict[str, tuple[int, int, str, Any]] = {}
        self.sent = 0

    @property
    def socket(self) -> zmq.SyncSocket:
        """The PUB socket (for monitoring; send only through `publish`)."""
        return self._socket

    def _stream(self, topic: str) -> list[Any]:
        stream = self._streams.get(topic)
        if stream is None:
            stream = self._streams[topic] = [0, codec.topic_prefix(topic)]
        return stream

    def publish(self, topic: str, type_: str, body: Any, cid: str = "") -> int:
        """Publish one event (one frame); returns its seq in the topic's stream."""
        stream = self._streams.get(topic) or self._stream(topic)
        seq: int = stream[0] + 1
        stream[0] = seq
        ts = self._now_ns()
        self._socket.send(self._encode(stream[1], type_, seq, ts, self.src, cid, body), _NOBLOCK)
        self._last[topic] = (seq, ts, type_, body)
        self.sent += 1
        return seq

    def publish_batch(self, topic: str, type_: str, bodies: list[Any], cid: str = "") -> int:
        """Publish many events of one topic in one columnar frame; returns the first seq.

        Every body must be a map with the same fields (ValueError otherwise).
        """
        if not bodies:
            raise ValueError("publish_batch needs at least one body")
        return self._send_batch(topic, type_, len(bodies), codec.columns_of(bodies), cid)

    def publish_columns(
        self, topic: str, type_: str, columns: Mapping[str, Sequence[Any]], cid: str = ""
    ) -> int:
        """Publish events given as columns (one sequence or numpy array per field) in one
        frame; returns the first seq. The cheapest way to send many events."""
        lists = {
            name: column.tolist() if hasattr(column, "tolist") else list(column)
            for name, column in columns.items()
        }
        counts = {len(column) for column in lists.values()}
        if len(counts) != 1 or 0 in counts:
            raise ValueError("publish_columns needs columns of one length, at least 1")
        return self._send_batch(topic, type_, counts.pop(), lists, cid)

    def _send_batch(
        self, topic: str, type_: str, count: int, columns: dict[str, list[Any]], cid: str
    ) -> int:
        stream = self._stream(topic)
        first: int = stream[0] + 1
        stream[0] += count
        ts = self._now_ns()
        body = codec.batch_body(type_, count, columns)
        self._socket.send(
            self._encode(stream[1], codec.BATCH_TYPE, first, ts, self.src, cid, body), _NOBLOCK
        )
        last_body = {name: column[-1] for name, column in columns.items()}
        self._last[topic] = (stream[0], ts, type_, last_body)
        self.sent += count
        return first

    def set_state(self, topic: str, type_: str, body: Any) -> None:
        """Serve `body` as the topic's snapshot value in place of its last event.

        For a stream of deltas (`book.<SYM>`): the snapshot must be the whole state
        those deltas add up to, at the same seq, so a subscriber that missed some can
        rebuild it. Call it right after publishing the topic's latest delta.
        """
        seq, ts, _, _ = self._last[topic]
        self._last[topic] = (seq, ts, type_, body)

    def snapshot(self, prefix: str = "") -> dict[str, Any]:
        """The last event of every topic starting with `prefix`, with its seq."""
        return {
            "src": self.src,
            "topics": {
                topic: {"seq": seq, "ts": ts, "type": type_, "body": body}
                for topic, (seq, ts, type_, body) in self._last.items()
                if topic.startswith(prefix)
            },
        }

    def close(self) -> None:
        """Close the socket; idempotent."""
        self._socket.close(linger=0)


class Subscriber:
    """SUB socket over one or more publishers; detects per-topic gaps and heals them."""

    def __init__(
        self,
        ctx: zmq.SyncContext,
        endpoints: Iterable[str],
        prefixes: Iterable[str],
        fetch_snapshot: SnapshotFetcher | None = None,
        rcvhwm: int = 100_000,
        curve: ClientCurve | None = None,
    ) -> None:
        self._socket = ctx.socket(zmq.SUB)
        self._socket.setsockopt(zmq.RCVHWM, rcvhwm)
        self._socket.setsockopt(zmq.LINGER, 0)
        if curve is not None:
            curve.apply(self._socket)
        self.prefixes = list(prefixes) or [""]
        for prefix in self.prefixes:
            self._socket.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        for endpoint in endpoints:
            self._socket.connect(endpoint)
        self._fetch_snapshot = fetch_snapshot
        self._last_seq: dict[tuple[str, str], int] = {}
        self.received = 0
        self.bad_frames = 0
        self.gaps = 0
        self.stale = 0
        self.last_error = ""

    @property
    def socket(self) -> zmq.SyncSocket:
        """The SUB socket, for registering with a poller."""
        return self._socket

    def poll(
        self, timeout_ms: int = 0, max_frames: int = 10_000, max_events: int = 50_000
    ) -> list[Event]:
        """Receive what is waiting (after at most `timeout_ms`), gaps healed, in order.

        Stops after `max_frames` frames or once `max_events` events are in hand (a batch
        frame is never split), so one call stays bounded whatever the batch size. Events
        that came in a batch frame are materialised one by one; `poll_columns` keeps them
        as columns instead.
        """
        out: list[Event] = self._receive(timeout_ms, max_frames, max_events, False)
        return out

    def poll_columns(
        self, timeout_ms: int = 0, max_frames: int = 10_000, max_events: int = 50_000
    ) -> list[Event | EventBatch]:
        """As `poll`, but a batch frame comes as one EventBatch of columns, no object per
        event (the way to read high-rate streams)."""
        out: list[Event | EventBatch] = self._receive(timeout_ms, max_frames, max_events, True)
        return out

    def _receive(
        self, timeout_ms: int, max_frames: int, max_events: int, keep_batches: bool
    ) -> list[Any]:
        out: list[Any] = []
        if not self._socket.poll(timeout_ms):
            return out
        # One frame per event (wire v2): a plain recv, no RCVMORE to ask after it. The
        # common case (one event, next in its stream) is handled inline with local names;
        # everything else (batches, gaps, first sight, bad frames) goes to `_accept`.
        recv, decode, last_seq, append = (
            self._socket.recv,
            codec.decode_event,
            self._last_seq,
            out.append,
        )
        batch_type, event_type = codec.BATCH_TYPE, Event
        taken = in_order = 0
        # Decoding builds many short-lived containers and no reference cycles: pausing
        # the cycle collector for this bounded loop saves about a sixth of the time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for _ in range(max_frames):
                try:
                    frame = recv(_NOBLOCK)
                except zmq.Again:
                    break
                try:
                    topic, env = decode(frame)
                except BadRequest as exc:
                    self._refuse(exc)
                    continue
                _, type_, seq, ts, src, cid, body = env
                key = (src, topic)
                if type_ != batch_type and last_seq.get(key, -1) == seq - 1:
                    last_seq[key] = seq
                    append(_new_event(event_type, (topic, type_, seq, ts, src, cid, body, False)))
                    in_order += 1
                    taken += 1
                else:
                    taken += self._accept(topic, env, out, keep_batches)
                if taken >= max_events:
                    break
        finally:
            if collecting:
                gc.enable()
            self.received += in_order
        return out

    def _accept(self, topic: str, env: list[Any], out: list[Any], keep_batches: bool) -> int:
        """Append what a checked frame brings that is not simply the next event of its
        stream (a batch, a gap, a first or stale event) to `out`; returns the events added."""
        _, type_, seq, ts, src, cid, body = env
        if type_ != codec.BATCH_TYPE:
            if self._first_new(topic, src, seq, 1, out) != 0:
                return 0
            out.append(_new_event(Event, (topic, type_, seq, ts, src, cid, body, False)))
            self.received += 1
            return 1
        count: int = body["n"]
        first = self._first_new(topic, src, seq, count, out)
        if first is None:
            return 0
        columns = body["columns"]
        if first:
            columns = {name: column[first:] for name, column in columns.items()}
        batch = EventBatch(topic, body["type"], seq + first, ts, src, cid, count - first, columns)
        self.received += batch.count
        if keep_batches:
            out.append(batch)
        else:
            out.extend(batch.events())
        return batch.count

    def _refuse(self, error: BadRequest) -> None:
        """Count a bad frame; the rest of a multipart (wire v1) message goes with it."""
        self.bad_frames += 1
        self.last_error = str(error)
        while self._socket.rcvmore:
            self._socket.recv(_NOBLOCK)

    def _first_new(
        self, topic: str, src: str, seq: int, count: int, out: list[Event]
    ) -> int | None:
        """Index of the first new item of a frame of `count` events from `seq`, or None.

        Tracks the stream's last seq; on a gap fetches the snapshot first (which
        appends the current values to `out`).
        """
        key = (src, topic)
        last = self._last_seq.get(key)
        end = seq + count - 1
        if last is not None and seq > last + 1 and seq != 1:
            self.gaps += 1
            last = self._recover(src, topic, seq, out)
        if last is None or (seq == 1 and last >= end):
            # First sight of the stream, or the publisher restarted its numbering.
            self._last_seq[key] = end
            return 0
        if end <= last:
            self.stale += 1
            return None
        self._last_seq[key] = end
        return max(0, last + 1 - seq)

    def _recover(self, src: str, topic: str, seq: int, out: list[Event]) -> int:
        """Fetch the snapshot after a gap and return the stream's last seq after it."""
        if self._fetch_snapshot is not None:
            try:
                for prefix in self.prefixes:
                    self._apply_snapshot(src, self._fetch_snapshot(src, prefix), out)
            except BifrostError as exc:
                # The publisher could not be asked: go on from this event rather than stall.
                self.last_error = f"snapshot from {src} failed: {exc.message}"
        return max(self._last_seq.get((src, topic), 0), seq - 1)

    def _apply_snapshot(self, src: str, snap: dict[str, Any], out: list[Event]) -> None:
        topics = snap.get("topics") if isinstance(snap, dict) else None
        if not isinstance(topics, dict):
            raise BadRequest("snapshot reply has no 'topics' map")
        for topic, entry in topics.items():
            SNAPSHOT_ENTRY.check(entry, f"snapshot entry {topic}")
            seq = entry["seq"]
            if seq <= self._last_seq.get((src, topic), 0):
                continue
            self._last_seq[(src, topic)] = seq
            out.append(Event(topic, entry["type"], seq, entry["ts"], src, "", entry["body"], True))

    def close(self) -> None:
        """Close the socket; idempotent."""
        self._socket.close(linger=0)

