"""Missing sessions: the trading days between a series' first and last bar that have no bar.

A calendar is an exchange_calendars name (`XNYS`, `XLON`, ...) or `24/7`, where
every UTC calendar day is a session. Daily bars are labelled by their UTC date (a
`1d` bar is the UTC calendar day); intraday bars belong to the session of their date
in the exchange's own time zone, so a Tokyo morning bar at 00:00 UTC counts for the
right day. A session counts as missing when no bar falls in it. Timeframes longer
than a day have no sessions to miss.

exchange_calendars is imported only when a calendar is first needed (it pulls in
pandas), and each calendar object is built once per process and reused. Bars outside
the span a calendar knows (1970-2040 for most, less for some exchanges) are not
checked.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bifrost.errors import BadRequest
from bifrost.market.timeframes import NS, timeframe_ns

if TYPE_CHECKING:  # Polars is imported where bars are checked, not by every user of ALWAYS_OPEN
    import polars as pl

ALWAYS_OPEN = "24/7"
_CALENDAR_SPAN = ("1970-01-01", "2040-12-31")
"""The span each calendar object is built for, so one object serves every import."""


def missing_sessions(ts: pl.Series, calendar: str, timeframe: str) -> list[dt.date]:
    """Sessions of `calendar` between the first and last bar of `ts` that hold no bar."""
    length = timeframe_ns(timeframe)
    present = ts.drop_nulls()
    if present.is_empty() or length > NS["d"]:
        return []
    zone = "UTC"
    if calendar != ALWAYS_OPEN and length < NS["d"]:
        zone = str(exchange_calendar(calendar).tz)
    days = bar_dates(present, zone)
    first, last = days.min(), days.max()
    expected = session_dates(calendar, first, last)  # type: ignore[arg-type]
    return expected.filter(~expected.is_in(days.implode())).to_list()


def bar_dates(ts: pl.Series, zone: str) -> pl.Series:
    """The local date in `zone` of each bar time (int ns UTC)."""
    import polars as pl

    stamps = pl.from_epoch(ts, time_unit="ns").dt.replace_time_zone("UTC")
    return stamps.dt.convert_time_zone(zone).dt.date().unique().sort()


def session_dates(calendar: str, first: dt.date, last: dt.date) -> pl.Series:
    """Every session date of `calendar` from `first` to `last`, both included."""
    import polars as pl

    if calendar == ALWAYS_OPEN:
        return pl.date_range(first, last, interval="1d", eager=True)
    # Bars outside the span the calendar knows cannot be checked: only the overlap is.
    exchange = exchange_calendar(calendar)
    start = max(first, exchange.first_session.date())
    end = min(last, exchange.last_session.date())
    if start > end:
        return pl.Series("date", [], dtype=pl.Date)
    sessions = exchange.sessions_in_range(start.isoformat(), end.isoformat())
    return pl.Series("date", sessions.to_numpy()).cast(pl.Date)


@functools.lru_cache(maxsize=16)
def exchange_calendar(name: str) -> Any:
    """The exchange_calendars object for `name`, built once: 1970-2040 where it allows.

    A calendar that cannot reach that far back or ahead (its holidays are recorded
    only for some years) falls back to its own default span.
    """
    import exchange_calendars  # heavy (pandas); only when a calendar is needed

    start, end = _CALENDAR_SPAN
    try:
        return _quietly(exchange_calendars.get_calendar, name, start=start, end=end)
    except exchange_calendars.errors.InvalidCalendarName:
        raise BadRequest(
            f"unknown calendar '{name}': use an exchange_calendars name such as XNYS or XLON, "
            f"or {ALWAYS_OPEN}"
        ) from None
    except (ValueError, NotImplementedError):
        pass  # outside the span this calendar knows: take its default span below
    try:
        return _quietly(exchange_calendars.get_calendar, name)
    except (ValueError, NotImplementedError) as exc:
        raise BadRequest(f"calendar '{name}' cannot be built: {exc}") from None


def _quietly(build: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    # exchange_calendars trips a pandas deprecation warning inside its own code; it is
    # not ours to fix and would otherwise land on the CLI's stderr.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        return build(*args, **kwargs)
