"""The microstructure screen driven by Pilot against real data and microstructure daemons."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Static

from bifrost.config import load_config
from tests.bifrost.conftest import services_running
from tests.book_feed import write_book_config
from tests.tui.test_app import text, until
from tui.app import make_app
from tui.screens.micro import MicroScreen

pytestmark = pytest.mark.timeout(60)
SERVICES = ("data", "microstructure")


def table_text(app: Any, selector: str) -> str:
    """What a Static holding a rich table shows, as plain text."""
    console = Console(width=160, file=io.StringIO(), record=True)
    console.print(app.screen.query_one(selector, Static).content)
    return console.export_text()


def test_micro_screen_shows_the_live_ladder_and_metrics(tmp_path: Path, home: Path) -> None:
    config = load_config(write_book_config(tmp_path))

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("m")
            assert isinstance(app.screen, MicroScreen) and app.screen.symbol == "AAPL"
            await until(pilot, lambda: "spread" in table_text(app, "#ladder"))
            first = text(app, "#micro-status")
            await until(pilot, lambda: "VPIN" in table_text(app, "#micro-metrics"))
            await until(pilot, lambda: text(app, "#micro-status") != first)  # deltas arrive
            view = app.screen.view
            assert len(view.bids) == len(view.asks) == 5
            assert view.bids[0][0] < view.asks[0][0]
            await until(pilot, lambda: view.metrics.get("symbol") == "AAPL")
            await pilot.press("escape")
            assert not isinstance(app.screen, MicroScreen)

    with services_running(config, home, SERVICES):
        asyncio.run(scenario())
