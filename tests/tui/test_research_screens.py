"""The strategies and backtests screens, driven by Pilot against real daemons."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import DataTable

from bifrost.client import BifrostClient
from bifrost.config import load_config
from bifrost.market.gateway import DataGateway
from bifrost.market.sample import write_sample
from tests.bifrost.conftest import services_running
from tests.conftest import write_config
from tests.tui.test_app import text, until
from tui.app import make_app
from tui.screens.backtests import BacktestsScreen, NewBacktest
from tui.screens.strategies import StartStrategy, StrategiesScreen

pytestmark = pytest.mark.timeout(90)


def test_backtests_screen_runs_a_job_and_shows_its_statistics(tmp_path: Path, home) -> None:
    config = load_config(write_config(tmp_path, services=("data", "strategy")))
    with BifrostClient(config, timeout_ms=500) as client:
        DataGateway(client, home).import_files(write_sample(home / "sample"))

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("p")
            assert isinstance(app.screen, BacktestsScreen)
            await pilot.press("n")
            assert isinstance(app.screen, NewBacktest)
            await pilot.click("#run")
            await until(pilot, lambda: "total_return_pct" in text(app, "#detail"), timeout=30)
            runs = app.screen.query_one("#runs", DataTable)
            await until(pilot, lambda: runs.row_count == 1)
            assert runs.get_row_at(0)[1:3] == ["sma_cross", "SPY"]

    with services_running(config, home, ("data", "strategy")):
        asyncio.run(scenario())


def test_strategies_screen_starts_and_stops_a_live_strategy(tmp_path: Path, home) -> None:
    names = ("data", "portfolio", "execution", "risk", "strategy")
    config = load_config(write_config(tmp_path, services=names))

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("l")
            assert isinstance(app.screen, StrategiesScreen)
            await pilot.press("n")
            assert isinstance(app.screen, StartStrategy)
            await pilot.click("#start")
            table = app.screen.query_one("#strategies", DataTable)
            await until(pilot, lambda: table.row_count == 1)
            assert table.get_row_at(0)[4] in ("waiting", "running")
            await pilot.press("x")
            await until(pilot, lambda: table.row_count == 1 and table.get_row_at(0)[4] == "stopped")

    with services_running(config, home, names):
        asyncio.run(scenario())
