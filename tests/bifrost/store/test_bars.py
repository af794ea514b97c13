"""The bars table: upsert counts, range queries, resampling, migrations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bifrost.errors import BadRequest
from bifrost.store.bars import (
    bars_between,
    bars_of_symbols,
    last_closes,
    list_series,
    resample_bars,
    resample_symbols,
    upsert_bars,
)
from bifrost.store.database import StoreError, applied_version, open_store
from bifrost.store.schema import LATEST_VERSION

MINUTE = 60_000_000_000


def minute_bars(n: int, symbol: str = "AAPL", start: int = 0) -> pl.DataFrame:
    """`n` consecutive 1m bars with prices 1..n."""
    price = np.arange(1, n + 1, dtype=float)
    return pl.DataFrame(
        {
            "symbol": [symbol] * n,
            "timeframe": ["1m"] * n,
            "ts": start + np.arange(n, dtype=np.int64) * MINUTE,
            "open": price,
            "high": price + 0.5,
            "low": price - 0.5,
            "close": price + 0.25,
            "volume": np.full(n, 10.0),
        }
    )


def test_open_store_new_file_is_migrated_to_latest(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    assert applied_version(connection) == LATEST_VERSION
    connection.close()
    again = open_store(tmp_path / "data.duckdb", read_only=True)
    assert applied_version(again) == LATEST_VERSION
    again.close()


def test_open_store_read_only_missing_file_is_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="nothing has been stored"):
        open_store(tmp_path / "absent.duckdb", read_only=True)


def test_upsert_bars_same_rows_twice_changes_nothing(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    first = upsert_bars(connection, minute_bars(100))
    second = upsert_bars(connection, minute_bars(100))
    assert (first.inserted, first.updated, first.unchanged) == (100, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 100)
    assert list_series(connection)["rows"].to_list() == [100]


def test_upsert_bars_overlap_updates_changed_and_inserts_new(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    upsert_bars(connection, minute_bars(10))
    overlap = minute_bars(10, start=5 * MINUTE).with_columns(pl.col("volume") * 2)
    counts = upsert_bars(connection, overlap)
    assert (counts.inserted, counts.updated, counts.unchanged) == (5, 5, 0)
    stored = bars_between(connection, "AAPL", "1m")
    assert stored.height == 15
    assert stored["volume"].to_list() == [10.0] * 5 + [20.0] * 10


def test_bars_between_is_start_inclusive_end_exclusive(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    upsert_bars(connection, minute_bars(10))
    got = bars_between(connection, "AAPL", "1m", 2 * MINUTE, 5 * MINUTE)
    assert got["ts"].to_list() == [2 * MINUTE, 3 * MINUTE, 4 * MINUTE]


def test_resample_bars_1m_to_5m_aggregates_ohlcv(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    upsert_bars(connection, minute_bars(10))
    five = resample_bars(connection, "AAPL", "1m", "5m")
    assert five["ts"].to_list() == [0, 5 * MINUTE]
    assert five["open"].to_list() == [1.0, 6.0]
    assert five["high"].to_list() == [5.5, 10.5]
    assert five["low"].to_list() == [0.5, 5.5]
    assert five["close"].to_list() == [5.25, 10.25]
    assert five["volume"].to_list() == [50.0, 50.0]


def test_resample_bars_not_a_multiple_is_bad_request(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    with pytest.raises(BadRequest, match="whole multiple"):
        resample_bars(connection, "AAPL", "5m", "7m")


def test_last_closes_takes_the_bar_that_ends_last_whatever_its_timeframe(tmp_path: Path) -> None:
    day = 1440 * MINUTE
    daily = minute_bars(3, start=0).with_columns(
        timeframe=pl.lit("1d"), ts=pl.Series([0, day, 2 * day]), close=pl.Series([5.0, 6.0, 7.0])
    )
    minutes = minute_bars(30, start=2 * day)  # inside the last day: that day's bar ends later
    later = minute_bars(2, symbol="MSFT", start=5 * day)
    connection = open_store(tmp_path / "data.duckdb")
    try:
        for frame in (daily, minutes, later):
            upsert_bars(connection, frame)
        assert last_closes(connection, ["AAPL", "MSFT", "NVDA"]) == {"AAPL": 7.0, "MSFT": 2.25}
        upsert_bars(connection, minute_bars(1, start=3 * day).with_columns(close=pl.lit(8.5)))
        assert last_closes(connection, ["AAPL"]) == {"AAPL": 8.5}
    finally:
        connection.close()


def test_resample_symbols_in_one_query_equals_one_query_per_symbol(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    for i, symbol in enumerate(("AAA", "BBB", "CCC")):
        upsert_bars(connection, minute_bars(30 + i, symbol))
    together = resample_symbols(connection, ["CCC", "AAA"], "1m", "5m", MINUTE, 25 * MINUTE)
    assert together["symbol"].unique(maintain_order=True).to_list() == ["AAA", "CCC"]
    for symbol in ("AAA", "CCC"):
        alone = resample_bars(connection, symbol, "1m", "5m", MINUTE, 25 * MINUTE)
        assert together.filter(pl.col("symbol") == symbol).equals(alone)


def test_bars_of_symbols_returns_each_series_in_time_order(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    upsert_bars(connection, minute_bars(5, "AAA"))
    upsert_bars(connection, minute_bars(3, "BBB"))
    got = bars_of_symbols(connection, ["BBB", "AAA", "NONE"], "1m")
    assert got["symbol"].to_list() == ["AAA"] * 5 + ["BBB"] * 3
    assert got.filter(pl.col("symbol") == "BBB").equals(bars_between(connection, "BBB", "1m"))

