"""Sweeps as jobs of the strategy service: state, progress events and ranked results.

A sweep runs on one of the service's threads, a big one spread from there over the
research cluster (its `via`: service or cluster); either way its progress is
announced on `backtest.progress.<id>` and its end, with the best point, on `backtest.done.<id>`;
`backtest.job` returns the ranked results.
"""

from __future__ import annotations

from typing import Any

from bifrost.jobs import JobTable


class SweepJobs:
    """Keeps the sweeps among the service's jobs; every method runs on the loop thread."""

    def __init__(self, jobs: JobTable) -> None:
        self.jobs = jobs

    def open(self, job_id: str, points: int, metric: str, skipped: dict[str, int]) -> None:
        """Record a queued sweep of `points` points, ranked by `metric`; `skipped` counts
        the grid points left out for breaking a constraint, by rule."""
        self.jobs.add(
            job_id,
            kind="sweep",
            error=None,
            points=points,
            done=0,
            metric=metric,
            via=None,
            results=None,
            skipped=sum(skipped.values()),
            skipped_by_rule=skipped,
        )

    def started(self, job_id: str, via: str, cid: str) -> None:
        """The sweep's bars are loaded and it runs `via` the service or the cluster."""
        self.jobs.start(job_id, cid, via=via)

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
