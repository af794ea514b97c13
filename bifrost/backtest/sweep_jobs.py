"""Sweeps as jobs of the strategy service: state, progress events and ranked results.

A sweep runs either on worker processes (its points cut into chunks, each a job of
the work broker, gathered back in point order) or on one of the service's threads;
either way its progress is announced on `backtest.progress.<id>` and its end, with
the best point, on `backtest.done.<id>`; `backtest.job` returns the ranked results.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from bifrost.backtest.runner import RunRequest
from bifrost.backtest.sweep import chunk_points, rank
from bifrost.bus import topics
from bifrost.bus.workers import WorkBroker

Publish = Callable[[str, dict[str, Any], str], None]
"""Called as publish(topic, body, cid)."""
Fail = Callable[[str, str, str], None]
"""Called as fail(job id, message, cid)."""


class SweepJobs:
    """Keeps the sweeps among the service's `jobs` map; every method runs on the loop thread."""

    def __init__(self, jobs: dict[str, dict[str, Any]], publish: Publish, fail: Fail) -> None:
        self.jobs = jobs
        self.publish = publish
        self.fail = fail

    def open(
        self, job_id: str, points: int, metric: str, via: str, skipped: dict[str, int]
    ) -> None:
        """Record a queued sweep of `points` points, ranked by `metric`; `skipped` counts
        the grid points left out for breaking a constraint, by rule."""
        self.jobs[job_id] = {
            "job_id": job_id,
            "kind": "sweep",
            "state": "queued",
            "error": None,
            "points": points,
            "done": 0,
            "metric": metric,
            "via": via,
            "results": None,
            "skipped": sum(skipped.values()),
            "skipped_by_rule": skipped,
        }

    def spread(
        self,
        broker: WorkBroker,
        workers: int,
        job_id: str,
        request: RunRequest,
        points: list[dict[str, Any]],
        cid: str,
    ) -> None:
        """Queue the sweep's chunks on the broker; results come back to `chunk_done`."""
        results: list[Any] = [None] * len(points)
        pieces = chunk_points(points, workers)
        left = {offset for offset, _ in pieces}
        for offset, chunk in pieces:
            task = {"kind": "points", "request": request.to_dict(), "points": chunk}
            done = functools.partial(self.chunk_done, job_id, cid, offset, results, left)
            broker.submit({**task, "batch": job_id}, done)

    def chunk_done(
        self,
        job_id: str,
        cid: str,
        offset: int,
        results: list[Any],
        left: set[int],
        _: str,
        ok: bool,
        outcome: Any,
    ) -> None:
        """One chunk came back from a worker: its results go in point order."""
        if self.jobs[job_id]["state"] in ("done", "failed"):
            return
        if not ok:
            self.fail(job_id, f"sweep points from {offset}: {outcome}", cid)
            return
        rows = outcome.get("results") if isinstance(outcome, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            self.fail(job_id, f"a worker returned no results for points from {offset}", cid)
            return
        results[offset : offset + len(rows)] = rows
        left.discard(offset)
        self.progress(job_id, self.jobs[job_id]["done"] + len(rows), len(results), cid)
        if not left:
            self.finished(job_id, results, cid)

    def progress(self, job_id: str, done: int, total: int, cid: str) -> None:
        """`done` of `total` points have finished: counted and announced."""
        job = self.jobs[job_id]
        job.update(state="running", done=done)
        body = {"job_id": job_id, "state": "running", "done": done, "total": total}
        self.publish(topics.backtest_job("progress", job_id), body, cid)

    def finished(self, job_id: str, results: list[dict[str, Any]], cid: str) -> None:
        """Every point ran: rank them, keep them for `backtest.job`, announce the best."""
        job = self.jobs[job_id]
        ranked = rank(results, job["metric"])
        job.update(state="done", results=ranked, done=len(ranked))
        best = ranked[0] if ranked else None
        body = {"job_id": job_id, "state": "done", "points": len(ranked), "best": best}
        self.publish(topics.backtest_job("done", job_id), body, cid)
