"""`bifrost data import --strict` and `data quarantine list|release`, offline and through
a running data daemon with the same options, and readers on extreme but valid values."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bifrost.config import load_config
from tests.bifrost.conftest import DaemonThread
from tests.cli.test_stack import bifrost

JUMP_LINE = 32
"""The line of the pandas-layout file below whose close jumps +25 % and stays there."""


def write_pandas_csv(path: Path) -> Path:
    """40 daily bars as pandas' to_csv writes them (unnamed date index), one +25 % gap,
    one non-finite row and one garbage line."""
    lines = [",Open,High,Low,Close,Volume"]
    for day in range(40):
        close = 100 * math.exp(0.01 * math.sin(day * 1.7)) * (1.25 if day >= JUMP_LINE - 2 else 1)
        date = f"2024-01-{day + 1:02d}" if day < 31 else f"2024-02-{day - 30:02d}"
        lines.append(f"{date},{close},{close + 1},{close - 1},{close},1000")
    lines += ["2024-02-10,1,inf,1,1,1", "not,a,bar"]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_json(config_path: Path, home: Path, *args: str, code: int = 0) -> Any:
    result = bifrost(config_path, home, *args, "--json")
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def without_ids(document: Any) -> Any:
    """`document` with the ids and times that differ between two stores left out."""
    if isinstance(document, dict):
        drop = {"import_id", "release_id", "started_ns"}
        return {k: without_ids(v) for k, v in document.items() if k not in drop}
    if isinstance(document, list):
        return [without_ids(item) for item in document]
    return document


def import_release_and_read(config_path: Path, home: Path, path: Path) -> dict[str, Any]:
    """Import (kept and strict), list, release the jump, then the invalid row, read bars."""
    options = ("--format", "csv", "--tz", "UTC")
    kept = run_json(config_path, home, "data", "import", str(path), "--symbol", "KEPT", *options)
    report = run_json(
        config_path, home, "data", "import", str(path), "--symbol", "SER", *options, "--strict"
    )
    import_id = report["import_id"]
    listed = run_json(config_path, home, "data", "quarantine", "list", import_id)
    release = ("data", "quarantine", "release", import_id)
    released = run_json(config_path, home, *release, "--line", str(JUMP_LINE))
    refused = run_json(config_path, home, *release, "--line", "42", code=1)
    bars = run_json(config_path, home, "data", "bars", "SER", "--limit", "0")
    return {
        "kept": kept,
        "report": report,
        "listed": listed,
        "released": released,
        "refused": refused,
        "bars": bars,
    }


@pytest.mark.timeout(180)
def test_data_import_and_quarantine_offline_and_through_daemon_give_same_answers(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    path = write_pandas_csv(tmp_path / "ser.csv")
    offline = import_release_and_read(config_path, home, path)
    (tmp_path / "daemon-home").mkdir()
    thread = DaemonThread(load_config(config_path), tmp_path / "daemon-home")
    thread.start()
    try:
        online = import_release_and_read(config_path, tmp_path / "cli-home", path)
    finally:
        thread.stop()
    assert not (tmp_path / "cli-home" / "data.duckdb").exists()  # it all went to the daemon
    assert without_ids(online) == without_ids(offline)
    kept = offline["kept"]
    assert (kept["inserted"], kept["rejected"], kept["warned"]) == (40, 2, 1)
    report = offline["report"]
    assert (report["rows_read"], report["inserted"], report["rejected"]) == (42, 39, 3)
    assert [(r["line"], r["reason"]) for r in offline["listed"]["rows"]] == [
        (JUMP_LINE, "outlier_jump"),
        (42, "non_finite"),
        (43, "unparseable"),
    ]
    assert [r["line"] for r in offline["released"]["released"]] == [JUMP_LINE]
    assert offline["refused"]["refused"][0]["reason"] == "non_finite"
    assert offline["bars"]["rows"] == 40


def test_data_import_without_strict_keeps_the_jump_and_lists_it_as_warning(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    path = write_pandas_csv(tmp_path / "ser.csv")
    report = run_json(config_path, home, "data", "import", str(path))
    (item,) = report["files"]
    assert (item["inserted"], item["rejected"], item["warned"]) == (40, 2, 1)
    (warning,) = item["warnings"]
    assert (warning["line"], warning["rule"]) == (JUMP_LINE, "outlier_jump")
    assert warning["move"] == pytest.approx(0.25, abs=0.03)
    table = bifrost(config_path, home, "data", "import", str(path))
    assert "outlier_jump" in table.stdout and f"{JUMP_LINE}" in table.stdout


def test_data_quarantine_release_of_invalid_row_exits_1_printing_the_reason(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    path = write_pandas_csv(tmp_path / "ser.csv")
    import_id = run_json(config_path, home, "data", "import", str(path))["import_id"]
    result = bifrost(config_path, home, "data", "quarantine", "release", import_id, "--line", "43")
    assert result.returncode == 1
    assert "unparseable" in result.stdout and "43" in result.stdout


def test_data_quarantine_list_unknown_import_exits_1(config_path: Path, home: Path) -> None:
    result = bifrost(config_path, home, "data", "quarantine", "list", "no-such-import")
    assert result.returncode == 1
    assert "no import" in result.stderr


EXTREME_CSV = "Date,Open,High,Low,Close,Adj Close,Volume\n" + "".join(
    f"2024-{1 + day // 28:02d}-{1 + day % 28:02d},{p},{p * 1.01},{p * 0.99},{p},{p},{v}\n"
    for day in range(56)
    for p, v in [((1e-8 if day < 28 else 1e9) * (1 + 0.01 * ((day * 7) % 5 - 2)), day % 2 * 1000)]
)


@pytest.mark.timeout(120)
def test_readers_on_extreme_but_valid_values_exit_0_without_traceback(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "EXT.csv"
    path.write_text(EXTREME_CSV)
    report = run_json(config_path, home, "data", "import", str(path))
    assert (report["inserted"], report["rejected"]) == (56, 0)
    for command in (
        ("data", "chart", "EXT"),
        ("data", "chart", "EXT", "--line"),
        ("data", "bars", "EXT"),
        ("data", "validate", "EXT"),
        ("ml", "patterns", "EXT"),
    ):
        result = bifrost(config_path, home, *command)
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr, command


@pytest.mark.timeout(120)
def test_data_tables_print_stored_brackets_as_text(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "br.csv"
    path.write_text(
        "date,symbol,open,high,low,close\n2024-01-02,XBR,1,2,0.5,1\n[/y],XBR,[bold]a,2,3,4\n"
    )
    assert bifrost(config_path, home, "data", "import", str(path)).returncode == 0
    result = bifrost(config_path, home, "data", "quarantine", "list")
    assert result.returncode == 0, result.stderr
    assert "[/y],XBR,[bold]a" in result.stdout


def test_import_of_a_symbol_no_ticker_has_is_refused_naming_it(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "br.csv"
    path.write_text("date,symbol,open,high,low,close\n2024-01-02,[/x],1,2,0.5,1\n")
    result = bifrost(config_path, home, "data", "import", str(path))
    assert result.returncode == 1
    assert "symbol '[/x]' is not a symbol" in result.stderr
    listed = bifrost(config_path, home, "data", "list", "--json")
    assert json.loads(listed.stdout) == {"series": []}
