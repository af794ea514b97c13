"""`bifrost ml ...` as a user runs it, offline (no ml daemon: the engine runs in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bifrost.client import BifrostClient
from bifrost.config import load_config
from bifrost.market.gateway import DataGateway
from bifrost.market.sample import write_sample
from tests.cli.test_stack import bifrost
from tests.conftest import write_config


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A config (data and ml, neither running) and a home holding the daily sample."""
    root = tmp_path_factory.mktemp("ml-cli")
    config, home = write_config(root, services=("data", "ml")), root / "home"
    with BifrostClient(load_config(config), timeout_ms=300) as client:
        DataGateway(client, home).import_files(write_sample(home / "sample"))
    return config, home


def run_json(setup: tuple[Path, Path], *args: str) -> dict:
    result = bifrost(*setup, "ml", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_train_list_show_predict_offline_write_the_registry_file(setup) -> None:
    trained = run_json(
        setup, "train", "cli", "--symbols", "SPY,AAPL", "--kind", "logistic",
        "--horizon", "5", "--start", "2016-01-01", "--end", "2024-01-01", "--folds", "3",
    )
    assert trained["via"] == "file" and trained["version"] == 1
    assert trained["symbols"] == ["SPY", "AAPL"] and len(trained["metrics"]["folds"]) == 3
    assert (setup[1] / "ml.duckdb").exists()
    listed = run_json(setup, "list")["models"]
    assert [(m["name"], m["version"], m["kind"]) for m in listed] == [("cli", 1, "logistic")]
    prediction = run_json(setup, "predict", "cli", "SPY")
    assert prediction["model"] == "cli" and prediction["signal"] in ("long", "flat")
    assert prediction["bar_ts"] == 1735603200 * 10**9  # the sample's last day, 2024-12-31


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("predict", "nope", "SPY"), "no model 'nope'"),
        (("patterns", "NOPE"), "no 1d bars for NOPE"),
        (
            ("train", "x", "--symbols", "SPY", "--start", "2030-01-01", "--end", "2030-02-01"),
            "no 1d bars for SPY in 2030-01-01 .. 2030-02-01",
        ),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_1(setup, args: tuple[str, ...], message) -> None:
    result = bifrost(*setup, "ml", *args, "--json")
    assert result.returncode == 1
    assert message in json.loads(result.stdout)["error"]["message"]
    assert message in result.stderr
