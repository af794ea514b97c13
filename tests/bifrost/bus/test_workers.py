"""The work broker and its workers: LRU hand-out, heartbeats, re-queues, garbage, reconnects."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq

from bifrost.bus import codec
from bifrost.bus.worker_loop import worker_loop
from bifrost.bus.workers import WorkBroker
from bifrost.errors import BadRequest, Unavailable
from bifrost.local_config import free_ports

HEARTBEAT = 0.2


class Outcomes:
    """What the broker reported for each job."""

    def __init__(self) -> None:
        self.done: dict[str, tuple[bool, Any]] = {}

    def __call__(self, job_id: str, ok: bool, outcome: Any) -> None:
        self.done[job_id] = (ok, outcome)


def serve(broker: WorkBroker, until: Callable[[], bool], timeout: float = 5.0) -> None:
    """Drive the broker on this thread (its owner's loop) until `until()` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "condition not met in time"
        if broker.socket.poll(10):
            broker.poll_pending()
        broker.tick()


class ThreadWorker:
    """`worker_loop` on a thread, stopped by `stop()`."""

    def __init__(self, endpoint: str, handle: Callable[[dict[str, Any]], Any]) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=worker_loop,
            args=(endpoint, handle),
            kwargs={"heartbeat_s": HEARTBEAT, "should_stop": self._stop.is_set},
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def endpoint() -> str:
    return f"tcp://127.0.0.1:{free_ports(1)[0]}"


@pytest.fixture
def broker(zmq_ctx: zmq.Context, endpoint: str) -> Iterator[WorkBroker]:
    work = WorkBroker(zmq_ctx, endpoint, heartbeat_s=HEARTBEAT, max_attempts=2)
    try:
        yield work
    finally:
        work.close()


@pytest.fixture
def start_worker(endpoint: str) -> Iterator[Callable[..., ThreadWorker]]:
    started: list[ThreadWorker] = []

    def start(handle: Callable[[dict[str, Any]], Any]) -> ThreadWorker:
        worker = ThreadWorker(endpoint, handle)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def fake_worker(ctx: zmq.Context, endpoint: str, name: bytes) -> zmq.Socket:
    """A DEALER that says ready and then never answers or heartbeats (a hung worker)."""
    socket = ctx.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.IDENTITY, name)
    socket.connect(endpoint)
    socket.send(codec.encode_work("ready", body={"host": "fake", "pid": 1}))
    return socket


def test_codec_work_message_round_trip_and_refusals() -> None:
    message = codec.decode_work(codec.encode_work("result", "j1", {"ok": True, "result": 3}))
    assert message == codec.WorkMessage("result", "j1", {"ok": True, "result": 3})
    with pytest.raises(BadRequest, match="unknown kind"):
        codec.decode_work(codec.encode_work("explode"))
    with pytest.raises(BadRequest, match="needs a job id"):
        codec.decode_work(codec.encode_work("result"))
    with pytest.raises(BadRequest, match="exceeds the limit"):
        codec.decode_work(codec.encode_work("heartbeat"), max_bytes=4)


def test_broker_on_a_taken_port_is_unavailable(zmq_ctx: zmq.Context, broker: WorkBroker) -> None:
    with pytest.raises(Unavailable, match="cannot listen"):
        WorkBroker(zmq_ctx, broker.endpoint)


def test_jobs_spread_over_workers_least_recently_ready_first(
    broker: WorkBroker, start_worker: Callable[..., ThreadWorker]
) -> None:
    def handle(task: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.02)
        return {"double": task["n"] * 2}

    start_worker(handle)
    start_worker(handle)
    serve(broker, lambda: broker.workers == 2)
    outcomes = Outcomes()
    ids = [broker.submit({"n": n}, outcomes) for n in range(12)]
    serve(broker, lambda: len(outcomes.done) == 12)
    assert [outcomes.done[i] for i in ids] == [(True, {"double": 2 * n}) for n in range(12)]
    done = [w["done"] for w in broker.stats()["workers"]]
    assert sum(done) == 12 and min(done) >= 4  # equal jobs alternate between the two


def test_a_failing_handler_fails_its_job_and_the_worker_serves_on(
    broker: WorkBroker, start_worker: Callable[..., ThreadWorker]
) -> None:
    def handle(task: dict[str, Any]) -> int:
        if task["n"] == 0:
            raise BadRequest("no bars for NOPE")
        return 1 // (task["n"] - 1)

    start_worker(handle)
    outcomes = Outcomes()
    bad, buggy, good = (broker.submit({"n": n}, outcomes) for n in range(3))
    serve(broker, lambda: len(outcomes.done) == 3)
    assert outcomes.done[bad] == (False, "no bars for NOPE")
    assert outcomes.done[buggy] == (False, "ZeroDivisionError: integer division or modulo by zero")
    assert outcomes.done[good] == (True, 1)


def test_job_of_a_silent_worker_is_requeued_to_a_live_one(
    zmq_ctx: zmq.Context, broker: WorkBroker, start_worker: Callable[..., ThreadWorker]
) -> None:
    hung = fake_worker(zmq_ctx, broker.endpoint, b"hung")
    serve(broker, lambda: broker.workers == 1)
    outcomes = Outcomes()
    job = broker.submit({"n": 1}, outcomes)  # goes to the hung worker, the only one
    assert broker.stats()["workers"][0]["job"] == job
    start_worker(lambda task: task["n"])
    serve(broker, lambda: job in outcomes.done)
    assert outcomes.done[job] == (True, 1)
    stats = broker.stats()
    assert stats["requeued"] == 1 and stats["lost"] == 1
    assert [w["host"] for w in stats["workers"]] != ["fake"]
    hung.close()


def test_a_job_whose_workers_keep_dying_fails_after_max_attempts(
    zmq_ctx: zmq.Context, broker: WorkBroker
) -> None:
    outcomes = Outcomes()
    job = broker.submit({"n": 1}, outcomes)
    hung = [fake_worker(zmq_ctx, broker.endpoint, b"hung-1")]
    serve(broker, lambda: broker.stats()["requeued"] == 1)
    hung.append(fake_worker(zmq_ctx, broker.endpoint, b"hung-2"))
    serve(broker, lambda: job in outcomes.done)
    ok, error = outcomes.done[job]
    assert not ok and "gave up after 2 attempts" in error and "hung-2 went silent" in error
    for socket in hung:
        socket.close()


def test_garbage_is_counted_and_dropped_and_the_broker_serves_on(
    zmq_ctx: zmq.Context, broker: WorkBroker, start_worker: Callable[..., ThreadWorker]
) -> None:
    rogue = zmq_ctx.socket(zmq.DEALER)
    rogue.setsockopt(zmq.LINGER, 0)
    rogue.connect(broker.endpoint)
    rogue.send(b"\xc1 not msgpack")
    rogue.send_multipart([b"two", b"frames"])
    rogue.send(codec.pack({"v": 1, "kind": "job", "job": "x", "body": {}}))  # wrong way
    rogue.send(codec.pack({"v": 1, "kind": "result", "job": "nope", "body": {"ok": 1}}))
    rogue.send(codec.pack([1, 2, 3]))
    serve(broker, lambda: broker.received == 5)
    assert broker.stats()["bad_frames"] == 4  # the result for an unknown job is only stale
    assert dict(broker.bad) == {"decode": 2, "frame_count": 1, "kind": 1}
    start_worker(lambda task: "fine")
    outcomes = Outcomes()
    job = broker.submit({}, outcomes)
    serve(broker, lambda: job in outcomes.done)
    assert outcomes.done[job] == (True, "fine")
    rogue.close()


def test_worker_reconnects_when_the_broker_comes_back(
    zmq_ctx: zmq.Context, endpoint: str, start_worker: Callable[..., ThreadWorker]
) -> None:
    first = WorkBroker(zmq_ctx, endpoint, heartbeat_s=HEARTBEAT)
    start_worker(lambda task: "again")
    try:
        serve(first, lambda: first.workers == 1)
    finally:
        first.close()
    time.sleep(5 * HEARTBEAT)  # the worker hears nothing and starts reconnecting
    second = WorkBroker(zmq_ctx, endpoint, heartbeat_s=HEARTBEAT)
    try:
        outcomes = Outcomes()
        job = second.submit({}, outcomes)
        serve(second, lambda: job in outcomes.done)
        assert outcomes.done[job] == (True, "again")
    finally:
        second.close()
