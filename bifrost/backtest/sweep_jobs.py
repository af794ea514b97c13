"""Sweeps as jobs of the strategy service: state, progress events and ranked results.

A sweep runs either on worker processes (its points cut into chunks, each a job of
the work broker, gathered back in point order) or on one of the service's threads;
either way its progress is announced on `backtest.progress.<id>` and its end, with
the best point, on `backtest.done.<id>`; `backtest.job` returns the ranked results.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from bifrost.bus.workers import WorkBroker
from bifrost.errors import BadRequest
from bifrost.jobs import JobTable

if TYPE_CHECKING:  # runs and sweeps load the engines: imported when a sweep is spread
    from bifrost.backtest.runner import RunRequest


class SweepJobs:
    """Keeps the sweeps among the service's jobs; every method runs on the loop thread."""

    def __init__(self, jobs: JobTable) -> None:
        self.jobs = jobs

    def open(
        self, job_id: str, points: int, metric: str, via: str, skipped: dict[str, int]
    ) -> None:
        """Record a queued sweep of `points` points, ranked by `metric`; `skipped` counts
        the grid points left out for breaking a constraint, by rule."""
        self.jobs.add(
            job_id,
            kind="sweep",
            error=None,
            points=points,
            done=0,
            metric=metric,
            via=via,
            results=None,
            skipped=sum(skipped.values()),
            skipped_by_rule=skipped,
        )

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
        from bifrost.backtest.sweep import chunk_points

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
        if self.jobs.ended(job_id):
            return
        if not ok:
            self.jobs.fail(job_id, BadRequest(f"sweep points from {offset}: {outcome}"), cid)
            return
        rows = outcome.get("results") if isinstance(outcome, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            message = f"a worker returned no results for points from {offset}"
            self.jobs.fail(job_id, BadRequest(message), cid)
            return
        results[offset : offset + len(rows)] = rows
        left.discard(offset)
        self.progress(job_id, self.jobs.get(job_id)["done"] + len(rows), len(results), cid)
        if not left:
            self.finished(job_id, results, cid)

    def progress(self, job_id: str, done: int, total: int, cid: str) -> None:
        """`done` of `total` points have finished: counted and announced."""
        self.jobs.start(job_id, cid, done=done, total=total)

    def finished(self, job_id: str, results: list[dict[str, Any]], cid: str) -> None:
        """Every point ran: rank them, keep them for `backtest.job`, announce the best."""
        from bifrost.backtest.sweep import rank

        ranked = rank(results, self.jobs.get(job_id)["metric"])
        best = ranked[0] if ranked else None
        outcome = {"results": ranked, "done": len(ranked)}
        self.jobs.finish(job_id, cid, outcome, {"points": len(ranked), "best": best})
