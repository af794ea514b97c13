"""`bifrost backtest studies` as a user runs it: from the journals, then through the
strategy service with the same options and the same output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bifrost.config import load_config
from tests.bifrost.conftest import services_running
from tests.cli.test_stack import bifrost
from tests.conftest import write_config

pytestmark = pytest.mark.timeout(90)

OPTIMIZE = ("backtest", "optimize", "sma_cross", "SPY", "-p", "fast=2:20", "-p", "slow=10:60")
OPTIONS = ("--trials", "8", "--seed", "3", "--jobs", "1", "--no-store")
ASKED = (
    ("backtest", "studies", "--json"),
    ("backtest", "studies"),
    ("backtest", "studies", "one", "--top", "3", "--json"),
    ("backtest", "studies", "pair", "--json"),
    ("backtest", "studies", "pair"),
    ("backtest", "studies", "broken", "--json"),
    ("backtest", "studies", "nothing", "--json"),
)
"""What the file route and the service route are asked alike."""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, dict]]:
    """A config naming the strategy service (not started), a home with the daily sample,
    a study `one` (sharpe), a study `pair` (sharpe and max drawdown) and a damaged
    journal `broken`; and the reports optimize gave."""
    root = tmp_path_factory.mktemp("studies")
    config, home = write_config(root, ("data", "strategy")), root / "home"
    assert bifrost(config, home, "data", "sample", "--json").returncode == 0
    reports = {}
    two = ("--objective", "sharpe", "--objective", "max_drawdown")
    for name, objectives in (("one", ()), ("pair", two)):
        result = bifrost(config, home, *OPTIMIZE, *OPTIONS, *objectives, "--study", name, "--json")
        assert result.returncode == 0, result.stderr
        reports[name] = json.loads(result.stdout)
    (home / "studies" / "broken.journal").write_text("not a journal\nat all\n")
    return config, home, reports


def answers(config: Path, home: Path) -> dict[str, tuple[int, dict, str]]:
    """Each command asked: its exit code, its --json document (without its route) and
    what it printed otherwise."""
    out = {}
    for args in ASKED:
        result = bifrost(config, home, *args)
        document = json.loads(result.stdout) if "--json" in args and result.stdout else {}
        printed = "" if "--json" in args else result.stdout
        out[" ".join(args[2:])] = (result.returncode, document, printed + result.stderr)
    return out


@pytest.fixture(scope="module")
def offline(setup) -> dict[str, tuple[int, dict, str]]:
    """The answers from the journals, no service running."""
    return answers(*setup[:2])


def test_studies_lists_each_study_with_the_counts_optimize_reported(setup, offline) -> None:
    code, document, _ = offline["--json"]
    assert code == 0
    assert document["via"] == "file"
    listed = {s["name"]: s for s in document["studies"]}
    assert list(listed) == ["broken", "one", "pair"]
    assert "cannot be read" in listed["broken"]["error"]
    for name, report in setup[2].items():
        assert listed[name]["trials"] == report["trials"] == 8
        assert listed[name]["complete"] == report["complete"]
        assert listed[name]["objectives"] == report["objectives"]
    assert "sharpe" in offline[""][2]


def test_studies_name_shows_the_pareto_front_optimize_found(setup, offline) -> None:
    summary = offline["pair --json"][1]
    front = [(b["number"], b["params"], b["values"]) for b in summary["best"]]
    assert front == [(b["number"], b["params"], b["values"]) for b in setup[2]["pair"]["best"]]
    assert len(summary["points"]) == setup[2]["pair"]["complete"]
    table = offline["pair"][2]
    assert "Pareto front" in table
    first = summary["best"][0]["params"]
    assert f"fast={first['fast']} slow={first['slow']}" in table
    assert "{" not in table
    assert len(offline["one --top 3 --json"][1]["best"]) == 3


def test_studies_of_a_missing_or_damaged_study_fail_naming_it(offline) -> None:
    code, _, said = offline["nothing --json"]
    assert code == 1
    assert "no study 'nothing'" in said
    code, _, said = offline["broken --json"]
    assert code == 1
    assert "broken.journal cannot be read" in " ".join(said.split())


@pytest.mark.timeout(150)
def test_studies_through_the_strategy_service_answer_as_the_files_do(setup, offline) -> None:
    config, home, _ = setup
    with services_running(load_config(config), home, ("strategy",)):
        online = answers(config, home)
    assert online["--json"][1]["via"] == "daemon"
    assert without_route(online) == without_route(offline)


def without_route(answered: dict[str, tuple[int, dict, str]]) -> dict[str, tuple[int, dict, str]]:
    """The answers without the route each document names."""
    return {
        asked: (code, {k: v for k, v in document.items() if k != "via"}, said)
        for asked, (code, document, said) in answered.items()
    }
