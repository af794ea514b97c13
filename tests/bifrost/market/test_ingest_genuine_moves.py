"""Import keeps every genuine bar: real-looking gaps and crashes are warnings, not rejects.

Daily equities with a +20 % gap that persists and a -12 % crash day, and hourly FX
with a few 1.5 % jumps: every bar is stored, each jump is listed (line, time, move),
`strict` quarantines exactly those, and only provably invalid rows are quarantined,
however short the series.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from bifrost.backtest.engine import run_backtest
from bifrost.backtest.runner import bar_arrays
from bifrost.errors import NotFound
from bifrost.market.ingest.engine import import_files
from bifrost.market.ingest.quarantine import list_quarantine, release_rows
from bifrost.store.bars import bars_between
from bifrost.store.database import open_store
from bifrost.strategy.builtin import SmaCross

DAY_NS = 86_400_000_000_000
HOUR_NS = 3_600_000_000_000
DAILY_ROWS = 2148
GAP_AT, CRASH_AT = 700, 1500
FX_ROWS = 5000
FX_JUMPS = {1200: 0.015, 2600: -0.015, 4100: 0.015}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = open_store(tmp_path / "data.duckdb")
    yield connection
    connection.close()


def always_open(_: str) -> str:
    return "24/7"


def series(
    rows: int, step_ns: int, sigma: float, jumps: dict[int, float], seed: int
) -> pl.DataFrame:
    """OHLCV bars (ts, open, high, low, close, volume): normal moves plus jumps that persist."""
    rng = np.random.default_rng(seed)
    moves = rng.normal(0.0, sigma, rows)
    moves[0] = 0.0
    for at, jump in jumps.items():
        moves[at] = np.log1p(jump)
    close = 100.0 * np.exp(np.cumsum(moves))
    open_ = np.concatenate([[close[0]], close[:-1]])
    return pl.DataFrame(
        {
            "ts": 1_420_070_400_000_000_000 + step_ns * np.arange(rows, dtype=np.int64),
            "open": open_,
            "high": np.maximum(open_, close) * 1.001,
            "low": np.minimum(open_, close) * 0.999,
            "close": close,
            "volume": rng.integers(1_000, 100_000, rows).astype(np.float64),
        }
    )


def daily() -> pl.DataFrame:
    return series(DAILY_ROWS, DAY_NS, 0.01, {GAP_AT: 0.20, CRASH_AT: -0.12}, seed=11)


def hourly_fx() -> pl.DataFrame:
    return series(FX_ROWS, HOUR_NS, 0.001, FX_JUMPS, seed=12)


def write_pandas_csv(frame: pl.DataFrame, path: Path, date_only: bool) -> Path:
    """The layout pandas' to_csv writes: an unnamed index column holding the times."""
    stamps = pl.from_epoch(frame["ts"], time_unit="ns")
    text = stamps.dt.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M:%S")
    table = frame.drop("ts").rename(str.capitalize).insert_column(0, text.alias(""))
    table.write_csv(path, float_precision=17)
    return path


def jump_lines(frame: pl.DataFrame, at: list[int]) -> list[tuple[int, int, float]]:
    """(line, ts, move) of the bars at `at` (the header is line 1)."""
    close = frame["close"]
    return [(i + 2, int(frame["ts"][i]), close[i] / close[i - 1] - 1) for i in at]


@pytest.mark.parametrize(
    ("make", "timeframe", "jumps"),
    [(daily, "1d", [GAP_AT, CRASH_AT]), (hourly_fx, "1h", sorted(FX_JUMPS))],
    ids=["daily-equity", "hourly-fx"],
)
def test_import_files_genuine_jumps_are_kept_and_listed_as_warnings(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, make, timeframe: str, jumps: list[int]
) -> None:
    frame = make()
    path = write_pandas_csv(frame, tmp_path / "SER.csv", timeframe == "1d")
    report = import_files(store, [path], timeframe=timeframe, calendar_for=always_open)
    (entry,) = report.files
    assert (entry.rows_read, entry.inserted, entry.rejected) == (frame.height, frame.height, 0)
    assert bars_between(store, "SER", timeframe).height == frame.height
    found = [(w.line, w.ts, w.move) for w in entry.warnings]
    expected = jump_lines(frame, jumps)
    assert [(line, ts) for line, ts, _ in found] == [(line, ts) for line, ts, _ in expected]
    assert [m for *_, m in found] == pytest.approx([m for *_, m in expected], rel=1e-9)
    assert {w.rule for w in entry.warnings} == {"outlier_jump"}
    assert entry.warned == len(jumps)


@pytest.mark.parametrize(
    ("make", "timeframe", "jumps"),
    [(daily, "1d", [GAP_AT, CRASH_AT]), (hourly_fx, "1h", sorted(FX_JUMPS))],
    ids=["daily-equity", "hourly-fx"],
)
def test_import_files_strict_quarantines_exactly_the_jumps(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, make, timeframe: str, jumps: list[int]
) -> None:
    frame = make()
    path = write_pandas_csv(frame, tmp_path / "SER.csv", timeframe == "1d")
    report = import_files(store, [path], timeframe=timeframe, strict=True, calendar_for=always_open)
    held = list_quarantine(store, report.import_id)["rows"]
    assert [(r["line"], r["reason"]) for r in held] == [(i + 2, "outlier_jump") for i in jumps]
    assert report.files[0].inserted == frame.height - len(jumps)


def test_backtest_on_imported_series_equals_backtest_on_the_full_series(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    frame = daily()
    path = write_pandas_csv(frame, tmp_path / "SER.csv", date_only=True)
    import_files(store, [path], calendar_for=always_open)
    imported = bars_between(store, "SER", "1d")
    assert imported.height == frame.height
    stored = run_backtest(SmaCross(), {"SER": bar_arrays(imported)})
    in_memory = run_backtest(SmaCross(), {"SER": bar_arrays(frame)})
    assert len(stored.trades) == len(in_memory.trades) > 0
    np.testing.assert_allclose(stored.equity, in_memory.equity, rtol=1e-12)


GOOD_DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
INVALID_ROWS = {
    "huge price": ("2024-01-08,1e308,1e308,1e308,1e308,100", "price_out_of_range"),
    "infinite price": ("2024-01-08,10,inf,9,10,100", "non_finite"),
    "nan close": ("2024-01-08,10,11,9,nan,100", "non_finite"),
    "negative volume": ("2024-01-08,10,11,9,10,-1", "negative_volume"),
    "high below low": ("2024-01-08,10,9,11,10,100", "high_below_open_close"),
    "duplicate time": ("2024-01-05,10,11,9,10,100", "duplicate_timestamp"),
    "out of order": ("2023-12-29,10,11,9,10,100", "out_of_order"),
    "garbage line": ("hello,world,1,2", "unparseable"),
}


@pytest.mark.parametrize("case", list(INVALID_ROWS))
def test_import_files_invalid_row_in_short_series_is_quarantined_naming_reason_and_line(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, case: str
) -> None:
    text, reason = INVALID_ROWS[case]
    good = [f"{day},10,11,9,10,100" for day in GOOD_DAYS]
    path = tmp_path / "SHORT.csv"
    path.write_text(",Open,High,Low,Close,Volume\n" + "\n".join([*good, text]) + "\n")
    report = import_files(store, [path], calendar_for=always_open)
    held = list_quarantine(store, report.import_id)["rows"]
    assert [(r["line"], r["reason"]) for r in held] == [(6, reason)]
    assert report.files[0].inserted == len(GOOD_DAYS)


def strict_import_of_daily(store: duckdb.DuckDBPyConnection, tmp_path: Path) -> str:
    path = write_pandas_csv(daily(), tmp_path / "SER.csv", date_only=True)
    return import_files(store, [path], strict=True, calendar_for=always_open).import_id


def test_release_rows_quarantined_jump_is_stored_and_leaves_quarantine(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import_id = strict_import_of_daily(store, tmp_path)
    result = release_rows(store, import_id, line=GAP_AT + 2)
    ((released,),) = [result["released"]]
    assert (released["line"], released["quarantined_for"], result["refused"]) == (
        GAP_AT + 2,
        "outlier_jump",
        [],
    )
    assert released["ts"] in bars_between(store, "SER", "1d")["ts"].to_list()
    left = list_quarantine(store, import_id)["rows"]
    assert [r["line"] for r in left] == [CRASH_AT + 2]


def test_release_rows_invalid_row_is_refused_with_its_reason_and_stays(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "BAD.csv"
    path.write_text(
        ",Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10,100\n2024-01-03,1,inf,1,1,1\n"
    )
    import_id = import_files(store, [path], calendar_for=always_open).import_id
    result = release_rows(store, import_id, line=3)
    assert result["released"] == []
    ((refused,),) = [result["refused"]]
    assert (refused["line"], refused["reason"]) == (3, "non_finite")
    assert "infinite" in refused["detail"]
    assert [r["line"] for r in list_quarantine(store, import_id)["rows"]] == [3]
    assert bars_between(store, "BAD", "1d").height == 1


def test_release_rows_duplicate_of_a_stored_bar_is_refused(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "DUP.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10,1\n2024-01-02,10,12,9,11,1\n"
    )
    import_id = import_files(store, [path], calendar_for=always_open).import_id
    (refused,) = release_rows(store, import_id)["refused"]
    assert (refused["reason"], refused["detail"]) == (
        "duplicate_timestamp",
        "a bar at this time is already stored",
    )


def test_release_rows_unknown_import_or_line_raises_not_found(
    store: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import_id = strict_import_of_daily(store, tmp_path)
    with pytest.raises(NotFound, match="no import"):
        release_rows(store, "no-such-import")
    with pytest.raises(NotFound, match="line 3"):
        release_rows(store, import_id, line=3)
