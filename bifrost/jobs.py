"""Long work a service runs for its callers (backtests, sweeps, trainings) as jobs.

A job is queued, runs, and ends done or failed. Every change after the queueing is an
event: `<kind>.progress.<id>` while it runs (with any progress counts), then once
`<kind>.done.<id>` when it ends either way, so a caller waits on the event instead of
asking again and again. The record itself is what the service's `*.job` method
returns. A table is used on its daemon's loop thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bifrost.errors import BifrostError, NotFound

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)
ENDED = (DONE, FAILED)

TopicOf = Callable[[str, str], str]
"""Called as topic_of(stage, job id), stage "progress" or "done" (bifrost.bus.topics)."""
Publish = Callable[[str, dict[str, Any], str], None]
"""Called as publish(topic, body, cid)."""


class JobTable:
    """One service's jobs by id: their state, their outcome, and the events announcing them."""

    def __init__(self, noun: str, topic_of: TopicOf, publish: Publish) -> None:
        self.noun = noun
        """What the jobs are, for messages: "backtest job", "training job"."""
        self.topic_of = topic_of
        self._publish = publish
        self._jobs: dict[str, dict[str, Any]] = {}

    def add(self, job_id: str, **fields: Any) -> dict[str, Any]:
        """Queue a job; its record starts as `fields` (the outcome's keys, still empty)."""
        job = self._jobs[job_id] = {"job_id": job_id, "state": QUEUED, **fields}
        return job

    def start(self, job_id: str, cid: str, **progress: Any) -> None:
        """The job runs; `progress` (counts so far) goes into its record and its event."""
        job = self._jobs[job_id]
        if job["state"] in ENDED:
            return
        job.update(state=RUNNING, **progress)
        self._announce("progress", job_id, RUNNING, progress, cid)

    def finish(
        self,
        job_id: str,
        cid: str,
        outcome: dict[str, Any],
        announced: dict[str, Any] | None = None,
    ) -> None:
        """The job is done: `outcome` goes into its record, `announced` (the outcome when
        not given) into the done event. A job that already ended stays as it ended."""
        job = self._jobs[job_id]
        if job["state"] in ENDED:
            return
        job.update(state=DONE, **outcome)
        self._announce("done", job_id, DONE, outcome if announced is None else announced, cid)

    def fail(self, job_id: str, error: BifrostError, cid: str, /, **fields: Any) -> None:
        """The job failed: its record keeps the message (`error`) and the typed error's wire
        map (`failure`, so a caller raises what the work raised); `fields` override them.
        The done event carries the message. A job that already ended stays as it ended."""
        job = self._jobs[job_id]
        if job["state"] in ENDED:
            return
        job.update({"state": FAILED, "error": error.message, "failure": error.to_wire(), **fields})
        self._announce("done", job_id, FAILED, {"error": error.message}, cid)

    def get(self, job_id: str) -> dict[str, Any]:
        """A copy of one job's record; NotFound for an id this service never gave."""
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no {self.noun} {job_id}")
        return dict(job)

    def ended(self, job_id: str) -> bool:
        """True once the job is done or failed."""
        return bool(self._jobs[job_id]["state"] in ENDED)

    def counts(self) -> dict[str, int]:
        """How many jobs are in each state (for `health`)."""
        counts = dict.fromkeys(STATES, 0)
        for job in self._jobs.values():
            counts[job["state"]] += 1
        return counts

    def _announce(
        self, stage: str, job_id: str, state: str, body: dict[str, Any], cid: str
    ) -> None:
        self._publish(self.topic_of(stage, job_id), {"job_id": job_id, "state": state, **body}, cid)
