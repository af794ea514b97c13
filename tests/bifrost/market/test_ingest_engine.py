"""import_files and validate_stored against real DuckDB store files."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from bifrost.clock import SimulatedClock
from bifrost.errors import BadRequest, NotFound
from bifrost.market.ingest.calendar import exchange_calendar
from bifrost.market.ingest.engine import import_files, validate_stored
from bifrost.market.ingest.validate import REASONS
from bifrost.store.bars import upsert_bars
from bifrost.store.database import open_store

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
DAY = 86_400_000_000_000
JAN2 = 1_704_153_600_000_000_000
"""2024-01-02 00:00 UTC in ns."""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = open_store(tmp_path / "data.duckdb")
    yield connection
    connection.close()


def xnys(_: str) -> str:
    return "XNYS"


def always_open(_: str) -> str:
    return "24/7"


def bar_line(date: str, close: float = 100.0, volume: float = 1000.0) -> str:
    """A valid Yahoo-style line closing at `close`."""
    return f"{date},{close},{close + 1},{close - 1},{close},{close},{volume}\n"


def sessions(start: str, end: str) -> list[str]:
    return [s.strftime("%Y-%m-%d") for s in exchange_calendar("XNYS").sessions_in_range(start, end)]


def write_csv(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines))
    return path


def table_counts(store: duckdb.DuckDBPyConnection) -> tuple[int, ...]:
    tables = ("bars", "quarantine", "imports")
    return tuple(store.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables)


def quarantined(store: duckdb.DuckDBPyConnection) -> list[tuple[int, str]]:
    return store.execute("SELECT line, reason FROM quarantine ORDER BY line").fetchall()


BAD_ROWS = {
    "unparseable": "2024-01-04,abc,101,99,100,100,1000\n",
    "duplicate_timestamp": bar_line("2024-01-03", 100.5),
    "high_below_open_close": "2024-01-04,100,100.5,99,101,101,1000\n",
    "low_above_open_close": "2024-01-04,100,102,100.5,101,101,1000\n",
    "non_positive_price": "2024-01-04,0,1,0,0.5,0.5,1000\n",
    "negative_volume": bar_line("2024-01-04", volume=-1),
    "out_of_order": bar_line("2024-01-01"),
    "non_finite": "2024-01-04,100,inf,99,100,100,1000\n",
    "price_out_of_range": "2024-01-04,1e308,1e308,1e308,1e308,1e308,1000\n",
    "volume_out_of_range": bar_line("2024-01-04", volume=1e300),
}


@pytest.mark.parametrize("reason", list(BAD_ROWS))
def test_import_files_bad_row_is_quarantined_with_reason_and_line(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, reason: str
) -> None:
    lines = [bar_line("2024-01-02"), bar_line("2024-01-03"), BAD_ROWS[reason]]
    lines.append(bar_line("2024-01-05"))
    report = import_files(store, [write_csv(tmp_path, "t.csv", lines)], calendar_for=xnys)
    assert quarantined(store) == [(4, reason)]
    entry = report.files[0]
    assert entry.rejected_by_reason == {r: int(r == reason) for r in REASONS}
    assert (entry.rows_read, entry.inserted, entry.rejected) == (4, 3, 1)


def spiky_file(tmp_path: Path) -> tuple[Path, int]:
    """A 41-session file whose 21st close (line 22) jumps to four times the others."""
    days = sessions("2024-01-02", "2024-02-29")
    closes = [100 * math.exp(0.01 * math.sin(i * 1.7)) for i in range(len(days))]
    closes[20] = 400.0
    lines = [bar_line(d, round(c, 2)) for d, c in zip(days, closes, strict=True)]
    return write_csv(tmp_path, "spiky.csv", lines), len(days)


def test_import_files_price_spike_is_kept_and_reported_as_warning(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path, rows = spiky_file(tmp_path)
    report = import_files(store, [path], calendar_for=xnys)
    assert quarantined(store) == []
    entry = report.files[0]
    assert (entry.inserted, entry.rejected, entry.warned) == (rows, 0, 1)
    (warning,) = entry.warnings
    assert (warning.line, warning.rule) == (22, "outlier_jump")
    assert warning.ts == store.execute("SELECT max(ts) FROM bars WHERE close = 400").fetchone()[0]
    before = "SELECT close FROM bars WHERE ts < ? ORDER BY ts DESC LIMIT 1"
    previous = store.execute(before, [warning.ts])
    assert warning.move == pytest.approx(400 / previous.fetchone()[0] - 1)


def test_import_files_strict_quarantines_the_price_spike(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path, rows = spiky_file(tmp_path)
    report = import_files(store, [path], calendar_for=xnys, strict=True)
    assert quarantined(store) == [(22, "outlier_jump")]
    assert (report.files[0].inserted, report.files[0].warned) == (rows - 1, 0)
    assert report.strict is True


def test_import_files_reimport_adds_nothing_and_reports_unchanged(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path, "aapl.csv", [bar_line(d) for d in sessions("2024-01-02", "2024-01-31")]
    )
    first = import_files(store, [path], calendar_for=xnys)
    again = import_files(store, [path], calendar_for=xnys)
    assert (first.files[0].inserted, first.files[0].unchanged) == (21, 0)
    assert (again.files[0].inserted, again.files[0].updated, again.files[0].unchanged) == (0, 0, 21)
    assert again.files[0].rows_loaded == 0
    assert table_counts(store) == (21, 0, 2)
    assert again.import_id != first.import_id


def test_import_files_overlapping_range_updates_changed_bars(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    days = sessions("2024-01-02", "2024-01-12")  # 9 sessions
    import_files(store, [write_csv(tmp_path, "x.csv", [bar_line(d) for d in days[:6]])])
    later = [bar_line(d, 100.0 if i != 5 else 105.0) for i, d in enumerate(days) if i >= 4]
    report = import_files(store, [write_csv(tmp_path, "x.csv", later)], calendar_for=xnys)
    entry = report.files[0]
    assert (entry.inserted, entry.updated, entry.unchanged, entry.rows_loaded) == (3, 1, 1, 4)
    close = store.execute("SELECT close FROM bars WHERE ts = ?", [JAN2 + 7 * DAY]).fetchall()
    assert close == [(105.0,)]
    assert table_counts(store)[0] == 9


def test_import_files_mixed_file_loads_good_rows_and_quarantines_bad(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    lines = [
        bar_line("2024-01-02"),
        "not-a-date,1,2,0.5,1.5,1.5,10\n",
        bar_line("2024-01-03"),
        bar_line("2024-01-03", 101.0),
        "2024-01-04,100,99,98,100,100,10\n",
        bar_line("2024-01-05"),
        "\n",
        bar_line("2024-01-08", volume=-5),
        bar_line("2024-01-09"),
    ]
    report = import_files(store, [write_csv(tmp_path, "mixed.csv", lines)], calendar_for=xnys)
    assert quarantined(store) == [
        (3, "unparseable"),
        (5, "duplicate_timestamp"),
        (6, "high_below_open_close"),
        (9, "negative_volume"),
    ]
    entry = report.to_dict()["files"][0]
    assert (entry["rows_read"], entry["rows_loaded"], entry["rejected"]) == (8, 4, 4)
    assert entry["missing_sessions"] == {"count": 2, "first": ["2024-01-04", "2024-01-08"]}
    stored = store.execute("SELECT ts FROM bars ORDER BY ts").fetchall()
    assert [row[0] for row in stored] == [JAN2, JAN2 + DAY, JAN2 + 3 * DAY, JAN2 + 7 * DAY]
    row = store.execute("SELECT row, symbol, timeframe FROM quarantine WHERE line = 3").fetchall()
    assert json.loads(row[0][0])["Date"] == "not-a-date"
    assert row[0][1:] == ("MIXED", "1d")


def test_import_files_truncated_parquet_raises_and_leaves_store_unchanged(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import_files(store, [write_csv(tmp_path, "ok.csv", [bar_line("2024-01-02")])])
    before = table_counts(store)
    path = tmp_path / "cut.parquet"
    pl.DataFrame({"date": ["2024-01-03"], "open": [1.0], "high": [2.0]}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:40])
    good = write_csv(tmp_path, "more.csv", [bar_line("2024-01-04")])
    with pytest.raises(BadRequest, match=r"cut\.parquet"):
        import_files(store, [good, path], calendar_for=xnys)
    assert table_counts(store) == before


def test_import_files_binary_junk_raises_and_leaves_store_unchanged(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    before = table_counts(store)
    path = tmp_path / "junk.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(256))
    with pytest.raises(BadRequest, match=r"junk\.csv: not a text CSV file"):
        import_files(store, [path], calendar_for=xnys)
    assert table_counts(store) == before


def test_import_files_failure_inside_transaction_rolls_everything_back(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    store.execute("DROP TABLE quarantine")  # the quarantine insert will now fail
    path = write_csv(tmp_path, "t.csv", [bar_line("2024-01-02"), bar_line("2024-01-02")])
    with pytest.raises(duckdb.Error):
        import_files(store, [path], calendar_for=xnys)
    assert store.execute("SELECT count(*) FROM bars").fetchall() == [(0,)]
    assert store.execute("SELECT count(*) FROM imports").fetchall() == [(0,)]


def test_import_files_symbol_from_option_column_or_file_stem(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    plain = write_csv(tmp_path, "spy.csv", [bar_line("2024-01-02")])
    both = tmp_path / "mixed.csv"
    both.write_text(
        "date,symbol,open,high,low,close\n2024-01-02,MSFT,1,2,1,1\n2024-01-02,,1,2,1,1\n"
    )
    report = import_files(store, [plain, both], calendar_for=xnys)
    assert [(f.symbol, f.rows_read) for f in report.files] == [
        ("SPY", 1),
        ("MSFT", 1),
        ("MIXED", 1),
    ]
    forced = import_files(store, [plain], symbol="VOO", calendar_for=xnys)
    assert forced.files[0].symbol == "VOO"
    symbols = store.execute("SELECT DISTINCT symbol FROM bars ORDER BY symbol").fetchall()
    assert [s[0] for s in symbols] == ["MIXED", "MSFT", "SPY", "VOO"]


def test_import_files_missing_xnys_session_is_reported(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    days = [d for d in sessions("2024-01-02", "2024-03-28") if d != "2024-02-14"]
    path = write_csv(tmp_path, "gap.csv", [bar_line(d) for d in days])
    report = import_files(store, [path], calendar_for=xnys)
    assert (report.files[0].missing_sessions, report.files[0].missing_first) == (1, ("2024-02-14",))


def test_import_files_always_open_calendar_expects_every_day(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "btc-usd.csv", [bar_line("2024-01-05"), bar_line("2024-01-08")])
    report = import_files(store, [path], calendar_for=always_open)
    assert report.files[0].missing_first == ("2024-01-06", "2024-01-07")


def test_import_files_default_calendar_follows_instrument(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "eth-usd.csv", [bar_line("2024-01-05"), bar_line("2024-01-08")])
    assert import_files(store, [path]).files[0].missing_sessions == 2


def test_import_files_records_import_row_with_report(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "a.csv", [bar_line("2024-01-02"), "x,1,1,1,1,1,1\n"])
    clock = SimulatedClock(start_ns=1_700_000_000_000_000_000)
    report = import_files(store, [path], calendar_for=xnys, clock=clock)
    rows = store.execute("SELECT import_id, started_ns, files, report FROM imports").fetchall()
    assert rows[0][:3] == (report.import_id, 1_700_000_000_000_000_000, [str(path)])
    assert json.loads(rows[0][3]) == report.to_dict()
    ids = store.execute("SELECT DISTINCT import_id FROM quarantine").fetchall()
    assert ids == [(report.import_id,)]


def test_import_files_totals_sum_every_file(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    one = write_csv(tmp_path, "one.csv", [bar_line("2024-01-02"), "x,1,1,1,1,1,1\n"])
    two = write_csv(tmp_path, "two.csv", [bar_line("2024-01-02"), bar_line("2024-01-03")])
    totals = import_files(store, [one, two], calendar_for=xnys).to_dict()
    assert (totals["rows_read"], totals["inserted"], totals["rejected"]) == (4, 3, 1)
    assert totals["rejected_by_reason"]["unparseable"] == 1


def test_import_files_bad_options_raise_bad_request(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "a.csv", [bar_line("2024-01-02")])
    with pytest.raises(BadRequest, match="timeframe"):
        import_files(store, [path], timeframe="1x")
    with pytest.raises(BadRequest, match="sigma"):
        import_files(store, [path], outlier_sigma=0)
    with pytest.raises(BadRequest, match="no files"):
        import_files(store, [])


def test_validate_stored_reports_broken_bars_and_missing_sessions(
    store: duckdb.DuckDBPyConnection,
) -> None:
    days = [dt.date(2024, 1, d) for d in (2, 3, 5, 8)]
    frame = pl.DataFrame(
        {
            "symbol": "T",
            "timeframe": "1d",
            "ts": [(d - dt.date(1970, 1, 1)).days * DAY for d in days],
            "open": [10.0, 10.0, 10.0, 10.0],
            "high": [11.0, 9.0, 11.0, 11.0],
            "low": [9.0, 8.0, 9.0, 9.0],
            "close": [10.0, 10.0, 10.0, 10.0],
            "volume": [1.0, 1.0, -1.0, 1.0],
        }
    )
    upsert_bars(store, frame)
    report = validate_stored(store, "T", "1d", calendar="XNYS")
    assert report["rows"] == 4
    assert report["problems"]["high_below_open_close"] == {"count": 1, "ts": [JAN2 + DAY]}
    assert report["problems"]["negative_volume"] == {"count": 1, "ts": [JAN2 + 3 * DAY]}
    assert report["problem_rows"] == 2
    assert report["missing_sessions"] == {"count": 1, "first": ["2024-01-04"]}


def test_validate_stored_unknown_series_raises_not_found(store: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(NotFound, match="NOPE"):
        validate_stored(store, "NOPE", "1d")
