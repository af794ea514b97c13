"""Optuna studies over a strategy's parameters: seeded, resumable, single or multi objective."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest

from bifrost.backtest.optimize import StudySettings, optimize, study_path, study_settings
from bifrost.backtest.runner import RunRequest
from bifrost.errors import BadRequest, Conflict, NotFound
from bifrost.strategy.bars import BarArrays

DAY_NS = 86_400_000_000_000


@pytest.fixture(scope="module")
def data() -> dict[str, BarArrays]:
    """400 daily bars of a noisy cycle: some SMA pairs follow it, most do not."""
    rng = np.random.default_rng(7)
    n = 400
    steps = rng.normal(0.0002, 0.01, n) + 0.006 * np.sin(np.arange(n) / 12)
    close = 100 * np.exp(np.cumsum(steps))
    ts = (np.arange(n, dtype=np.int64) + 18_000) * DAY_NS
    return {"AAA": BarArrays(ts, close, close * 1.01, close * 0.99, close, np.ones(n))}


REQUEST = RunRequest("sma_cross", ("AAA",), engine="vector", periods_per_year=252)


def settings(*objectives: str, sampler: str = "tpe", space: tuple[str, ...] = ()) -> StudySettings:
    specs = list(space or ("fast=2:30", "slow=5:60"))
    return StudySettings.of(REQUEST, specs, list(objectives), sampler, seed=11)


def test_optimize_seeded_tpe_finds_the_same_best_params_twice(tmp_path: Path, data) -> None:
    first = optimize(tmp_path / "a", "s", settings("sharpe"), data, trials=20)
    second = optimize(tmp_path / "b", "s", settings("sharpe"), data, trials=20)
    assert first["trials"] == 20
    assert first["best"][0]["params"] == second["best"][0]["params"]
    assert first["best"][0]["values"] == second["best"][0]["values"]
    assert 0.0 <= first["best"][0]["deflated_sharpe"] <= 1.0
    assert first["trials_run"] == first["complete"] + first["pruned"]


def test_optimize_resume_adds_trials_to_the_same_study(tmp_path: Path, data) -> None:
    optimize(tmp_path, "s", settings("sharpe"), data, trials=8)
    stored = study_settings(tmp_path, "s")
    assert stored == settings("sharpe")
    done = []
    resumed = optimize(
        tmp_path, "s", stored, data, trials=5, resume=True, progress=lambda d, t: done.append(d)
    )
    assert resumed["trials"] == 13
    assert done == [1, 2, 3, 4, 5]
    assert [p.name for p in study_path(tmp_path, "s").parent.iterdir()] == ["s.journal"]


def test_optimize_refuses_a_new_study_over_an_old_one_or_a_missing_resume(
    tmp_path: Path, data
) -> None:
    optimize(tmp_path, "s", settings("sharpe"), data, trials=2)
    with pytest.raises(Conflict):
        optimize(tmp_path, "s", settings("sharpe"), data, trials=2)
    with pytest.raises(NotFound):
        optimize(tmp_path, "t", settings("sharpe"), data, trials=2, resume=True)


def test_optimize_two_objectives_report_the_pareto_front(tmp_path: Path, data) -> None:
    report = optimize(tmp_path, "m", settings("sharpe", "max_drawdown"), data, trials=20)
    assert report["objectives"] == ["sharpe", "max_drawdown_pct"]
    assert report["pruned"] == 0
    front = [tuple(b["values"].values()) for b in report["best"]]
    assert front
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(report["storage"])
    )
    study = optuna.load_study(study_name="m", storage=storage)
    complete = [t.values for t in study.trials if t.state.name == "COMPLETE"]
    for point in front:  # nothing that completed beats a front point on both objectives
        assert not any(
            v[0] >= point[0] and v[1] >= point[1] and tuple(v) != point for v in complete
        )


def test_optimize_never_reports_a_trial_that_breaks_a_constraint(tmp_path: Path, data) -> None:
    space = ("fast=2:60", "slow=5:30")
    report = optimize(tmp_path, "c", settings("sharpe", space=space), data, trials=25)
    assert report["skipped_by_rule"].get("fast < slow", 0) > 0
    best = report["best"][0]["params"]
    assert best["fast"] < best["slow"]


@pytest.mark.parametrize("sampler", ["cmaes", "random", "grid"])
def test_optimize_other_samplers_run_a_study(tmp_path: Path, data, sampler: str) -> None:
    space = ("fast=2:10:2", "slow=10:40:10")
    report = optimize(
        tmp_path, sampler, settings("sharpe", sampler=sampler, space=space), data, trials=8
    )
    assert report["sampler"] == sampler
    assert report["complete"] > 0


def test_optimize_space_errors_name_the_parameter(tmp_path: Path, data) -> None:
    with pytest.raises(BadRequest, match="integer"):
        optimize(tmp_path, "e", settings(space=("fast=2.5:9",)), data, trials=1)
    with pytest.raises(BadRequest, match="nope"):
        optimize(tmp_path, "e", settings(space=("nope=1:3",)), data, trials=1)
    with pytest.raises(BadRequest, match="objective"):
        settings("no_such_stat")


def test_optimize_walk_forward_trades_each_test_window_with_its_study_best(data) -> None:
    from bifrost.backtest.optimize_walkforward import optimize_walk_forward

    report = optimize_walk_forward(
        settings("sharpe"), data, trials=10, train=150, test=50, progress=None
    )
    assert len(report["windows"]) == 5
    for window in report["windows"]:
        assert window["params"]["fast"] < window["params"]["slow"]
        assert window["out_of_sample"]["bars"] == 50
    assert report["trials"] > 0 and report["skipped"] > 0
    assert len(report["equity"]["equity"]) == 250
    assert report["deflated_sharpe"] is None or 0.0 <= report["deflated_sharpe"] <= 1.0
    with pytest.raises(BadRequest, match="one objective"):
        optimize_walk_forward(settings("sharpe", "sortino"), data, trials=2, train=150, test=50)
