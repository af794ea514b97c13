"""The compliance screen, driven by Pilot against real daemons: rules, chain status, and a
rejection appearing in today's hits as compliance publishes it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable

from bifrost.bus import methods
from bifrost.config import load_config
from bifrost.errors import Rejected
from bifrost.model.commands import SubmitOrder
from tests.bifrost.conftest import services_running
from tests.conftest import write_config
from tests.tui.test_app import text, until
from tui.app import make_app
from tui.screens.compliance import ComplianceScreen

SERVICES = ("data", "portfolio", "execution", "risk", "compliance")
pytestmark = pytest.mark.timeout(60)


def test_compliance_screen_shows_rules_chain_and_a_new_rejection(
    tmp_path: Path, home: Path
) -> None:
    extra = '[compliance]\nrestricted = ["BTC-USD"]\n'
    config = load_config(write_config(tmp_path, services=SERVICES, extra=extra))

    async def scenario(bus) -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.press("C")
            assert isinstance(app.screen, ComplianceScreen)
            rules = app.screen.query_one("#rules", DataTable)
            await until(pilot, lambda: rules.row_count > 0)
            assert rules.get_row_at(0)[:2] == ["restricted", "BTC-USD"]
            await until(pilot, lambda: "audit chain OK" in text(app, "#chain"))
            hits = app.screen.query_one("#hits", DataTable)
            assert hits.row_count == 0
            with pytest.raises(Rejected):
                order = SubmitOrder.new("BTC-USD", "BUY", 1.0).to_wire()
                await asyncio.to_thread(bus.call, "risk", methods.ORDER_SUBMIT, order)
            await until(pilot, lambda: hits.row_count == 1)
            assert hits.get_row_at(0)[2:4] == ["restricted", "BTC-USD"]

    with services_running(config, home, SERVICES) as bus:
        time.sleep(0.3)  # risk has quotes to value the order
        asyncio.run(scenario(bus))
