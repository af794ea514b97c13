"""Bars of many symbols at once: one query per source timeframe, the same bars as one by one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bifrost.errors import NotFound
from bifrost.market.catalog import MarketCatalog, source_timeframe
from bifrost.store.bars import upsert_bars
from bifrost.store.bulk_rows import insert_rows
from bifrost.store.database import open_store
from tests.bifrost.store.test_bars import MINUTE, minute_bars


def five_minute_bars(n: int, symbol: str) -> pl.DataFrame:
    """`n` stored 5m bars of `symbol`."""
    frame = minute_bars(n, symbol)
    return frame.with_columns(pl.lit("5m").alias("timeframe"), pl.col("ts") * 5)


def test_bars_of_symbols_mixes_stored_resampled_and_traded_like_bars(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    upsert_bars(connection, minute_bars(40, "ONE"))  # 15m resampled from 1m
    upsert_bars(connection, minute_bars(40, "TWO"))
    upsert_bars(connection, five_minute_bars(12, "FIVE"))  # 15m resampled from 5m
    trades = [("TRD", i * 20 * 1_000_000_000, 10.0 + i, 1.0, "BUY", f"t{i}") for i in range(90)]
    columns = ("symbol", "ts", "price", "size", "side", "trade_id")
    insert_rows(connection, "trades", columns, trades)  # 15m built from trades
    catalog = MarketCatalog(connection)
    symbols = ["TWO", "TRD", "FIVE", "ONE"]
    together = catalog.bars_of_symbols(symbols, "15m", 0, 40 * MINUTE)
    assert list(together) == symbols
    for symbol in symbols:
        alone = catalog.bars(symbol, "15m", 0, 40 * MINUTE)
        assert together[symbol].height > 0
        assert together[symbol].equals(alone)


def test_bars_of_symbols_names_a_symbol_without_any_bars(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    upsert_bars(connection, minute_bars(10, "ONE"))
    with pytest.raises(NotFound, match="NOPE"):
        MarketCatalog(connection).bars_of_symbols(["ONE", "NOPE"], "5m")


def test_bars_of_symbols_gives_an_empty_frame_for_a_range_without_bars(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "data.duckdb")
    upsert_bars(connection, minute_bars(10, "ONE"))
    upsert_bars(connection, minute_bars(10, "TWO", start=100 * MINUTE))
    got = MarketCatalog(connection).bars_of_symbols(["ONE", "TWO"], "5m", 0, 20 * MINUTE)
    assert got["ONE"].height == 2
    assert got["TWO"].height == 0
    assert got["TWO"].columns == got["ONE"].columns


@pytest.mark.parametrize(
    ("stored", "wanted", "source"),
    [
        ({"1m", "1d"}, "1d", "1d"),
        ({"1m", "5m"}, "15m", "5m"),
        ({"1m", "5m"}, "7m", "1m"),
        ({"5m"}, "7m", None),
        (set(), "1d", None),
    ],
)
def test_source_timeframe_is_the_coarsest_finer_divisor(
    stored: set[str], wanted: str, source: str | None
) -> None:
    assert source_timeframe(stored, wanted) == source
