"""Every screen of the TUI as a scene: the keys that open it from the dashboard, then a wait
until what it fetched is painted.

The snapshot tests play each scene against recorded replies; `record_replies.py` plays
the same scenes against a real stack to record the replies they need, so the two never
disagree about which calls a screen makes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from tests.tui.fake_bus import recorded_app
from tui.app import BifrostApp

FOLLOWERS = frozenset({"bus", "micro", "ml-signals", "compliance-events"})
"""Worker groups that run as long as their screen does: never waited for."""
SIZES = {"160x48": (160, 48), "80x24": (80, 24)}
TICK_S = 0.05
QUIET_TICKS = 4
"""A screen is settled after this many ticks with no one-off worker running: long enough
for what the last one handed over (`call_from_thread`) and a repaint to be done."""
BURST_S = 3.0
"""How long the desk may take to fold the feed's first burst (the reloads, then every
recorded event) before a scene goes on regardless."""
SQL = (
    "SELECT client_order_id, symbol, side, quantity, type, status, filled "
    "FROM execution.orders ORDER BY client_order_id"
)
"""The query the SQL scene runs."""


async def until(pilot: Pilot[Any], condition: Callable[[], Any], timeout: float) -> None:
    """Let the app run until `condition` holds; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the screen never got there")
        await pilot.pause(0.05)


async def settle(pilot: Pilot[Any], timeout: float) -> None:
    """Until no one-off worker has run for a few ticks, then until its results are painted.

    Followers (the desk, the book, the signals) run all along; screens that show what
    they bring have their own wait in their scene.
    """
    app = pilot.app
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < QUIET_TICKS:
        busy = [w for w in app.workers if w.group not in FOLLOWERS and not w.is_finished]
        quiet = 0 if busy else quiet + 1
        if busy and time.monotonic() > deadline:
            raise AssertionError(f"still working after {timeout} s: {busy}")
        await pilot.pause(TICK_S)
    await pilot.wait_for_scheduled_animations()
    for box in app.screen.query(Input):
        box.cursor_blink = False  # a blinking cursor is on or off depending on the instant


async def desk_filled(pilot: Pilot[Any], timeout: float) -> None:
    """Until the desk has the services' health and P&L, and the feed's first burst (every
    recorded event, in the tests) is painted."""
    desk = bifrost(pilot).desk
    await until(pilot, lambda: desk.health and desk.account, timeout)
    calm_by = time.monotonic() + BURST_S  # a live feed is never calm: give up after a while
    seen = -1
    while seen != desk.version and time.monotonic() < calm_by:
        seen = desk.version
        await pilot.pause(0.15)
    await settle(pilot, timeout)


def bifrost(pilot: Pilot[Any]) -> BifrostApp:
    """The app under the pilot, typed."""
    assert isinstance(pilot.app, BifrostApp)
    return pilot.app


async def opened(pilot: Pilot[Any], timeout: float, *keys: str) -> None:
    """Press `keys` (a screen's binding) and wait until the screen settles."""
    await pilot.press(*keys)
    await settle(pilot, timeout)


async def dashboard(pilot: Pilot[Any], timeout: float) -> None:
    """The dashboard as the app opens."""


async def help_panel(pilot: Pilot[Any], timeout: float) -> None:
    await opened(pilot, timeout, "question_mark")


async def order_ticket(pilot: Pilot[Any], timeout: float) -> None:
    """A buy ticket for 10 with its risk preview."""
    await opened(pilot, timeout, "b", "1", "0")
    screen: Any = pilot.app.screen
    screen.action_preview()
    await settle(pilot, timeout)


async def replace_order(pilot: Pilot[Any], timeout: float) -> None:
    await opened(pilot, timeout, "e")


async def kill_confirm(pilot: Pilot[Any], timeout: float) -> None:
    await opened(pilot, timeout, "k")


async def chart(pilot: Pilot[Any], timeout: float) -> None:
    await opened(pilot, timeout, "g")


async def risk(pilot: Pilot[Any], timeout: float) -> None:
    """Limits and state, and the VaR line."""
    await opened(pilot, timeout, "r", "v")


async def compliance(pilot: Pilot[Any], timeout: float) -> None:
    await opened(pilot, timeout, "C")


async def strategies(pilot: Pilot[Any], timeout: float) -> None:
    await opened(pilot, timeout, "l")


async def start_strategy(pilot: Pilot[Any], timeout: float) -> None:
    await opened(pilot, timeout, "l", "n")


async def backtests(pilot: Pilot[Any], timeout: float) -> None:
    """The stored runs with the first one shown (statistics and equity curve)."""
    await opened(pilot, timeout, "p")
    screen: Any = pilot.app.screen
    screen.action_show()
    await settle(pilot, timeout)


async def new_backtest(pilot: Pilot[Any], timeout: float) -> None:
    await opened(pilot, timeout, "p", "n")


async def studies(pilot: Pilot[Any], timeout: float) -> None:
    """The studies with the two-objective one shown: its Pareto front and plot."""
    await opened(pilot, timeout, "p", "o")
    screen: Any = pilot.app.screen
    table = screen.query_one("#studies", DataTable)
    rows = [str(table.get_row_at(i)[3]) for i in range(table.row_count)]
    several = next(i for i, objectives in enumerate(rows) if " " in objectives)
    table.move_cursor(row=several)
    screen.action_show()
    await settle(pilot, timeout)


async def analytics(pilot: Pilot[Any], timeout: float) -> None:
    """The live account's tearsheet."""
    await opened(pilot, timeout, "a")


async def microstructure(pilot: Pilot[Any], timeout: float) -> None:
    """The ladder and metrics of the first symbol."""
    await opened(pilot, timeout, "m")
    screen: Any = pilot.app.screen
    view = screen.view
    await until(pilot, lambda: view.bids and view.metrics, timeout)
    await settle(pilot, timeout)


async def ml(pilot: Pilot[Any], timeout: float) -> None:
    """The model registry and the latest signals."""
    await opened(pilot, timeout, "i")
    signals = pilot.app.screen.query_one("#signals", DataTable)
    await until(pilot, lambda: signals.row_count, timeout)
    await settle(pilot, timeout)


async def news(pilot: Pilot[Any], timeout: float) -> None:
    await opened(pilot, timeout, "n")


async def sql(pilot: Pilot[Any], timeout: float) -> None:
    """The orders, queried across the stores."""
    await opened(pilot, timeout, "S")
    pilot.app.screen.query_one("#query", Input).value = SQL
    await opened(pilot, timeout, "enter")


Scene = Callable[[Pilot[Any], float], Awaitable[None]]
SCENES: dict[str, Scene] = {
    "dashboard": dashboard,
    "help": help_panel,
    "order_ticket": order_ticket,
    "replace_order": replace_order,
    "kill_confirm": kill_confirm,
    "chart": chart,
    "risk": risk,
    "compliance": compliance,
    "strategies": strategies,
    "start_strategy": start_strategy,
    "backtests": backtests,
    "new_backtest": new_backtest,
    "studies": studies,
    "analytics": analytics,
    "microstructure": microstructure,
    "ml": ml,
    "news": news,
    "sql": sql,
}
"""Every screen and dialog, by name, as the snapshot files are named."""


async def play(pilot: Pilot[Any], scene: Scene, timeout: float) -> None:
    """Wait for the desk, then play `scene`."""
    await desk_filled(pilot, timeout)
    await scene(pilot, timeout)


SCENE_TIMEOUT_S = 20.0
"""Longest a scene may take to settle."""


def matches_snapshot(snap_compare: Any, tmp_path: Path, scene: str, size: str) -> bool:
    """`scene` played over the recorded replies at `size`, compared with its SVG."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await play(pilot, SCENES[scene], SCENE_TIMEOUT_S)

    app = recorded_app(tmp_path)
    return bool(snap_compare(app, terminal_size=SIZES[size], run_before=run_before))
