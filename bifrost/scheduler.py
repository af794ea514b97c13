"""Scheduled jobs of a service, declared in the config and timed by APScheduler.

APScheduler decides when; the job itself always runs on the daemon's loop thread
(handed over through `hand_over`), because that thread owns the sockets and the
DuckDB connection.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bifrost.config import ConfigError, JobConfig


class JobRunner:
    """Times the configured jobs of one service and hands each run to its loop."""

    def __init__(
        self,
        jobs: list[JobConfig],
        tasks: dict[str, Callable[[], Any]],
        hand_over: Callable[[Callable[[], Any]], None],
    ) -> None:
        for job in jobs:
            if job.task not in tasks:
                known = ", ".join(sorted(tasks)) or "none"
                raise ConfigError(
                    f"job '{job.name}' names task '{job.task}', which service '{job.service}' "
                    f"does not have (tasks: {known})"
                )
        self.jobs = jobs
        self._tasks = tasks
        self._hand_over = hand_over
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self.runs: dict[str, int] = {job.name: 0 for job in jobs}
        self.last_run: dict[str, str | None] = {job.name: None for job in jobs}

    def start(self) -> None:
        """Begin timing jobs (no-op when there are none)."""
        for job in self.jobs:
            trigger = (
                IntervalTrigger(seconds=job.every_seconds, timezone=UTC)
                if job.every_seconds is not None
                else CronTrigger.from_crontab(job.cron, timezone=UTC)
            )
            self._scheduler.add_job(self._due, trigger, args=[job], id=job.name, name=job.name)
        if self.jobs:
            self._scheduler.start()

    def _due(self, job: JobConfig) -> None:
        task = self._tasks[job.task]

        def run() -> None:
            self.runs[job.name] += 1
            self.last_run[job.name] = datetime.now(UTC).isoformat(timespec="seconds")
            task()

        run.__name__ = f"job:{job.name}"
        self._hand_over(run)

    def describe(self) -> list[dict[str, Any]]:
        """Each job with its schedule, next and last run and run count."""
        out = []
        for job in self.jobs:
            scheduled = self._scheduler.get_job(job.name) if self._scheduler.running else None
            next_run = getattr(scheduled, "next_run_time", None)
            out.append(
                {
                    "name": job.name,
                    "service": job.service,
                    "task": job.task,
                    "every_seconds": job.every_seconds,
                    "cron": job.cron,
                    "next_run": next_run.isoformat(timespec="seconds") if next_run else None,
                    "last_run": self.last_run[job.name],
                    "runs": self.runs[job.name],
                }
            )
        return out

    def stop(self) -> None:
        """Stop timing jobs; idempotent."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
