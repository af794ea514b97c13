"""missing_sessions: exchange calendars, 24/7, intraday bars, unknown calendars."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from bifrost.errors import BadRequest
from bifrost.market.ingest.calendar import exchange_calendar, missing_sessions

HOUR = 3_600_000_000_000


def day_ns(dates: list[dt.date], hour: int = 0) -> pl.Series:
    """ns UTC of `hour`:00 on each date."""
    stamps = [dt.datetime(d.year, d.month, d.day, hour, tzinfo=dt.UTC) for d in dates]
    return pl.Series([int(s.timestamp()) * 10**9 for s in stamps], dtype=pl.Int64)


def xnys_sessions(start: str, end: str) -> list[dt.date]:
    sessions = exchange_calendar("XNYS").sessions_in_range(start, end)
    return [s.date() for s in sessions]


def test_missing_sessions_complete_xnys_series_misses_none() -> None:
    sessions = xnys_sessions("2024-01-02", "2024-03-28")
    assert missing_sessions(day_ns(sessions), "XNYS", "1d") == []


def test_missing_sessions_dropped_xnys_weekday_is_reported() -> None:
    sessions = xnys_sessions("2024-01-02", "2024-03-28")
    dropped = dt.date(2024, 2, 14)
    kept = [d for d in sessions if d != dropped]
    assert missing_sessions(day_ns(kept), "XNYS", "1d") == [dropped]


def test_missing_sessions_xnys_holidays_and_weekends_are_not_missing() -> None:
    # 2024-07-04 is a holiday, 2024-07-06/07 a weekend
    dates = [dt.date(2024, 7, d) for d in (1, 2, 3, 5, 8)]
    assert missing_sessions(day_ns(dates), "XNYS", "1d") == []


def test_missing_sessions_always_open_counts_every_utc_day() -> None:
    dates = [dt.date(2024, 1, 5), dt.date(2024, 1, 8)]
    missing = missing_sessions(day_ns(dates), "24/7", "1d")
    assert missing == [dt.date(2024, 1, 6), dt.date(2024, 1, 7)]


def test_missing_sessions_intraday_session_without_bars_is_missing() -> None:
    monday, wednesday = dt.date(2024, 1, 8), dt.date(2024, 1, 10)
    ts = pl.concat([day_ns([monday], 15) + i * HOUR for i in range(6)] + [day_ns([wednesday], 15)])
    assert missing_sessions(ts, "XNYS", "1h") == [dt.date(2024, 1, 9)]


def test_missing_sessions_intraday_uses_exchange_local_date() -> None:
    # 00:30 UTC is 09:30 in Tokyo: those bars belong to the Jan 4 and Jan 5 sessions
    ts = day_ns([dt.date(2024, 1, 4), dt.date(2024, 1, 5)]) + HOUR // 2
    assert missing_sessions(ts, "XTKS", "1h") == []


def test_missing_sessions_empty_series_misses_none() -> None:
    assert missing_sessions(pl.Series([], dtype=pl.Int64), "XNYS", "1d") == []


def test_exchange_calendar_is_built_once_per_name() -> None:
    assert exchange_calendar("XNYS") is exchange_calendar("XNYS")


def test_exchange_calendar_unknown_name_raises_bad_request() -> None:
    with pytest.raises(BadRequest, match="unknown calendar 'NOPE'"):
        missing_sessions(day_ns([dt.date(2024, 1, 2)]), "NOPE", "1d")
