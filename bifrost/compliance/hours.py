"""Market hours: is an instrument's exchange open at an instant (its exchange calendar)?

A `24/7` calendar (crypto) is always open. Other calendars are exchange_calendars
names; an instant outside the span a calendar knows counts as closed, so the rule
fails closed rather than guessing.
"""

from __future__ import annotations

import warnings

from bifrost.market.ingest.calendar import ALWAYS_OPEN, exchange_calendar


def market_open(calendar: str, now_ns: int) -> bool:
    """True when `calendar`'s market is open at `now_ns` (int ns UTC)."""
    if calendar == ALWAYS_OPEN:
        return True
    import pandas as pd  # heavy; only when a calendar is asked

    exchange = exchange_calendar(calendar)
    minute = pd.Timestamp(now_ns, unit="ns", tz="UTC").floor("min")
    try:
        with warnings.catch_warnings():
            # exchange_calendars trips a pandas deprecation inside its own code.
            warnings.filterwarnings("ignore", message=".*values returning an ndarray")
            return bool(exchange.is_open_on_minute(minute))
    except ValueError:  # outside the calendar's span
        return False
