"""`bifrost backtest optimize` as a user runs it, in-process (no strategy daemon running)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_stack import bifrost
from tests.conftest import write_config

SPACE = ("-p", "fast=2:20", "-p", "slow=10:60")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A config and a home holding the built-in daily sample (imported once)."""
    root = tmp_path_factory.mktemp("optimize")
    config, home = write_config(root), root / "home"
    result = bifrost(config, home, "data", "sample", "--json")
    assert result.returncode == 0, result.stderr
    return config, home


def run_json(setup: tuple[Path, Path], *args: str) -> dict:
    result = bifrost(*setup, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_optimize_stores_the_best_run_and_resumes_its_study(setup) -> None:
    args = ("backtest", "optimize", "sma_cross", "SPY", *SPACE, "--trials", "8", "--seed", "3")
    report = run_json(setup, *args, "--study", "spy")
    assert report["study"] == "spy"
    assert report["trials"] == 8
    best = report["best"][0]
    assert best["params"]["fast"] < best["params"]["slow"]
    shown = run_json(setup, "backtest", "show", best["run_id"])
    assert shown["params"] == {**best["params"], "allow_short": False}
    assert shown["stats"]["sharpe"] == pytest.approx(best["values"]["sharpe"])
    resumed = run_json(setup, "backtest", "optimize", "--resume", "spy", "--trials", "4")
    assert resumed["trials"] == 12
    assert resumed["objectives"] == ["sharpe"]


def test_optimize_two_objectives_print_a_pareto_front(setup) -> None:
    result = bifrost(
        *setup,
        "backtest",
        "optimize",
        "sma_cross",
        "SPY",
        *SPACE,
        "--trials",
        "6",
        "--objective",
        "sharpe",
        "--objective",
        "max_drawdown",
        "--no-store",
    )
    assert result.returncode == 0, result.stderr
    assert "Pareto front" in result.stdout
    assert "sma_cross-" in " ".join(result.stderr.split())


def test_optimize_resume_of_an_unknown_study_fails(setup) -> None:
    result = bifrost(*setup, "backtest", "optimize", "--resume", "nothing", "--trials", "2")
    assert result.returncode != 0
    assert "no study 'nothing'" in result.stderr
