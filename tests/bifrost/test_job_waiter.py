"""Tests of bifrost/job_waiter.py against a real daemon whose jobs end a moment after
they are queued: the caller hears the end as an event, and still gets the outcome, by
one check, when that event is lost."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bifrost.bus import topics
from bifrost.bus.rpc import CallContext, Method
from bifrost.bus.schema import Optional, Schema
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig
from bifrost.daemon import Daemon
from bifrost.errors import BadRequest, Unavailable
from bifrost.job_waiter import CHECK_EVERY_S, submit_and_wait
from bifrost.jobs import JobTable
from tests.bifrost.conftest import DaemonThread

JOB_S = 0.2
"""How long a job of the test service runs."""
RUN = Schema("demo.run params", {"fail": Optional(bool), "never": Optional(bool)})
JOB = Schema("demo.job params", {"job_id": str})


class JobService(Daemon):
    """Runs 'demo' jobs on timers; `lose_done` drops their done events, as a lost event."""

    lose_done = False

    def setup(self) -> None:
        self.tasks["feed_stats"] = dict  # the config schedules this task for 'data'
        self.jobs = JobTable("demo job", topics.backtest_job, self._publish)
        self.job_calls = 0
        self.add_method(Method("demo.run", self._run, RUN, idempotent=False))
        self.add_method(Method("demo.job", self._job, JOB))

    def _run(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        job_id = uuid.uuid4().hex[:8]
        self.jobs.add(job_id, result=None)
        self.jobs.start(job_id, ctx.cid, done=0, total=1)
        if not params.get("never"):
            timer = threading.Timer(JOB_S, self.hand_over, [lambda: self._end(job_id, params)])
            timer.daemon = True
            timer.start()
        return {"job_id": job_id}

    def _end(self, job_id: str, params: dict[str, Any]) -> None:
        if params.get("fail"):
            self.jobs.fail(job_id, BadRequest("the job failed on purpose"), "")
        else:
            self.jobs.finish(job_id, "", {"result": 42})

    def _job(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.job_calls += 1
        return self.jobs.get(params["job_id"])

    def _publish(self, topic: str, body: dict[str, Any], cid: str) -> None:
        assert self.publisher is not None
        if not (self.lose_done and topic.startswith(topics.backtest_job("done", ""))):
            self.publisher.publish(topic, "demo", body, cid)


@pytest.fixture
def service(daemon_config: BifrostConfig, tmp_path: Path) -> Iterator[JobService]:
    runner = DaemonThread(daemon_config, tmp_path)
    runner.daemon = JobService(daemon_config, "data", tmp_path)
    try:
        runner.start()
        yield runner.daemon  # type: ignore[misc]
    finally:
        runner.stop()


@pytest.fixture
def client(daemon_config: BifrostConfig) -> Iterator[BifrostClient]:
    with BifrostClient(daemon_config, timeout_ms=2000) as bus:
        yield bus


def wait(client: BifrostClient, params: dict[str, Any], **options: Any) -> Any:
    return submit_and_wait(
        client,
        "data",
        ("demo.run", params),
        "demo.job",
        topics.backtest_job,
        options.get("timeout_s", 10.0),
        options.get("progress"),
    )


def test_the_done_event_ends_the_wait_with_one_question(
    service: JobService, client: BifrostClient
) -> None:
    heard: list[dict[str, Any]] = []
    reply, state = wait(client, {}, progress=heard.append)
    assert state["job_id"] == reply["job_id"]
    assert (state["state"], state["result"]) == ("done", 42)
    assert service.job_calls == 1  # asked once, after the event, for the record
    assert [body["state"] for body in heard] in ([], ["running"])  # may precede the subscription


def test_a_failed_job_is_returned_failed(service: JobService, client: BifrostClient) -> None:
    _, state = wait(client, {"fail": True})
    assert state["state"] == "failed" and state["failure"]["code"] == "BAD_REQUEST"


def test_a_lost_done_event_costs_one_check_not_a_hang(
    service: JobService, client: BifrostClient
) -> None:
    service.lose_done = True
    started = time.monotonic()
    _, state = wait(client, {})
    assert state["state"] == "done"
    assert CHECK_EVERY_S <= time.monotonic() - started < CHECK_EVERY_S + 2
    assert service.job_calls == 1


def test_a_job_that_never_ends_is_unavailable_after_the_timeout(
    service: JobService, client: BifrostClient
) -> None:
    with pytest.raises(Unavailable, match=r"did not finish in 1\.5 s"):
        wait(client, {"never": True}, timeout_s=1.5)
