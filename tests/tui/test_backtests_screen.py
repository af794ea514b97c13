"""The backtests screen over recorded replies: `enter` on a run shows it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from tests.tui.fake_bus import recorded_app
from tests.tui.scenes import settle, until
from tui.screens.backtests import BacktestsScreen

pytestmark = pytest.mark.timeout(60)


def test_enter_on_a_run_shows_its_statistics(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = recorded_app(tmp_path)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("p")
            screen = app.screen
            assert isinstance(screen, BacktestsScreen)
            runs = screen.query_one("#runs", DataTable)
            await until(pilot, lambda: runs.row_count, 20)
            await settle(pilot, 20)
            assert runs.has_focus  # the key goes to the table, which used to swallow it
            detail = screen.query_one("#detail", Static)
            assert "total_return_pct" not in str(detail.render())
            await pilot.press("enter")
            await until(pilot, lambda: "total_return_pct" in str(detail.render()), 20)

    asyncio.run(scenario())
