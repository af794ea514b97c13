"""Worker processes behind one ROUTER: the zguide load-balancing broker, with heartbeats.

The broker (`WorkBroker`) binds a ROUTER; each worker connects a DEALER and says
`ready`. Jobs wait in a queue and go to the idle worker that has been ready longest
(the LRU queue). Both sides send a heartbeat every `heartbeat_s` seconds, a busy
worker too (its job runs on a thread while its socket thread keeps talking), so
silence means death (Paranoid Pirate): a worker not heard from for LIVENESS
heartbeats is dropped and its in-flight job goes back to the front of the queue, up
to `max_attempts` dispatches, after which the job fails with an error saying why.
A worker that stops hearing the broker reconnects on a fresh socket (a new identity)
and says `ready` again, naming the job it is still running, so a broker restart or
a stall loses nothing. Garbage from a peer is counted and dropped; it never reaches
a job's owner and never raises out of the broker.

The broker owns no thread and never blocks: its owner calls `poll_pending` when the
socket is readable and `tick` from a timer, both on the thread that owns the socket.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import zmq

from bifrost.bus import codec
from bifrost.bus.curve import ServerCurve
from bifrost.bus.keys import role_rank
from bifrost.errors import BadRequest, Unavailable

HEARTBEAT_S = 1.0
"""Default interval of heartbeats, both ways."""
LIVENESS = 3
"""Heartbeats a peer may miss before it is declared dead."""
MAX_BACKOFF_S = 30.0
"""Longest a worker waits between two reconnects."""

Done = Callable[[str, bool, Any], None]
"""Called as on_done(job id, ok, result) or on_done(job id, False, error message)."""
Started = Callable[[str], None]
"""Called with the job id each time the job is handed to a worker."""
Log = Callable[..., None]
"""Called as log(event, **fields)."""


def no_log(event: str, **fields: Any) -> None:
    """The default log: nothing."""


@dataclass
class _Job:
    """A job as the broker tracks it."""

    id: str
    task: dict[str, Any]
    on_done: Done
    on_start: Started | None
    attempts: int = 0
    owner: bytes | None = None
    """The worker running it; None while it waits in the queue."""


@dataclass
class _Worker:
    """A connected worker as the broker tracks it."""

    identity: bytes
    host: str
    pid: int
    expires: float
    job: str | None = None
    done: int = 0


class WorkBroker:
    """Hands jobs to workers least-recently-ready first; re-queues the jobs of dead ones."""

    def __init__(
        self,
        ctx: zmq.SyncContext,
        endpoint: str,
        *,
        heartbeat_s: float = HEARTBEAT_S,
        max_attempts: int = 3,
        curve: ServerCurve | None = None,
        roles: dict[str, str] | None = None,
        min_role: str = "trader",
        log: Log = no_log,
    ) -> None:
        if (curve is None) != (roles is None):
            raise ValueError("a secured WorkBroker needs both curve keys and roles")
        self.endpoint = endpoint
        self.heartbeat_s = heartbeat_s
        self.max_attempts = max_attempts
        self.min_role = min_role
        self.log = log
        self._roles = roles
        self.socket = ctx.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        if curve is not None:
            curve.apply(self.socket)
        try:
            self.socket.bind(endpoint)
        except zmq.ZMQError as exc:
            self.socket.close(linger=0)
            raise Unavailable(
                f"the work broker cannot listen on {endpoint}: {exc}", {"endpoint": endpoint}
            ) from None
        self._jobs: dict[str, _Job] = {}
        self._queue: deque[str] = deque()
        self._workers: dict[bytes, _Worker] = {}
        self._idle: OrderedDict[bytes, None] = OrderedDict()
        """Idle workers, least recently ready first."""
        self._next_heartbeat = time.monotonic() + heartbeat_s
        self.received = 0
        self.completed = 0
        self.requeued = 0
        self.failed = 0
        self.lost = 0
        self.stale = 0
        self.bad: Counter[str] = Counter()

    @property
    def liveness_s(self) -> float:
        """How long a peer may stay silent before it is declared dead."""
        return LIVENESS * self.heartbeat_s

    @property
    def workers(self) -> int:
        """Workers connected now."""
        return len(self._workers)

    @property
    def outstanding(self) -> int:
        """Jobs queued or running."""
        return len(self._jobs)

    def submit(self, task: dict[str, Any], on_done: Done, on_start: Started | None = None) -> str:
        """Queue one job (a plain map for the worker's handler); returns its id."""
        job = _Job(uuid.uuid4().hex[:12], task, on_done, on_start)
        self._jobs[job.id] = job
        self._queue.append(job.id)
        self._dispatch()
        return job.id

    def poll_pending(self, max_messages: int = 1000) -> int:
        """Read what the workers sent (never blocks); returns how many messages."""
        count = 0
        # ZMQ_EVENTS is an int option; pyzmq types every option as int | bytes.
        while count < max_messages and cast(int, self.socket.get(zmq.EVENTS)) & zmq.POLLIN:
            parts = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            self.received += 1
            count += 1
            self._handle(parts)
        self._dispatch()
        return count

    def tick(self) -> None:
        """Declare silent workers dead, send heartbeats when due, hand out queued jobs."""
        now = time.monotonic()
        for worker in list(self._workers.values()):
            if now > worker.expires:
                self._drop(worker, f"went silent for {self.liveness_s:g} s")
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.heartbeat_s
            beat = codec.encode_work("heartbeat")
            for identity in list(self._workers):
                self._send(identity, beat)
        self._dispatch()

    def drain(self, timeout_s: float) -> None:
        """Keep serving until no job is left or `timeout_s` passed (for a stopping owner)."""
        deadline = time.monotonic() + timeout_s
        while self._jobs and self._workers and time.monotonic() < deadline:
            if self.socket.poll(50):
                self.poll_pending()
            self.tick()

    def fail_all(self, reason: str) -> None:
        """End every queued or running job with `reason` (the owner is stopping)."""
        for job in list(self._jobs.values()):
            self._finish(job, False, reason)
        self._queue.clear()

    def stats(self) -> dict[str, Any]:
        """Workers and jobs, for `health`."""
        return {
            "count": len(self._workers),
            "busy": sum(w.job is not None for w in self._workers.values()),
            "queued": len(self._queue),
            "running": sum(j.owner is not None for j in self._jobs.values()),
            "done": self.completed,
            "requeued": self.requeued,
            "failed": self.failed,
            "lost": self.lost,
            "bad_frames": sum(self.bad.values()),
            "bad": dict(self.bad),
            "endpoint": self.endpoint,
            "workers": [
                {
                    "id": w.identity.decode("utf-8", "replace"),
                    "host": w.host,
                    "pid": w.pid,
                    "job": w.job,
                    "done": w.done,
                }
                for w in self._workers.values()
            ],
        }

    def close(self) -> None:
        """Close the socket; idempotent."""
        self.socket.close(linger=0)

    # -- messages from workers ----------------------------------------------------------

    def _handle(self, parts: list[zmq.Frame]) -> None:
        identity = parts[0].bytes
        if len(parts) != 2:
            self._bad("frame_count", identity, f"{len(parts) - 1} frames, expected 1")
            return
        if self._roles is not None:
            user = str(parts[-1].get("User-Id") or "")
            role = self._roles.get(user, "")
            if not role or role_rank(role) < role_rank(self.min_role):
                self._bad("forbidden", identity, f"'{user}' needs the {self.min_role} role")
                return
        try:
            message = codec.decode_work(parts[1].bytes)
        except BadRequest as exc:
            self._bad("decode", identity, exc.message)
            return
        if message.kind == "ready":
            self._ready(identity, message.body)
        elif message.kind == "heartbeat":
            worker = self._workers.get(identity)
            if worker is not None:
                worker.expires = time.monotonic() + self.liveness_s
            # An unknown worker hears no heartbeats back, so it reconnects and says ready.
        elif message.kind == "result":
            assert message.job is not None  # decode_work checks it
            self._result(identity, message.job, message.body)
        else:
            self._bad("kind", identity, f"a worker does not send '{message.kind}'")

    def _ready(self, identity: bytes, body: dict[str, Any]) -> None:
        host, pid, job = body.get("host"), body.get("pid"), body.get("job")
        worker = self._workers.get(identity)
        if worker is None:
            worker = _Worker(
                identity,
                host if isinstance(host, str) else "?",
                pid if type(pid) is int else 0,
                0.0,
            )
            self._workers[identity] = worker
            self.log("worker.joined", worker=identity.decode("utf-8", "replace"), host=worker.host)
        else:
            self._lose_job(worker, "said ready again")
        worker.expires = time.monotonic() + self.liveness_s
        if isinstance(job, str):
            self._adopt(worker, job)
        else:
            self._idle[identity] = None
            self._idle.move_to_end(identity)

    def _adopt(self, worker: _Worker, job_id: str) -> None:
        """A reconnected worker still runs `job_id`: it owns the job if nobody else does."""
        worker.job = job_id
        self._idle.pop(worker.identity, None)
        job = self._jobs.get(job_id)
        if job is not None and job.owner is None:
            self._queue.remove(job_id)
            job.owner = worker.identity

    def _result(self, identity: bytes, job_id: str, body: dict[str, Any]) -> None:
        worker = self._workers.get(identity)
        if worker is not None:
            worker.expires = time.monotonic() + self.liveness_s
            if worker.job != job_id:
                self._lose_job(worker, "answered another job")
            worker.job = None
            self._idle[identity] = None
            self._idle.move_to_end(identity)
        job = self._jobs.get(job_id)
        if job is None:
            self.stale += 1  # done already (by another worker) or from before a restart
            return
        ok = body.get("ok")
        if type(ok) is not bool or (not ok and not isinstance(body.get("error"), str)):
            self._bad("result", identity, "a result needs ok and, when not ok, an error")
            if worker is not None and job.owner == identity:
                worker.job = job_id
                self._lose_job(worker, "sent a malformed result")
            return
        if worker is not None:
            worker.done += 1
        self._finish(job, ok, body.get("result") if ok else body["error"])

    # -- bookkeeping --------------------------------------------------------------------

    def _dispatch(self) -> None:
        while self._queue and self._idle:
            identity, _ = self._idle.popitem(last=False)
            worker = self._workers[identity]
            job = self._jobs[self._queue.popleft()]
            job.attempts += 1
            job.owner = identity
            worker.job = job.id
            if self._send(identity, codec.encode_work("job", job.id, job.task)):
                self._call(job.on_start, job.id)

    def _lose_job(self, worker: _Worker, why: str) -> None:
        """The worker no longer runs its job: queue it again, or fail it after max_attempts."""
        job_id, worker.job = worker.job, None
        job = self._jobs.get(job_id) if job_id is not None else None
        if job is None or job.owner != worker.identity:
            return
        job.owner = None
        name = worker.identity.decode("utf-8", "replace")
        if job.attempts >= self.max_attempts:
            self._finish(
                job,
                False,
                f"job {job.id} gave up after {job.attempts} attempts: its last worker {name} {why}",
            )
            return
        self._queue.appendleft(job.id)
        self.requeued += 1
        self.log("work.requeued", job=job.id, worker=name, reason=why, attempts=job.attempts)

    def _drop(self, worker: _Worker, why: str) -> None:
        self._workers.pop(worker.identity, None)
        self._idle.pop(worker.identity, None)
        self.lost += 1
        self.log("worker.lost", worker=worker.identity.decode("utf-8", "replace"), reason=why)
        self._lose_job(worker, why)

    def _finish(self, job: _Job, ok: bool, outcome: Any) -> None:
        del self._jobs[job.id]
        if job.owner is None and job.id in self._queue:
            self._queue.remove(job.id)
        if ok:
            self.completed += 1
        else:
            self.failed += 1
        self._call(job.on_done, job.id, ok, outcome)

    def _send(self, identity: bytes, frame: bytes) -> bool:
        try:
            self.socket.send_multipart([identity, frame], zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # gone (ROUTER_MANDATORY) or not reading (high-water mark)
            worker = self._workers.get(identity)
            if worker is not None:
                self._drop(worker, f"is unreachable ({exc.strerror})")
            return False
        return True

    def _bad(self, reason: str, identity: bytes, detail: str) -> None:
        self.bad[reason] += 1
        self.log("work.bad_frame", reason=reason, peer=identity.hex()[:32], detail=detail)

    def _call(self, callback: Callable[..., Any] | None, *args: Any) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception as exc:  # an owner's bug must not corrupt the broker's books
            self.log("work.callback_failed", error=f"{type(exc).__name__}: {exc}")
