"""`bifrost data replay` through a running data service: `--json` is one document."""

from __future__ import annotations

import json
from pathlib import Path

from bifrost.config import load_config
from bifrost.market.sample import daily_bars, xnys_sessions
from tests.bifrost.conftest import services_running
from tests.cli.test_stack import bifrost


def stored_series(config_path: Path, home: Path, tmp_path: Path) -> None:
    """GOOD: 21 daily bars of January 2024, imported offline."""
    csv = tmp_path / "GOOD.csv"
    daily_bars("GOOD", xnys_sessions("2024-01-02", "2024-01-31"), 50, 0.1, 0.2, 1).write_csv(csv)
    assert bifrost(config_path, home, "data", "import", str(csv)).returncode == 0


def test_data_replay_json_prints_one_document_with_every_bar(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    stored_series(config_path, home, tmp_path)
    with services_running(load_config(config_path), home, ("data",)):
        result = bifrost(config_path, home, "data", "replay", "GOOD", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # the whole of stdout parses as one document
    assert document["bars"] == 21 and len(document["events"]) == 21
    stamps = [event["ts"] for event in document["events"]]
    assert stamps == sorted(stamps) and len(set(stamps)) == 21
    assert {event["symbol"] for event in document["events"]} == {"GOOD"}


def test_data_replay_jsonl_streams_one_line_per_bar(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    stored_series(config_path, home, tmp_path)
    with services_running(load_config(config_path), home, ("data",)):
        result = bifrost(config_path, home, "data", "replay", "GOOD", "--jsonl")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 21 and {line["symbol"] for line in lines} == {"GOOD"}
