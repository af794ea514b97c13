"""`bifrost backtest ...` as a user runs it, in-process (no strategy daemon running)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.cli.test_stack import bifrost
from tests.conftest import write_config

USER_STRATEGY = '''
from bifrost.strategy.strategy import Strategy


class BuyAndHold(Strategy):
    """Buys on the first bar and holds."""

    name = "buy_and_hold"
    fraction: float = 0.5

    def on_bar(self, bar):
        if self.position() == 0:
            self.buy(fraction=self.fraction)
'''


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A config and a home holding the built-in daily sample (imported once)."""
    root = tmp_path_factory.mktemp("backtest")
    config, home = write_config(root), root / "home"
    result = bifrost(config, home, "data", "sample", "--json")
    assert result.returncode == 0, result.stderr
    return config, home


def run_json(setup: tuple[Path, Path], *args: str) -> dict:
    result = bifrost(*setup, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_backtest_run_stores_a_run_that_list_and_show_return(setup) -> None:
    run = run_json(
        setup,
        "backtest",
        "run",
        "sma_cross",
        "AAPL",
        "-p",
        "fast=5",
        "--commission",
        "0.1%",
        "--start",
        "2020-01-01",
    )
    assert run["params"] == {"fast": 5, "slow": 30, "allow_short": False}
    assert run["stats"]["trades"] == len(run["trades"]) > 0
    listed = run_json(setup, "backtest", "list")["runs"]
    assert run["run_id"] in [r["run_id"] for r in listed]
    shown = run_json(setup, "backtest", "show", run["run_id"][:8])
    assert shown["stats"] == run["stats"]
    assert len(shown["equity"]) == run["stats"]["bars"]


def test_backtest_vector_and_event_engines_agree_from_the_cli(setup) -> None:
    event = run_json(setup, "backtest", "run", "sma_cross", "SPY", "--engine", "event")
    vector = run_json(setup, "backtest", "run", "sma_cross", "SPY", "--engine", "vector")
    assert event["stats"]["equity_final"] == pytest.approx(vector["stats"]["equity_final"])
    assert event["stats"]["trades"] == vector["stats"]["trades"]
    compared = run_json(setup, "backtest", "compare", event["run_id"], vector["run_id"])
    assert compared["stats"]["trades"] == [event["stats"]["trades"]] * 2


def test_backtest_run_strategy_from_user_file(setup, tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(USER_STRATEGY)
    run = run_json(setup, "backtest", "run", "buy_and_hold", "MSFT", "--file", str(path))
    assert run["params"] == {"fraction": 0.5}
    assert run["stats"]["trades"] == 1
    assert 45 < run["stats"]["exposure_pct"] <= 100


def test_backtest_sweep_ranks_every_grid_point(setup) -> None:
    result = run_json(
        setup,
        "backtest",
        "sweep",
        "sma_cross",
        "NVDA",
        "-p",
        "fast=5:20:5",
        "-p",
        "slow=30,60",
        "--jobs",
        "2",
    )
    assert result["points"] == 8
    sharpes = [r["stats"]["sharpe"] for r in result["results"]]
    assert sharpes == sorted(sharpes, reverse=True)
    assert {(r["params"]["fast"], r["params"]["slow"]) for r in result["results"]} == {
        (f, s) for f in (5, 10, 15, 20) for s in (30, 60)
    }


def test_backtest_walkforward_trades_every_test_window(setup) -> None:
    report = run_json(
        setup,
        "backtest",
        "walkforward",
        "sma_cross",
        "SPY",
        "-p",
        "fast=5,10",
        "-p",
        "slow=30,50",
        "--train",
        "504",
        "--test",
        "252",
        "--jobs",
        "1",
    )
    windows = report["windows"]
    assert len(windows) == (2516 - 504) // 252
    assert all(w["params"]["fast"] in (5, 10) for w in windows)
    assert all(a["test"][1] < b["test"][0] for a, b in itertools.pairwise(windows))
    assert report["trials"] == 4
    assert report["deflated_sharpe"] is None or 0 <= report["deflated_sharpe"] <= 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "nope", "AAPL"], 1, "no strategy 'nope'"),
        (["run", "sma_cross", "AAPL", "-p", "fast=abc"], 2, "fast='abc'"),
        (["run", "sma_cross", "AAPL", "-p", "speed=3"], 2, "no parameter 'speed'"),
        (["run", "sma_cross", "AAPL", "--start", "2030-01-01"], 1, "no 1d bars"),
        (
            ["run", "sma_cross", "AAPL", "--start", "2024-01-01", "--end", "2023-01-01"],
            1,
            "start of the range",
        ),
        (["run", "sma_cross", "AAPL", "-p", "fast"], 2, "name=value"),
        (["run", "sma_cross", "AAPL", "--engine", "warp"], 1, "engine 'warp'"),
        (["run", "momentum_rotation", "AAPL", "--engine", "vector"], 1, "--engine event"),
        (["sweep", "sma_cross", "AAPL", "-p", "fast=5:x:5"], 1, "not numbers"),
        (["show", "000000"], 1, "no run"),
    ],
)
def test_backtest_bad_input_exits_with_a_clear_error(setup, args, code, message) -> None:
    result = bifrost(*setup, "backtest", *args)
    assert result.returncode == code
    assert message in result.stderr.replace("\n", " ")
