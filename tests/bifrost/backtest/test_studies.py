"""Stored Optuna studies read back from their journals: listed, summarised, never rerun."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bifrost.backtest.optimize import StudySettings, optimize, study_path
from bifrost.backtest.runner import RunRequest
from bifrost.backtest.studies import list_studies, params_text, study_summary
from bifrost.errors import BadRequest, NotFound
from bifrost.strategy.bars import BarArrays

pytestmark = pytest.mark.timeout(60)

DAY_NS = 86_400_000_000_000
REQUEST = RunRequest("sma_cross", ("AAA",), engine="vector", periods_per_year=252)
SPACE = ["fast=2:30", "slow=5:60"]


def bars() -> dict[str, BarArrays]:
    """400 daily bars of a noisy cycle: some SMA pairs follow it, most do not."""
    rng = np.random.default_rng(7)
    n = 400
    steps = rng.normal(0.0002, 0.01, n) + 0.006 * np.sin(np.arange(n) / 12)
    close = 100 * np.exp(np.cumsum(steps))
    ts = (np.arange(n, dtype=np.int64) + 18_000) * DAY_NS
    return {"AAA": BarArrays(ts, close, close * 1.01, close * 0.99, close, np.ones(n))}


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A home with a one-objective study `one` and a two-objective study `pair`, and the
    reports optimize gave for them."""
    home = tmp_path_factory.mktemp("studies")
    data = bars()
    one = StudySettings.of(REQUEST, SPACE, ["sharpe"], seed=11)
    pair = StudySettings.of(REQUEST, SPACE, ["sharpe", "max_drawdown"], seed=11)
    return home, {
        "one": optimize(home, "one", one, data, trials=16),
        "pair": optimize(home, "pair", pair, data, trials=16),
    }


@pytest.fixture
def copied(studies, tmp_path: Path) -> Path:
    """A copy of the studies' home that a test may damage."""
    home = tmp_path / "home"
    shutil.copytree(studies[0], home)
    return home


COUNTS = ("trials", "complete", "pruned", "skipped", "skipped_by_rule", "failed")


def test_list_studies_gives_each_study_its_counts_and_best_values(studies) -> None:
    home, reports = studies
    listed = {s["name"]: s for s in list_studies(home)}
    assert list(listed) == ["one", "pair"]
    for name, report in reports.items():
        assert {k: listed[name][k] for k in COUNTS} == {k: report[k] for k in COUNTS}
        assert listed[name]["objectives"] == report["objectives"]
        assert listed[name]["strategy"] == "sma_cross"
        assert listed[name]["symbols"] == ["AAA"]
        assert listed[name]["running"] == 0
    assert listed["one"]["best"] == {"sharpe": reports["one"]["best"][0]["values"]["sharpe"]}
    assert listed["pair"]["front"] == len(reports["pair"]["best"])
    front = [b["values"]["sharpe"] for b in reports["pair"]["best"]]
    assert listed["pair"]["best"]["sharpe"] == max(front)


def test_study_summary_of_one_objective_ranks_the_top_complete_trials(studies) -> None:
    home, reports = studies
    summary = study_summary(home, "one", top=3)
    values = [b["values"]["sharpe"] for b in summary["best"]]
    assert len(values) == 3
    assert values == sorted(values, reverse=True)
    best = reports["one"]["best"][0]
    assert (summary["best"][0]["number"], summary["best"][0]["params"]) == (
        best["number"],
        best["params"],
    )
    assert summary["best"][0]["stats"]["sharpe"] == pytest.approx(values[0])
    assert summary["points"] == []
    assert summary["settings"]["space"] == SPACE


def test_study_summary_of_two_objectives_gives_the_front_and_every_point(studies) -> None:
    home, reports = studies
    summary = study_summary(home, "pair")
    front = [(b["number"], b["params"], b["values"]) for b in summary["best"]]
    assert front == [(b["number"], b["params"], b["values"]) for b in reports["pair"]["best"]]
    assert len(summary["points"]) == reports["pair"]["complete"]
    points = {p["number"]: p["values"] for p in summary["points"]}
    assert all(points[number] == values for number, _, values in front)


def test_study_summary_of_a_missing_study_is_not_found(studies) -> None:
    with pytest.raises(NotFound, match="no study 'nothing'"):
        study_summary(studies[0], "nothing")


def test_list_studies_without_a_studies_folder_is_empty(tmp_path: Path) -> None:
    assert list_studies(tmp_path) == []


def test_an_unreadable_journal_is_a_bad_request_naming_its_file(copied: Path) -> None:
    path = study_path(copied, "one")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([lines[0], "not json\n", *lines[1:]]))
    with pytest.raises(BadRequest, match=re.escape(f"study journal {path} cannot be read")):
        study_summary(copied, "one")
    listed = {s["name"]: s for s in list_studies(copied)}
    assert str(path) in listed["one"]["error"]
    assert listed["pair"]["trials"] == 16  # one damaged journal hides no other study


def test_a_journal_of_another_study_is_a_bad_request(copied: Path) -> None:
    study_path(copied, "one").rename(study_path(copied, "renamed"))
    with pytest.raises(BadRequest, match="holds no study 'renamed'"):
        study_summary(copied, "renamed")


def test_reading_waits_for_no_lock_and_skips_a_line_being_written(copied: Path) -> None:
    path = study_path(copied, "pair")
    os.symlink(path, f"{path}.lock")  # the lock an appending optimize holds
    with path.open("a") as journal:
        journal.write('{"op_code": 4, "worker_id"')  # an append half written
    size = path.stat().st_size
    started = time.monotonic()
    summary = study_summary(copied, "pair")
    assert time.monotonic() - started < 5  # Optuna's writers wait up to 30 s for the lock
    assert summary["trials"] == 16
    assert path.stat().st_size == size  # nothing written


def test_params_text_is_as_a_person_types_it() -> None:
    assert params_text({"fast": 5, "slow": 20, "kind": "ema"}) == "fast=5 slow=20 kind=ema"
