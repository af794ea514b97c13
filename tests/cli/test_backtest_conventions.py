"""`bifrost backtest` refuses inputs that make no sense and takes the conventions a user
sets, the same way in-process (no daemon) and through a running strategy daemon."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.config import load_config
from tests.bifrost.conftest import DaemonThread
from tests.cli.test_backtest import USER_STRATEGY
from tests.cli.test_stack import bifrost
from tests.conftest import write_config

Route = tuple[Path, Path]


def sample_home(root: Path) -> Route:
    """A config (data and strategy services) and a home holding the daily sample."""
    config, home = write_config(root, services=("data", "strategy")), root / "home"
    result = bifrost(config, home, "data", "sample", "--json")
    assert result.returncode == 0, result.stderr
    return config, home


@pytest.fixture(scope="module", params=["offline", "daemon"])
def route(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The CLI's two routes: files in-process, or the data and strategy daemons running."""
    config, home = sample_home(tmp_path_factory.mktemp(f"conventions-{request.param}"))
    if request.param == "offline":
        yield config, home
        return
    loaded = load_config(config)
    threads = [DaemonThread(loaded, home, "data"), DaemonThread(loaded, home, "strategy")]
    try:
        for thread in threads:
            thread.start()
        yield config, home
    finally:
        for thread in reversed(threads):
            thread.stop()


def through_daemon(route: Route) -> bool:
    """True on the route where the data and strategy daemons run."""
    return route[1].parent.name.startswith("conventions-daemon")


def run_json(route: Route, *args: str) -> dict:
    result = bifrost(*route, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["-p", "fast=30", "-p", "slow=10"], "fast=30 breaks fast < slow (slow=10)"),
        (["-p", "fast=0"], "fast=0 breaks fast >= 1"),
        (["--commission", "10"], "--commission '10' reads as 10 = 1000.0000% of notional"),
        (["--commission", "-0.001"], "--commission '-0.001' must be finite and not negative"),
        (["--slippage", "-5"], "--slippage -5 bps must be between 0 and 500"),
        (["--periods-per-year", "0"], "--periods-per-year 0 must be above 0"),
    ],
)
@pytest.mark.timeout(120)
def test_backtest_run_input_that_makes_no_sense_exits_2_naming_it(
    route: Route, args: list[str], named: str
) -> None:
    result = bifrost(*route, "backtest", "run", "sma_cross", "SPY", *args)
    assert result.returncode == 2, result.stderr
    assert named in result.stderr.replace("\n", " ")


def test_backtest_run_refusal_as_json_carries_the_parameter(route: Route) -> None:
    result = bifrost(*route, "backtest", "run", "sma_cross", "SPY", "-p", "fast=40", "--json")
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "BAD_REQUEST"
    assert error["details"] == {"parameter": "fast", "constraint": "fast < slow"}


def test_backtest_run_echoes_costs_and_annualisation_as_read(route: Route) -> None:
    args = ["backtest", "run", "sma_cross", "SPY", "--commission", "0.1%", "--slippage", "5"]
    run = run_json(route, *args)
    assert run["via"] == ("daemon" if through_daemon(route) else "file")
    settings = run["settings"]
    assert settings["commission_read"] == "0.1% of notional (0.001)"
    assert settings["slippage_read"] == "5 bps (0.0005)"
    assert settings["periods_per_year_used"] == 252
    assert settings["annualisation"] == "equity: 252 days a year of 6.5 h"
    table = bifrost(*route, *args)
    assert table.returncode == 0, table.stderr
    assert "0.1% of notional (0.001)" in table.stdout
    assert "252 (equity: 252 days a year of 6.5 h)" in table.stdout


def test_backtest_run_periods_per_year_overrides_the_annualisation(route: Route) -> None:
    base = run_json(route, "backtest", "run", "sma_cross", "SPY")
    crypto = run_json(route, "backtest", "run", "sma_cross", "SPY", "--periods-per-year", "365")
    assert crypto["settings"]["periods_per_year_used"] == 365
    assert crypto["settings"]["annualisation"] == "given (--periods-per-year)"
    ratio = crypto["stats"]["sharpe"] / base["stats"]["sharpe"]
    assert ratio == pytest.approx(math.sqrt(365 / 252), rel=1e-9)
    assert crypto["stats"]["total_return_pct"] == base["stats"]["total_return_pct"]


def test_backtest_run_no_close_at_end_leaves_the_position_open(
    route: Route, tmp_path: Path
) -> None:
    path = tmp_path / "mine.py"
    path.write_text(USER_STRATEGY)
    args = ["backtest", "run", "buy_and_hold", "MSFT", "--file", str(path)]
    closed = run_json(route, *args)
    held = run_json(route, *args, "--no-close-at-end")
    assert (closed["stats"]["trades"], held["stats"]["trades"]) == (1, 0)
    assert (closed["settings"]["close_at_end"], held["settings"]["close_at_end"]) == (True, False)
    assert held["stats"]["exposure_pct"] == closed["stats"]["exposure_pct"]


@pytest.mark.parametrize("engine", ["event", "vector"])
def test_backtest_run_long_short_sells_short_on_either_engine(route: Route, engine: str) -> None:
    run = run_json(
        route, "backtest", "run", "sma_cross", "SPY", "-p", "allow_short=true", "--engine", engine
    )
    sizes = [t["size"] for t in run["trades"]]
    assert any(s < 0 for s in sizes) and any(s > 0 for s in sizes)


def test_backtest_long_short_engines_agree_from_the_cli(route: Route) -> None:
    args = ["backtest", "run", "sma_cross", "NVDA", "-p", "allow_short=true"]
    event = run_json(route, *args, "--engine", "event", "--commission", "0.001")
    vector = run_json(route, *args, "--engine", "vector", "--commission", "0.001")
    assert event["stats"]["trades"] == vector["stats"]["trades"] > 3
    assert event["stats"]["equity_final"] == pytest.approx(vector["stats"]["equity_final"])


@pytest.mark.timeout(120)
def test_backtest_sweep_skips_and_counts_points_that_break_a_constraint(route: Route) -> None:
    grid = ["-p", "fast=10,20,40,50", "-p", "slow=30"]
    result = run_json(route, "backtest", "sweep", "sma_cross", "SPY", *grid, "--jobs", "1")
    assert result["points"] == 2
    assert (result["skipped"], result["skipped_by_rule"]) == (2, {"fast < slow": 2})
    assert {r["params"]["fast"] for r in result["results"]} == {10, 20}
    table = bifrost(*route, "backtest", "sweep", "sma_cross", "SPY", *grid, "--jobs", "1")
    assert table.returncode == 0, table.stderr
    assert "2 points skipped (fast < slow: 2)" in table.stdout


def test_backtest_sweep_every_point_broken_exits_2(route: Route) -> None:
    grid = ["-p", "fast=40,50", "-p", "slow=30"]
    result = bifrost(*route, "backtest", "sweep", "sma_cross", "SPY", *grid)
    assert result.returncode == 2
    assert "every grid point breaks a constraint" in result.stderr.replace("\n", " ")


@pytest.mark.timeout(120)
def test_backtest_walkforward_skips_counts_and_keeps_conventions(route: Route) -> None:
    report = run_json(
        route,
        *["backtest", "walkforward", "sma_cross", "SPY", "-p", "fast=10,40", "-p", "slow=30"],
        *["--train", "504", "--test", "504", "--jobs", "1", "--no-close-at-end"],
    )
    assert (report["skipped"], report["trials"]) == (1, 1)
    assert all(w["params"]["fast"] == 10 for w in report["windows"])


def test_strategy_start_with_a_broken_constraint_exits_2(route: Route) -> None:
    args = ["strategy", "start", "sma_cross", "SPY", "-p", "fast=5", "-p", "slow=5"]
    result = bifrost(*route, *args)
    if not through_daemon(route):
        assert result.returncode == 3  # live strategies need the strategy service
        return
    assert result.returncode == 2, result.stderr
    assert "fast=5 breaks fast < slow" in result.stderr.replace("\n", " ")


@pytest.mark.timeout(180)
def test_backtest_sweep_walkforward_and_optimize_on_a_research_cluster_match_a_run_here(
    route: Route,
) -> None:
    grid = ["-p", "fast=5:25:5", "-p", "slow=30:60:10"]
    sweep = ["backtest", "sweep", "sma_cross", "SPY", *grid, "--start", "2020-01-01"]
    here, spread = run_json(route, *sweep, "--jobs", "1"), run_json(route, *sweep, "--jobs", "2")
    assert here["via"] == ("service" if through_daemon(route) else "here")
    assert spread["via"] == "cluster"
    assert spread["results"] == here["results"] and len(here["results"]) == 20
    walk = ["backtest", "walkforward", "sma_cross", "SPY", *grid, "--train", "300", "--test", "200"]
    assert run_json(route, *walk, "--jobs", "2") == run_json(route, *walk, "--jobs", "1")
    study = ["backtest", "optimize", "sma_cross", "SPY", *grid, "--trials", "12", "--no-store"]
    two = [*study, "--sampler", "random", "--seed", "4", "--objective", "sharpe"]
    two += ["--objective", "max_drawdown"]
    spread_study = run_json(route, *two, "--jobs", "2", "--study", "on-cluster")
    here_study = run_json(route, *two, "--jobs", "1", "--study", "here")
    assert spread_study["best"] == here_study["best"] and here_study["best"]
