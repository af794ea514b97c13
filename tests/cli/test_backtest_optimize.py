"""`bifrost backtest optimize` as a user runs it, in-process (no strategy daemon running)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_stack import bifrost
from tests.conftest import write_config

SPACE = ("-p", "fast=2:20", "-p", "slow=10:60")
WALK = ("--walkforward", "--train", "300", "--test", "200", "--start", "2020-01-01")


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


def without_route(report: dict) -> dict:
    """A report without what names its study file, its route and its stored runs."""
    best = [{k: v for k, v in b.items() if k != "run_id"} for b in report["best"]]
    kept = {k: v for k, v in report.items() if k not in ("study", "storage", "via")}
    return kept | {"best": best}


@pytest.mark.timeout(150)
def test_optimize_and_its_walkforward_agree_with_the_daemons_up(tmp_path: Path) -> None:
    config, home = write_config(tmp_path, ("data", "strategy")), tmp_path / "home"
    assert bifrost(config, home, "data", "sample", "--json").returncode == 0
    args = ("backtest", "optimize", "sma_cross", "SPY", *SPACE, "--trials", "6", "--seed", "5")
    offline = run_json((config, home), *args, "--study", "off")
    walked_offline = run_json((config, home), *args, *WALK)
    up = bifrost(config, home, "up", "--timeout", "90", "--json")
    try:
        assert up.returncode == 0, up.stderr
        online = run_json((config, home), *args, "--study", "on")
        walked_online = run_json((config, home), *args, *WALK)
        shown = run_json((config, home), "backtest", "show", online["best"][0]["run_id"])
    finally:
        bifrost(config, home, "down")
    assert (offline["via"], online["via"]) == ("file", "daemon")
    assert without_route(online) == without_route(offline)
    assert shown["params"]["fast"] == online["best"][0]["params"]["fast"]
    assert len(walked_offline["windows"]) >= 3
    assert all(w["params"]["fast"] < w["params"]["slow"] for w in walked_offline["windows"])
    assert walked_online.pop("via") == "daemon"
    assert walked_offline.pop("via") == "file"
    assert walked_online == walked_offline
