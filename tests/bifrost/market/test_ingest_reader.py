"""read_bars: column detection, time formats and units, line numbers, malformed files."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest

from bifrost.errors import BadRequest, NotFound
from bifrost.market.ingest.reader import read_bars

DAY = 86_400_000_000_000
JAN2 = 1_704_153_600_000_000_000
"""2024-01-02 00:00 UTC in ns."""
JAN2_1430 = JAN2 + (14 * 60 + 30) * 60_000_000_000
"""2024-01-02 14:30 UTC in ns."""
HEADER = "time,open,high,low,close,volume\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def times_of(tmp_path: Path, values: list[str], tz: str = "UTC") -> list[int | None]:
    rows = "".join(f"{v},1,2,0.5,1.5,10\n" for v in values)
    return read_bars(write(tmp_path, "t.csv", HEADER + rows), tz=tz)["ts"].to_list()


def test_read_bars_yahoo_csv_uses_close_not_adj_close(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,12,9,11,5.5,1000\n"
    frame = read_bars(write(tmp_path, "aapl.csv", text))
    assert frame.select("ts", "open", "high", "low", "close", "volume").row(0) == (
        JAN2,
        10.0,
        12.0,
        9.0,
        11.0,
        1000.0,
    )
    assert frame["parsed"].to_list() == [True]


def test_read_bars_pandas_layout_reads_unnamed_first_column_as_time(tmp_path: Path) -> None:
    text = (
        ",Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,100\n2024-01-02 14:30:00,1,2,1,1,1\n"
    )
    frame = read_bars(write(tmp_path, "pd.csv", text))
    assert frame["ts"].to_list() == [1_577_923_200_000_000_000, JAN2_1430]
    assert frame.row(0)[3:8] == (1.0, 2.0, 0.5, 1.5, 100.0)
    assert frame["parsed"].to_list() == [True, True]


def test_read_bars_unnamed_first_column_beside_a_date_column_is_ignored(tmp_path: Path) -> None:
    text = ",Date,Open,High,Low,Close\n0,2024-01-02,1,2,0.5,1.5\n"
    assert read_bars(write(tmp_path, "pd.csv", text))["ts"].to_list() == [JAN2]


def test_read_bars_non_finite_values_parse_for_validation_to_refuse(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02,inf,2,0.5,1.5,1\n2024-01-03,1,2,0.5,nan,1\n"
    frame = read_bars(write(tmp_path, "nf.csv", text))
    assert frame["parsed"].to_list() == [True, True]
    assert frame["open"][0] == float("inf")


def test_read_bars_lowercase_columns_with_symbol_reads_symbol(tmp_path: Path) -> None:
    text = "timestamp,symbol,open,high,low,close,volume\n2024-01-02, msft ,1,2,0.5,1.5,7\n"
    frame = read_bars(write(tmp_path, "x.csv", text))
    assert frame["symbol"].to_list() == ["msft"]
    assert frame["ts"].to_list() == [JAN2]


def test_read_bars_no_volume_column_gives_zero_volume(tmp_path: Path) -> None:
    frame = read_bars(write(tmp_path, "fx.csv", "date,open,high,low,close\n2024-01-02,1,2,0.5,1\n"))
    assert frame["volume"].to_list() == [0.0]


def test_read_bars_epoch_seconds_millis_nanos_detected_by_magnitude(tmp_path: Path) -> None:
    seconds = JAN2_1430 // 10**9
    assert times_of(tmp_path, [str(seconds), str(seconds + 60)]) == [
        JAN2_1430,
        JAN2_1430 + 60 * 10**9,
    ]
    assert times_of(tmp_path, [str(seconds * 1000)]) == [JAN2_1430]
    assert times_of(tmp_path, [str(JAN2_1430)]) == [JAN2_1430]


def test_read_bars_iso_with_zone_converts_to_utc(tmp_path: Path) -> None:
    values = ["2024-01-02T14:30:00Z", "2024-01-02T16:30:00+02:00", "2024-01-02 09:30:00-05:00"]
    assert times_of(tmp_path, values) == [JAN2_1430] * 3


def test_read_bars_naive_datetime_read_in_tz(tmp_path: Path) -> None:
    values = ["2024-01-02T09:30:00", "2024-01-02 09:30"]
    assert times_of(tmp_path, values, tz="America/New_York") == [JAN2_1430] * 2
    assert times_of(tmp_path, ["2024-01-02 14:30:00.000"]) == [JAN2_1430]


def test_read_bars_date_only_is_utc_day_whatever_tz(tmp_path: Path) -> None:
    assert times_of(tmp_path, ["2024-01-02", "20240103"], tz="Asia/Tokyo") == [JAN2, JAN2 + DAY]


def test_read_bars_unknown_tz_raises_bad_request(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="Mars/Olympus"):
        times_of(tmp_path, ["2024-01-02"], tz="Mars/Olympus")


def test_read_bars_bad_values_mark_row_unparseable_with_line(tmp_path: Path) -> None:
    text = (
        HEADER + "2024-01-02,1,2,0.5,1.5,10\nnot-a-date,1,2,0.5,1.5,10\n\n2024-01-04,abc,2,1,1,1\n"
    )
    frame = read_bars(write(tmp_path, "bad.csv", text))
    assert frame["line"].to_list() == [2, 3, 5]
    assert frame["parsed"].to_list() == [True, False, False]
    assert '"open":"abc"' in frame["raw"][2]


def test_read_bars_date_and_time_columns_are_joined(tmp_path: Path) -> None:
    text = "Date,Time,Open,High,Low,Close,Volume\n2024-01-02,14:30:00,1,2,0.5,1.5,10\n"
    assert read_bars(write(tmp_path, "mt.csv", text))["ts"].to_list() == [JAN2_1430]


def test_read_bars_parquet_typed_columns_and_row_lines(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    pl.DataFrame(
        {
            "Date": [dt.date(2024, 1, 2), dt.date(2024, 1, 3)],
            "Open": [1.0, 2.0],
            "High": [2.0, 3.0],
            "Low": [0.5, 1.5],
            "Close": [1.5, None],
            "Volume": [10, 20],
        }
    ).write_parquet(path)
    frame = read_bars(path)
    assert frame["line"].to_list() == [1, 2]
    assert frame["ts"].to_list() == [JAN2, JAN2 + DAY]
    assert frame["parsed"].to_list() == [True, False]


def test_read_bars_parquet_zoned_datetime_converts_to_utc(tmp_path: Path) -> None:
    stamp = dt.datetime(2024, 1, 2, 9, 30)
    frame = pl.DataFrame({"timestamp": [stamp], "open": [1.0], "high": [2.0], "low": [0.5]})
    frame = frame.with_columns(
        pl.col("timestamp").dt.replace_time_zone("America/New_York"), close=1.0, volume=1.0
    )
    frame.write_parquet(tmp_path / "z.pq")
    assert read_bars(tmp_path / "z.pq")["ts"].to_list() == [JAN2_1430]


def test_read_bars_binary_junk_raises_bad_request_naming_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(b"Date,Open\n2024-01-02,1\n" + os.urandom(64) + b"\x00\xff")
    with pytest.raises(BadRequest, match=r"junk\.csv.*line \d+, column \d+"):
        read_bars(path)


def test_read_bars_truncated_parquet_raises_bad_request_naming_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    pl.DataFrame({"date": ["2024-01-02"], "open": [1.0]}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(BadRequest, match=r"cut\.parquet: not a readable Parquet file"):
        read_bars(path)


def test_read_bars_extra_fields_raise_bad_request_naming_line(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,2,0.5,1.5,10,99,98\n"
    with pytest.raises(BadRequest, match=r"ragged\.csv.* at line 3"):
        read_bars(write(tmp_path, "ragged.csv", text))


def test_read_bars_missing_columns_raise_bad_request_listing_them(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"few\.csv: missing column\(s\) high, low"):
        read_bars(write(tmp_path, "few.csv", "date,open,close\n2024-01-02,1,1\n"))


def test_read_bars_empty_file_raises_bad_request(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"empty\.csv: the file is empty"):
        read_bars(write(tmp_path, "empty.csv", ""))


def test_read_bars_unknown_suffix_needs_format(tmp_path: Path) -> None:
    path = write(tmp_path, "bars.dat", HEADER + "2024-01-02,1,2,0.5,1.5,10\n")
    with pytest.raises(BadRequest, match="cannot tell the format"):
        read_bars(path)
    assert read_bars(path, fmt="csv").height == 1


def test_read_bars_missing_file_raises_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"nope\.csv"):
        read_bars(tmp_path / "nope.csv")
