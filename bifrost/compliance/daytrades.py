"""Day trades for the pattern-day-trader rule, counted from an account's fills.

A day trade is opening and closing a position in one symbol on one UTC day. Per
symbol and day, the first fill's side opens; each later switch from the opening
side to the other closes one day trade (buy, buy, sell is one; buy, sell, buy,
sell is two). The window is the last 5 business days (Monday to Friday), today
included.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

DAY_NS = 86_400_000_000_000
WINDOW_BUSINESS_DAYS = 5


@dataclass(frozen=True, slots=True)
class FillSide:
    """What the rule needs of one fill."""

    ts_ns: int
    symbol: str
    side: str


def utc_date(ts_ns: int) -> dt.date:
    """The UTC calendar day of an instant."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=ts_ns // DAY_NS)


def window_start(now_ns: int) -> dt.date:
    """First day of the rolling window of 5 business days that ends today."""
    today = np.datetime64(utc_date(now_ns), "D")
    start = np.busday_offset(today, -(WINDOW_BUSINESS_DAYS - 1), roll="backward")
    return dt.date.fromisoformat(str(start))


def day_trades(fills: Iterable[FillSide], now_ns: int) -> int:
    """Day trades in the window ending on `now_ns`'s day."""
    first = window_start(now_ns)
    sides: dict[tuple[dt.date, str], list[str]] = {}
    for fill in sorted(fills, key=lambda f: f.ts_ns):
        day = utc_date(fill.ts_ns)
        if day >= first:
            sides.setdefault((day, fill.symbol), []).append(fill.side)
    return sum(_closings(seq) for seq in sides.values())


def _closings(sides: list[str]) -> int:
    opening = sides[0]
    return sum(1 for before, now in itertools.pairwise(sides) if before == opening != now)


def would_day_trade(fills: Iterable[FillSide], symbol: str, side: str, now_ns: int) -> bool:
    """True when a fill of `side` in `symbol` now would close a new day trade."""
    today = utc_date(now_ns)
    seq = [
        f.side
        for f in sorted(fills, key=lambda f: f.ts_ns)
        if f.symbol == symbol and utc_date(f.ts_ns) == today
    ]
    return bool(seq) and seq[-1] == seq[0] != side
