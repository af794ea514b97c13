"""The studies view of the backtests screen, driven by Pilot against a real strategy service."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.widgets import DataTable

from bifrost.backtest.optimize import StudySettings, optimize
from bifrost.backtest.runner import RunRequest
from bifrost.backtest.studies import params_text, study_summary
from bifrost.config import load_config
from bifrost.strategy.bars import BarArrays
from tests.bifrost.conftest import services_running
from tests.conftest import write_config
from tests.tui.test_app import text, until
from tui.app import make_app
from tui.screens.backtests import BacktestsScreen
from tui.screens.studies import StudiesScreen, draw_front

pytestmark = pytest.mark.timeout(60)

DAY_NS = 86_400_000_000_000
REQUEST = RunRequest("sma_cross", ("AAA",), engine="vector", periods_per_year=252)
SPACE = ["fast=2:30", "slow=5:60"]


def make_studies(home: Path) -> dict[str, Any]:
    """A one-objective study `one` and a two-objective study `pair` over 400 daily bars;
    the report of `pair`."""
    rng = np.random.default_rng(7)
    n = 400
    close = 100 * np.exp(np.cumsum(rng.normal(0.0002, 0.01, n) + 0.006 * np.sin(np.arange(n) / 12)))
    ts = (np.arange(n, dtype=np.int64) + 18_000) * DAY_NS
    data = {"AAA": BarArrays(ts, close, close * 1.01, close * 0.99, close, np.ones(n))}
    optimize(home, "one", StudySettings.of(REQUEST, SPACE, ["sharpe"], seed=5), data, trials=8)
    pair = StudySettings.of(REQUEST, SPACE, ["sharpe", "max_drawdown"], seed=5)
    return optimize(home, "pair", pair, data, trials=16)


def column(table: DataTable, index: int) -> list[str]:
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]


def test_studies_view_shows_a_study_pareto_front_and_its_plot(tmp_path: Path, home) -> None:
    config = load_config(write_config(tmp_path, services=("strategy",)))
    report = make_studies(home)
    front = [b["number"] for b in report["best"]]
    assert front

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 60)) as pilot:
            await pilot.press("p")
            assert isinstance(app.screen, BacktestsScreen)
            await pilot.press("o")
            assert isinstance(app.screen, StudiesScreen)
            studies = app.screen.query_one("#studies", DataTable)
            await until(pilot, lambda: studies.row_count == 2, timeout=20)
            assert column(studies, 0) == ["one", "pair"]
            await pilot.press("down", "enter")
            trials = app.screen.query_one("#trials", DataTable)
            await until(pilot, lambda: trials.row_count == len(front), timeout=20)
            assert column(trials, 0) == [str(n) for n in front]
            assert column(trials, 1) == [params_text(b["params"]) for b in report["best"]]
            assert "{" not in " ".join(column(trials, 1))
            await until(pilot, lambda: "Pareto front" in text(app, "#front"))
            assert "study pair: Pareto front" in text(app, "#status")
            await pilot.press("up", "enter")  # one objective: its best trials, no plot
            await until(pilot, lambda: "best trials" in text(app, "#status"), timeout=20)
            assert text(app, "#front").strip() == ""
            assert trials.get_row_at(0)[0] == str(report_best(home, "one"))

    with services_running(config, home, ("strategy",)):
        asyncio.run(scenario())


def report_best(home: Path, name: str) -> int:
    """The number of the study's best trial, read from its journal."""
    return int(study_summary(home, name, top=1)["best"][0]["number"])


def test_draw_front_plots_every_complete_trial_and_marks_the_front(tmp_path: Path) -> None:
    make_studies(tmp_path)
    summary = study_summary(tmp_path, "pair")
    drawn, panels = draw_front(summary, 120)
    (panel,) = panels
    cloud, marked = panel.series
    assert cloud == tuple(p["values"]["max_drawdown_pct"] for p in summary["points"])
    assert marked == tuple(b["values"]["max_drawdown_pct"] for b in summary["best"])
    assert panel.title == "study pair: Pareto front"
    assert "max_drawdown_pct" in drawn
