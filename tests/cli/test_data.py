"""`bifrost data ...` and `bifrost instruments ...` as a user runs them (store offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bifrost.market.sample import daily_bars, xnys_sessions
from tests.cli.test_stack import bifrost

MIXED_CSV = """Date,Open,High,Low,Close,Volume
2024-01-02,10,11,9,10.5,100
2024-01-03,10.5,11,10,10.8,100
2024-01-04,abc,11,10,10.8,100
2024-01-05,10.8,10.0,9,10.9,100
2024-01-08,10.9,11.5,10.5,11.2,-5
2024-01-08,11.0,11.5,10.5,11.2,100
2024-01-09,11.2,11.6,11.0,11.4,100
"""


def test_data_import_mixed_file_reports_exact_counts(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "mix.csv"
    csv.write_text(MIXED_CSV)
    result = bifrost(config_path, home, "data", "import", str(csv), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (item,) = report["files"]
    assert item["symbol"] == "MIX"
    assert (item["rows_read"], item["inserted"], item["rejected"]) == (7, 3, 4)
    reasons = {k: v for k, v in item["rejected_by_reason"].items() if v}
    assert reasons == {
        "unparseable": 1,
        "high_below_open_close": 1,
        "negative_volume": 1,
        "duplicate_timestamp": 1,
    }
    again = json.loads(bifrost(config_path, home, "data", "import", str(csv), "--json").stdout)
    assert (again["files"][0]["inserted"], again["files"][0]["unchanged"]) == (0, 3)


def test_data_import_binary_file_exits_1_naming_it_and_keeps_store(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    good = tmp_path / "GOOD.csv"
    daily_bars("GOOD", xnys_sessions("2024-01-02", "2024-01-31"), 50, 0.1, 0.2, 1).write_csv(good)
    assert bifrost(config_path, home, "data", "import", str(good)).returncode == 0
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1" + bytes(range(256)) * 8)
    result = bifrost(config_path, home, "data", "import", str(good), str(junk), "--json")
    assert result.returncode == 1
    assert "junk.parquet" in json.loads(result.stdout)["error"]["message"]
    listed = json.loads(bifrost(config_path, home, "data", "list", "--json").stdout)
    assert [(s["symbol"], s["rows"]) for s in listed["series"]] == [("GOOD", 21)]


def test_data_import_missing_file_is_usage_error(config_path: Path, home: Path) -> None:
    result = bifrost(config_path, home, "data", "import", "/nonexistent/x.csv")
    assert result.returncode == 2


def test_data_bars_csv_and_json_agree_with_import(
    config_path: Path, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "ABC.csv"
    frame = daily_bars("ABC", xnys_sessions("2024-02-01", "2024-02-29"), 20, 0.1, 0.2, 5)
    frame.write_csv(path)
    bifrost(config_path, home, "data", "import", str(path))
    as_json = json.loads(
        bifrost(config_path, home, "data", "bars", "ABC", "--start", "2024-02-10", "--json").stdout
    )
    as_csv = bifrost(config_path, home, "data", "bars", "ABC", "--start", "2024-02-10", "--csv")
    closes = frame.filter(frame["Date"] >= "2024-02-10")["Close"].to_list()
    assert [b["close"] for b in as_json["bars"]] == closes
    assert len(as_csv.stdout.strip().splitlines()) == len(closes) + 1


@pytest.mark.parametrize("option", ["--start", "--end"])
def test_data_bars_bad_date_is_usage_error(config_path: Path, home: Path, option: str) -> None:
    result = bifrost(config_path, home, "data", "bars", "ABC", option, "yesterday")
    assert result.returncode == 2
    assert "yesterday" in result.stderr


def test_data_bars_unknown_symbol_exits_1(config_path: Path, home: Path, tmp_path: Path) -> None:
    path = tmp_path / "ABC.csv"
    daily_bars("ABC", xnys_sessions("2024-02-01", "2024-02-09"), 20, 0.1, 0.2, 5).write_csv(path)
    bifrost(config_path, home, "data", "import", str(path))
    result = bifrost(config_path, home, "data", "bars", "XYZ")
    assert result.returncode == 1
    assert "XYZ" in result.stderr


def test_data_chart_draws_title_and_volume(config_path: Path, home: Path, tmp_path: Path) -> None:
    path = tmp_path / "CHT.csv"
    daily_bars("CHT", xnys_sessions("2024-02-01", "2024-03-29"), 20, 0.1, 0.2, 5).write_csv(path)
    bifrost(config_path, home, "data", "import", str(path))
    result = bifrost(config_path, home, "data", "chart", "CHT")
    assert result.returncode == 0, result.stderr
    assert "CHT 1d" in result.stdout and "volume" in result.stdout


def test_instruments_add_then_list(config_path: Path, home: Path) -> None:
    added = bifrost(config_path, home, "instruments", "add", "ETH-USD", "--tick", "0.5", "--json")
    assert added.returncode == 0, added.stderr
    listed = json.loads(bifrost(config_path, home, "instruments", "list", "--json").stdout)
    (eth,) = listed["instruments"]
    assert (eth["symbol"], eth["tick_size"], eth["calendar"], eth["asset_class"]) == (
        "ETH-USD",
        0.5,
        "24/7",
        "crypto",
    )


def test_instruments_add_non_positive_tick_exits_1(config_path: Path, home: Path) -> None:
    result = bifrost(config_path, home, "instruments", "add", "ABC", "--tick", "0")
    assert result.returncode == 1
    assert "tick_size" in result.stderr
