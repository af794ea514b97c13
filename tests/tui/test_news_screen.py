"""The news screen, driven by Pilot against a real news daemon serving from a thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import DataTable

from bifrost.config import load_config
from tests.bifrost.conftest import services_running
from tests.conftest import write_config
from tests.tui.test_app import text, until
from tui.app import make_app
from tui.screens.news import NewsScreen

pytestmark = pytest.mark.timeout(60)


def test_news_screen_shows_headlines_scores_and_rolling_sentiment(
    tmp_path: Path, home: Path
) -> None:
    extra = "[news]\nsynthetic_per_minute = 300\n"
    config = load_config(write_config(tmp_path, services=("news",), extra=extra))

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.press("n")
            assert isinstance(app.screen, NewsScreen)
            table = app.screen.query_one("#headlines", DataTable)
            await until(pilot, lambda: table.row_count >= 3, timeout=15)
            symbol, score = table.get_row_at(0)[1:3]
            assert symbol in config.feed.symbols
            assert score.style in ("green", "red", "dim")
            await until(pilot, lambda: "AAPL" in text(app, "#sentiment"))
            count = table.row_count
            await until(pilot, lambda: table.row_count > count, timeout=15)  # live events
            await pilot.press("escape")
            assert not isinstance(app.screen, NewsScreen)

    with services_running(config, home, ("news",)):
        asyncio.run(scenario())
