"""The worker side of the load-balancing broker (see bifrost.bus.workers).

`worker_loop` connects a DEALER to the broker's ROUTER, says `ready`, runs one job
at a time on a thread and keeps heartbeating meanwhile, so the broker can tell a
busy worker from a dead one. When the broker has been silent for LIVENESS
heartbeats the worker reconnects on a fresh socket, waiting longer each time.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket as sockets
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq

from bifrost.bus import codec
from bifrost.bus.curve import ClientCurve
from bifrost.bus.workers import HEARTBEAT_S, LIVENESS, MAX_BACKOFF_S, Log, no_log
from bifrost.errors import BadRequest, BifrostError

Handler = Callable[[dict[str, Any]], Any]
JobOutcomes = queue.SimpleQueue[tuple[str, dict[str, Any]]]
"""Finished jobs handed from job threads to the loop: (job id, result body)."""
"""Runs one job's task map and returns plain data (raises BifrostError to fail it)."""


class _BrokerLink:
    """The worker's DEALER to the broker: a fresh socket and identity on every reconnect."""

    def __init__(
        self, ctx: zmq.SyncContext, endpoint: str, curve: ClientCurve | None, heartbeat_s: float
    ) -> None:
        self.ctx = ctx
        self.endpoint = endpoint
        self.curve = curve
        self.heartbeat_s = heartbeat_s
        self.host = sockets.gethostname()
        self.socket: zmq.SyncSocket | None = None
        self.expires = 0.0
        self.next_beat = 0.0
        self._connections = 0
        self._link_id = os.urandom(3).hex()
        """Tells apart two workers of one process: a ROUTER drops a second connection
        whose identity it already knows, and with it every message that worker sends."""

    def connect(self, running: str | None) -> None:
        """Open a new DEALER and say ready (naming the job still running, if any)."""
        self.close()
        self._connections += 1
        socket = self.ctx.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        identity = f"{self.host}-{os.getpid()}-{self._link_id}-{self._connections}"
        socket.setsockopt(zmq.IDENTITY, identity.encode())
        if self.curve is not None:
            self.curve.apply(socket)
        socket.connect(self.endpoint)
        self.socket = socket
        now = time.monotonic()
        self.expires = now + LIVENESS * self.heartbeat_s
        self.next_beat = now + self.heartbeat_s
        self.send("ready", body={"host": self.host, "pid": os.getpid(), "job": running})

    def send(self, kind: str, job: str | None = None, body: dict[str, Any] | None = None) -> None:
        """Send one message to the broker."""
        self.send_frame(codec.encode_work(kind, job, body))

    def send_frame(self, frame: bytes) -> None:
        """Send one packed message; a full queue drops it (the heartbeats will tell)."""
        assert self.socket is not None
        with contextlib.suppress(zmq.Again):
            self.socket.send(frame, zmq.NOBLOCK)

    def receive(self, timeout_s: float) -> codec.WorkMessage | None:
        """The next message from the broker within `timeout_s` (garbage is skipped)."""
        assert self.socket is not None
        if not self.socket.poll(max(1, int(timeout_s * 1000))):
            return None
        data = self.socket.recv()
        self.expires = time.monotonic() + LIVENESS * self.heartbeat_s
        try:
            return codec.decode_work(data)
        except BadRequest:
            return None

    def close(self) -> None:
        """Close the socket; idempotent."""
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None


def _run_job(handle: Handler, job_id: str, task: dict[str, Any], out: JobOutcomes) -> None:
    """On the job thread: run the handler; its outcome goes back as a result body."""
    try:
        body = {"ok": True, "result": handle(task)}
    except BifrostError as exc:
        body = {"ok": False, "error": exc.message}
    except Exception as exc:  # a strategy's own bug ends its job, not the worker
        body = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    out.put((job_id, body))


def _result_frame(job_id: str, body: dict[str, Any]) -> bytes:
    """The result message, or a failure saying why the result cannot travel."""
    try:
        frame = codec.encode_work("result", job_id, body)
    except (TypeError, ValueError) as exc:
        return codec.encode_work("result", job_id, {"ok": False, "error": f"bad result: {exc}"})
    if len(frame) > codec.MAX_WORK_BYTES:
        error = f"result of {len(frame)} bytes exceeds the limit of {codec.MAX_WORK_BYTES}"
        return codec.encode_work("result", job_id, {"ok": False, "error": error})
    return frame


def worker_loop(
    endpoint: str,
    handle: Handler,
    *,
    heartbeat_s: float = HEARTBEAT_S,
    curve: ClientCurve | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    log: Log = no_log,
) -> int:
    """Serve jobs from the broker at `endpoint` until `should_stop()`; returns jobs done.

    One job at a time runs on a thread while this thread heartbeats; when the broker
    has been silent for LIVENESS heartbeats the worker reconnects, waiting longer each
    time (up to MAX_BACKOFF_S).
    """
    ctx = zmq.Context()
    link = _BrokerLink(ctx, endpoint, curve, heartbeat_s)
    finished: JobOutcomes = queue.SimpleQueue()
    running: str | None = None
    done = 0
    backoff = heartbeat_s
    try:
        link.connect(None)
        log("worker.connecting", endpoint=endpoint)
        while not should_stop():
            message = link.receive(0.01 if running else min(0.1, heartbeat_s))
            if message is not None:
                backoff = heartbeat_s
                if message.kind == "job" and message.job is not None:
                    if running is None:
                        running = message.job
                        threading.Thread(
                            target=_run_job,
                            args=(handle, message.job, message.body, finished),
                            name="work-job",
                            daemon=True,
                        ).start()
                    else:
                        log("worker.busy", job=message.job, running=running)
            while not finished.empty():
                job_id, body = finished.get()
                link.send_frame(_result_frame(job_id, body))
                running = None
                done += 1
            now = time.monotonic()
            if now >= link.next_beat:
                link.send("heartbeat")
                link.next_beat = now + heartbeat_s
            if now > link.expires:
                log("worker.reconnecting", endpoint=endpoint, wait_s=backoff)
                link.close()
                _sleep(backoff, should_stop)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                link.connect(running)
    finally:
        link.close()
        ctx.destroy(linger=0)
    return done


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    """Sleep, waking early when asked to stop."""
    deadline = time.monotonic() + seconds
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
