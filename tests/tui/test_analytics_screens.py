"""The analytics and SQL console screens, driven by Pilot against real daemons."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Sparkline

from bifrost.config import load_config
from tests.bifrost.conftest import risk_client, services_running
from tests.conftest import write_config
from tests.tui.test_app import text, until
from tui.app import make_app
from tui.screens.analytics import AnalyticsScreen
from tui.screens.sql import SqlScreen

pytestmark = pytest.mark.timeout(90)
SERVICES = ("data", "portfolio", "execution", "analytics")


def test_analytics_and_sql_screens_on_the_live_account(tmp_path: Path, home: Path) -> None:
    config = load_config(write_config(tmp_path, services=SERVICES))

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("a")
            assert isinstance(app.screen, AnalyticsScreen)
            await until(pilot, lambda: "live account" in text(app, "#status"), timeout=20)
            assert "Sharpe" in text(app, "#stats")
            assert "trades 0" in text(app, "#extra")
            assert app.screen.query_one("#equity", Sparkline).data
            await pilot.press("S")  # from any screen
            assert isinstance(app.screen, SqlScreen)
            box = app.screen.query_one("#query", Input)
            box.value = "SELECT client_order_id, filled FROM execution.orders"
            await pilot.press("enter")
            table = app.screen.query_one("#sql-result", DataTable)
            await until(pilot, lambda: table.row_count == 1, timeout=20)
            assert table.get_row_at(0) == ["tui-1", "0.0"]
            assert "execution (daemon)" in text(app, "#sql-status")
            box.value = "DELETE FROM execution.orders"
            await pilot.press("enter")
            await until(pilot, lambda: "read-only" in text(app, "#sql-status"))
            assert table.row_count == 1
            box.value = 'SELECT * FROM "[/x] [restricted]"'  # an error quoting markup-like text
            await pilot.press("enter")
            await until(pilot, lambda: "[/x] [restricted]" in text(app, "#sql-status"))

    with services_running(config, home, SERVICES):
        order = {"client_order_id": "tui-1", "symbol": "MSFT", "side": "BUY", "quantity": 10}
        order |= {"type": "LIMIT", "limit_price": 1.0}  # rests: no fill, one open order
        with risk_client(config, home) as risk:  # no risk service in this deployment
            risk.call("execution", "order.submit", order)
        asyncio.run(scenario())
