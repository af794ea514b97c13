"""Tests of bifrost/jobs.py: a job's states, its record and the events announcing them."""

from __future__ import annotations

from typing import Any

import pytest

from bifrost.bus import topics
from bifrost.errors import NotFound, Unavailable
from bifrost.jobs import JobTable


def table() -> tuple[JobTable, list[tuple[str, dict[str, Any], str]]]:
    sent: list[tuple[str, dict[str, Any], str]] = []
    jobs = JobTable("backtest job", topics.backtest_job, lambda t, b, c: sent.append((t, b, c)))
    return jobs, sent


def test_a_job_runs_then_is_done_and_each_step_is_announced() -> None:
    jobs, sent = table()
    jobs.add("j1", run_id=None, error=None)
    assert jobs.get("j1") == {"job_id": "j1", "state": "queued", "run_id": None, "error": None}
    assert sent == []
    jobs.start("j1", "cid-1", done=3, total=10)
    jobs.finish("j1", "cid-1", {"run_id": "r1"}, {"run_id": "r1", "stats": {"trades": 2}})
    assert jobs.get("j1")["state"] == "done" and jobs.get("j1")["run_id"] == "r1"
    assert sent == [
        (
            "backtest.progress.j1",
            {"job_id": "j1", "state": "running", "done": 3, "total": 10},
            "cid-1",
        ),
        (
            "backtest.done.j1",
            {"job_id": "j1", "state": "done", "run_id": "r1", "stats": {"trades": 2}},
            "cid-1",
        ),
    ]


def test_a_failed_job_keeps_its_typed_error_and_announces_its_message() -> None:
    jobs, sent = table()
    jobs.add("j1")
    jobs.fail("j1", Unavailable("data is down"), "c")
    record = jobs.get("j1")
    assert record["state"] == "failed" and record["error"] == "data is down"
    assert record["failure"]["code"] == "UNAVAILABLE"
    announced = {"job_id": "j1", "state": "failed", "error": "data is down"}
    assert sent[-1] == ("backtest.done.j1", announced, "c")


def test_a_job_that_ended_stays_as_it_ended() -> None:
    jobs, sent = table()
    jobs.add("j1")
    jobs.fail("j1", Unavailable("first"), "c")
    jobs.fail("j1", Unavailable("second"), "c")
    jobs.finish("j1", "c", {"run_id": "late"})
    jobs.start("j1", "c")
    assert jobs.get("j1")["error"] == "first" and "run_id" not in jobs.get("j1")
    assert len(sent) == 1


def test_fields_can_override_the_failure_record() -> None:
    jobs, _ = table()
    jobs.add("j1")
    error = Unavailable("gone")
    jobs.fail("j1", error, "c", error=error.to_wire())
    assert jobs.get("j1")["error"] == error.to_wire()


def test_counts_and_unknown_ids() -> None:
    jobs, _ = table()
    for job_id in ("a", "b", "c"):
        jobs.add(job_id)
    jobs.start("b", "")
    jobs.finish("c", "", {})
    assert jobs.counts() == {"queued": 1, "running": 1, "done": 1, "failed": 0}
    assert jobs.get("a") is not jobs.get("a")  # callers get copies
    with pytest.raises(NotFound, match="no backtest job nope"):
        jobs.get("nope")
