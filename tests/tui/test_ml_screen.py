"""The ML screen, driven by Pilot against real data and ml daemons."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import DataTable

from bifrost.ml.registry import ModelRegistry, store_path
from bifrost.ml.training import TrainRequest, train_model
from bifrost.store.database import open_store
from bifrost.store.schema import ML
from tests.bifrost.conftest import services_running
from tests.bifrost.ml.synthetic import bars
from tests.daemons.test_ml_daemon import SERVICES, live_config, seed_stores
from tests.tui.test_app import until
from tui.app import make_app
from tui.screens.ml import MLScreen

pytestmark = pytest.mark.timeout(90)


def register_model(home: Path) -> None:
    """An AAPL model in the registry before the ml service starts."""
    trained = train_model(
        TrainRequest("tui", ("AAPL",), kind="logistic", horizon=1, folds=3),
        {"AAPL": bars(400, seed=21)},
    )
    connection = open_store(store_path(home), migrations=ML)
    try:
        ModelRegistry(connection, home).save(trained, "test")
    finally:
        connection.close()


def test_ml_screen_lists_models_and_shows_live_signals(tmp_path: Path, home: Path) -> None:
    config = live_config(tmp_path)
    seed_stores(config, home)
    register_model(home)

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("i")
            assert isinstance(app.screen, MLScreen)
            models = app.screen.query_one("#models", DataTable)
            await until(pilot, lambda: models.row_count == 1)
            assert models.get_row_at(0)[:3] == ["tui", "1", "logistic"]
            signals = app.screen.query_one("#signals", DataTable)
            await until(pilot, lambda: signals.row_count == 1, timeout=20)
            row = signals.get_row_at(0)
            assert row[:2] == ["AAPL", "tui v1"] and 0.0 <= float(row[2]) <= 1.0
            await pilot.press("escape")
            assert not isinstance(app.screen, MLScreen)

    with services_running(config, home, SERVICES):
        asyncio.run(scenario())
