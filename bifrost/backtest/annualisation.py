"""How many bars make a year, from the hours the instrument trades and the bar length.

Volatility, Sharpe and Sortino scale per-bar figures by sqrt(periods per year). The
figure depends on when the market is open, which the bar spacing alone cannot tell:

    trading hours  when                          a year of bars (bar shorter than 2 days)
    equity         6.5 h sessions, 252 a year     252 * ceil(6.5 h / bar)   1d -> 252
    fx             24 h, 5 days a week            260 * ceil(24 h / bar)    1d -> 260
    crypto         24 h, every day                365 * ceil(24 h / bar)    1d -> 365

Bars of two days or more count calendar time for every market: 365.25 d / bar
(weekly -> 52.18). The hours come from the first symbol's instrument: asset class
`crypto` or calendar `24/7` trade around the clock, `fx` 24x5, everything else
(equities, ETFs, futures) the 6.5 h equity session. `--periods-per-year` overrides.
"""

from __future__ import annotations

import math

from bifrost.backtest.stats import DAYS_PER_YEAR, NS_PER_DAY, SESSION_NS, TRADING_DAYS_PER_YEAR
from bifrost.model.instrument import AssetClass, Instrument

HOUR_NS = 3_600_000_000_000
TRADING_HOURS: dict[str, tuple[float, int]] = {
    "equity": (TRADING_DAYS_PER_YEAR, SESSION_NS),
    "fx": (260, 24 * HOUR_NS),
    "crypto": (365, 24 * HOUR_NS),
}
"""Trading hours by name: (trading days a year, ns traded a day)."""


def trading_hours_of(instrument: Instrument) -> str:
    """The trading hours (a key of TRADING_HOURS) of an instrument."""
    if instrument.asset_class is AssetClass.CRYPTO or instrument.calendar == "24/7":
        return "crypto"
    if instrument.asset_class is AssetClass.FX:
        return "fx"
    return "equity"


def periods_per_year(trading_hours: str, bar_ns: int) -> float:
    """Bars of `bar_ns` in a year of a market open `trading_hours` (module docstring)."""
    if bar_ns >= 2 * NS_PER_DAY:
        return DAYS_PER_YEAR * NS_PER_DAY / bar_ns
    days, day_ns = TRADING_HOURS[trading_hours]
    return float(days * math.ceil(day_ns / bar_ns))


def describe(trading_hours: str | None, given: bool) -> str:
    """Where the figure came from, for the run's output."""
    if given:
        return "given (--periods-per-year)"
    if trading_hours is None:
        return "inferred from the bar spacing (equity sessions)"
    days, day_ns = TRADING_HOURS[trading_hours]
    return f"{trading_hours}: {days:g} days a year of {day_ns / HOUR_NS:g} h"
