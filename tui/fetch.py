"""A screen's one-off read from a service, made on the screen's thread worker.

When the service does not answer, the screen's `#status` line says so in red and the
read gives None, so the worker just returns; the screen keeps what it showed before.
"""

from __future__ import annotations

from typing import Any

from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Static

from bifrost.errors import BifrostError
from tui.app import app_of


def fetch(
    screen: Screen[Any],
    service: str,
    method: str,
    params: dict[str, Any] | None = None,
    timeout_ms: int = 2000,
) -> Any:
    """One call to `service` over a client of its own (call it on a thread worker only)."""
    app = app_of(screen)
    try:
        return app.bus.call(service, method, params, timeout_ms=timeout_ms)
    except BifrostError as exc:
        message = f"[red]{service} service unavailable[/]: {escape(exc.message)}"
        app.call_from_thread(lambda: screen.query_one("#status", Static).update(message))
        return None
