"""Submitting a job to a service and waiting for its end (see bifrost.jobs).

The caller subscribes to the service's job events before it submits, so the job's
`done` event cannot go out before anyone listens, and then waits on that event rather
than asking every few moments. Events can still be lost (a subscription still being
set up, a dropped connection, an event port out of reach), so after CHECK_EVERY_S with
no word of the job it asks the job's method once; a lost event costs that long, never
a hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bifrost.client import BifrostClient
from bifrost.errors import Unavailable
from bifrost.jobs import ENDED, TopicOf

CHECK_EVERY_S = 1.0
"""Longest wait without any event of the job before its state is asked for."""

Progress = Callable[[dict[str, Any]], None]
"""Called with each progress event's body (job_id, state and the job's counts)."""


def submit_and_wait(
    client: BifrostClient,
    service: str,
    submit: tuple[str, dict[str, Any]],
    job_method: str,
    topic_of: TopicOf,
    timeout_s: float,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Call `submit` (method, params) on `service`, wait for the job it queued to end;
    returns the submit reply and the ended job's record (as `job_method` gives it,
    state done or failed). Unavailable when the job did not end within `timeout_s`."""
    prefixes = [topic_of("done", "")]
    if progress is not None:
        prefixes.append(topic_of("progress", ""))
    subscriber = client.subscribe(service, prefixes)
    try:
        method, params = submit
        reply: dict[str, Any] = client.call(service, method, params)
        job_id = reply["job_id"]
        done_topic = topic_of("done", job_id)
        deadline = time.monotonic() + timeout_s
        heard = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            wait_s = min(deadline, heard + CHECK_EVERY_S) - now
            ended = False
            for event in subscriber.poll(max(0, int(wait_s * 1000))):
                if not isinstance(event.body, dict) or event.body.get("job_id") != job_id:
                    continue
                heard = time.monotonic()
                if event.topic == done_topic:
                    ended = True
                elif progress is not None:
                    progress(event.body)
            if ended or time.monotonic() - heard >= CHECK_EVERY_S:
                state: dict[str, Any] = client.call(service, job_method, {"job_id": job_id})
                if state["state"] in ENDED:
                    return reply, state
                heard = time.monotonic()
        state = client.call(service, job_method, {"job_id": job_id})
        if state["state"] in ENDED:
            return reply, state
        raise Unavailable(f"job {job_id} of {service} did not finish in {timeout_s:g} s")
    finally:
        subscriber.close()
