"""A screen's read from a service that does not answer says so on the screen's status line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bifrost.config import load_config
from tests.conftest import write_config
from tests.tui.test_app import text, until
from tui.app import make_app
from tui.screens.strategies import StrategiesScreen

pytestmark = pytest.mark.timeout(60)


def test_a_service_that_is_down_is_named_on_the_status_line(tmp_path: Path, home: Path) -> None:
    config = load_config(write_config(tmp_path, services=("strategy",)))

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.press("l")
            assert isinstance(app.screen, StrategiesScreen)
            await until(
                pilot, lambda: "strategy service unavailable" in text(app, "#status"), timeout=15
            )

    asyncio.run(scenario())
