"""`bifrost analytics report` and `bifrost sql` as a user runs them, with no daemon running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bifrost.analytics.gateway import AnalyticsGateway
from bifrost.analytics.sources import ReportSources
from bifrost.backtest.gateway import BacktestGateway
from bifrost.backtest.runner import RunRequest
from bifrost.client import BifrostClient
from bifrost.config import load_config
from bifrost.errors import NotFound
from bifrost.market.gateway import DataGateway
from bifrost.market.sample import write_sample
from tests.cli.test_stack import bifrost
from tests.conftest import write_config


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A config, a home with the daily sample and one stored backtest run (made offline)."""
    root = tmp_path_factory.mktemp("analytics")
    config_path, home = write_config(root), root / "home"
    with BifrostClient(load_config(config_path), timeout_ms=300) as client:
        sample = [p for p in write_sample(home / "sample") if p.stem in ("SPY", "AAPL")]
        DataGateway(client, home).import_files(sample)
        run = BacktestGateway(client, home).run(RunRequest("sma_cross", ("SPY", "AAPL")))
    return config_path, home, run["run_id"]


def test_report_json_offline_with_html(setup: tuple[Path, Path, str], tmp_path: Path) -> None:
    config_path, home, run_id = setup
    page = tmp_path / "report.html"
    result = bifrost(
        config_path, home, "analytics", "report", run_id[:8], "--json", "--html", str(page)
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["subject"] == run_id and report["kind"] == "run"
    assert report["benchmark"]["symbol"] == "SPY" and report["benchmark"]["error"] is None
    assert report["summary"]["beta"] is not None
    assert {row["symbol"] for row in report["attribution"]["by_symbol"]} == {"SPY", "AAPL"}
    assert len(report["monthly"]) == 120  # ten years of the sample
    assert "<svg" in page.read_text()
    with BifrostClient(load_config(config_path), timeout_ms=300, retries=0) as client:
        gateway = AnalyticsGateway(load_config(config_path), client, home)
        stored, again = gateway.list(), gateway.show(report["report_id"])
    assert [r["report_id"] for r in stored] == [report["report_id"]]
    assert again["summary"] == report["summary"]


def test_unknown_run_id_or_benchmark_is_a_clear_error(setup: tuple[Path, Path, str]) -> None:
    config_path, home, run_id = setup
    result = bifrost(config_path, home, "analytics", "report", "nope", "--json")
    assert result.returncode == 1
    assert "no run 'nope'" in result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "NOT_FOUND"
    with (
        BifrostClient(load_config(config_path), timeout_ms=300) as client,
        pytest.raises(NotFound, match="benchmark ZZZ: no 1d bars for ZZZ"),
    ):
        ReportSources(load_config(config_path), client, home).gather(run_id, "ZZZ")


def test_sql_joins_two_stores_and_refuses_writes(setup: tuple[Path, Path, str]) -> None:
    config_path, home, _ = setup
    query = (
        "SELECT t.symbol, count(*) AS trades, min(b.timeframe) AS timeframe "
        "FROM strategy.run_trades t JOIN data.bars b ON b.symbol = t.symbol AND b.ts = t.exit_ts "
        "GROUP BY t.symbol ORDER BY t.symbol"
    )
    result = bifrost(config_path, home, "sql", query, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["columns"] == ["symbol", "trades", "timeframe"]
    assert [row[0] for row in document["rows"]] == ["AAPL", "SPY"]
    assert document["sources"]["strategy"] == "file"
    before = (home / "strategy.duckdb").read_bytes()
    refused = bifrost(config_path, home, "sql", "DELETE FROM strategy.runs", "--json")
    assert refused.returncode == 1
    assert "read-only" in json.loads(refused.stdout)["error"]["message"]
    assert (home / "strategy.duckdb").read_bytes() == before
