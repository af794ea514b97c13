"""Fixtures shared by the TUI tests."""

from __future__ import annotations

import pytest
import textual.app
import textual.pilot
from textual._wait import wait_for_idle

IDLE_WAIT_CAP_S = 0.1
"""Longest Pilot waits, per key, for the process to go idle."""


@pytest.fixture(autouse=True)
def bounded_idle_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pilot's idle wait, capped at IDLE_WAIT_CAP_S.

    After every key, Pilot waits until the process has used almost no CPU for a
    fiftieth of a second, or for a second. The daemons these tests start serve from
    threads of the test's own process and are never that quiet, so every key cost two
    full seconds. The tests wait for what they check themselves (their `until`), so a
    short wait loses nothing and the key still reaches the screen before the next one.
    """

    async def bounded(min_sleep: float = 1 / 50, max_sleep: float = 1) -> None:
        await wait_for_idle(min_sleep, min(max_sleep, IDLE_WAIT_CAP_S))

    monkeypatch.setattr(textual.app, "wait_for_idle", bounded)
    monkeypatch.setattr(textual.pilot, "wait_for_idle", bounded)
