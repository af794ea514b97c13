"""What a strategy may read of its data: every series ends at the bar being handled.

The engine holds each symbol's bars for the whole run; a strategy sees them through a
`BarView` of `PastSeries`, which read the engine's current bar index on every access,
so moving to the next bar costs the engine nothing (an engine that keeps each symbol's
index in a one-element list, its cursor, hands that list over and reads skip a call).
`close[-1]` is the current bar, `close[-2]` the one before, `close[0]` the first; an
index past the current bar raises IndexError, and slices, `len()`, iteration, `values`,
numpy conversion and arithmetic all see the same prefix. What leaves a series is a
copy, never a numpy view: a view leads back to the whole array through its `.base`.

Indicators need the whole series once (`Strategy.I` computes them before the first
bar); `whole_series` is how the Strategy, and only it, unwraps a view for that, and
`check_causal` refuses an indicator function whose values depend on later bars.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from bifrost.errors import LookAhead

BAR_FIELDS = ("ts", "open", "high", "low", "close", "volume")
"""The series of a bar view, in BarArrays order."""

MIN_PROBE_BARS = 4
"""Fewer bars than this and an indicator is not probed for look-ahead (nothing to cut)."""


class PastSeries(NDArrayOperatorsMixin):
    """One series of one symbol, shown from its first value up to the current bar only."""

    __slots__ = ("_cursor", "_index", "_items", "_values", "symbol")

    def __init__(
        self,
        values: np.ndarray,
        symbol: str,
        index: Callable[[str], int],
        cursor: list[int] | None = None,
    ) -> None:
        self.symbol = symbol
        self._index = index
        self._cursor = cursor
        """The engine's index of the current bar as `cursor[0]`, when it keeps one."""
        self.set_values(values)

    def set_values(self, values: np.ndarray) -> None:
        """Replace the series (live trading appends bars)."""
        self._values = values
        plain = values.ndim == 1 and values.dtype.kind in "fiub" and values.flags.c_contiguous
        # A memoryview gives each value as a Python number about three times faster than
        # indexing the array, without copying; it never leaves the series.
        self._items: memoryview | None = values.data if plain else None

    def _now(self) -> int:
        """Index of the current bar (-1 before the first)."""
        cursor = self._cursor
        return cursor[0] if cursor is not None else self._index(self.symbol)

    def _prefix(self) -> np.ndarray:
        """The series up to the current bar, as a numpy view: internal use only."""
        return self._values[: self._now() + 1]

    def __getitem__(self, key: Any) -> Any:
        cursor = self._cursor
        now = cursor[0] if cursor is not None else self._index(self.symbol)
        if type(key) is not int:
            if isinstance(key, slice) or not hasattr(key, "__index__"):
                picked = self._values[: now + 1][key]
                return picked.copy() if isinstance(picked, np.ndarray) else picked
            key = operator.index(key)
        position = key + now + 1 if key < 0 else key
        if not 0 <= position <= now:
            return self._outside(key, now)
        items = self._items
        return items[position] if items is not None else self._values[position]

    def _outside(self, key: int, now: int) -> Any:
        """What reading outside the past gives: an IndexError saying which side."""
        if key >= 0:
            raise IndexError(f"{self.symbol}[{key}] is after the current bar ({now})")
        raise IndexError(f"{self.symbol}[{key}] is before the first bar")

    def __len__(self) -> int:
        return self._now() + 1

    def __iter__(self) -> Iterator[Any]:
        return iter(self._prefix().tolist())

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.array(self._prefix(), dtype=dtype, copy=True)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """numpy functions and operators (`close * 2`, `close > upper`) on the prefix."""
        inputs = tuple(np.array(x) if isinstance(x, PastSeries) else x for x in inputs)
        if any(isinstance(x, PastSeries) for x in kwargs.get("out", ())):
            return NotImplemented
        return getattr(ufunc, method)(*inputs, **kwargs)

    @property
    def values(self) -> np.ndarray:
        """A copy of the series up to the current bar."""
        return np.array(self._prefix())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.symbol!r}, {len(self)} values up to now)"


class BarView:
    """One symbol's bars up to the current bar: `ts`, `open`, `high`, `low`, `close`,
    `volume`, each a PastSeries; `len()` is the number of bars seen so far."""

    __slots__ = ("close", "high", "low", "open", "symbol", "ts", "volume")
    ts: PastSeries
    open: PastSeries
    high: PastSeries
    low: PastSeries
    close: PastSeries
    volume: PastSeries

    def __init__(
        self,
        bars: Any,
        symbol: str,
        index: Callable[[str], int],
        cursor: list[int] | None = None,
    ) -> None:
        self.symbol = symbol
        for name in BAR_FIELDS:
            setattr(self, name, PastSeries(getattr(bars, name), symbol, index, cursor))

    def set_bars(self, bars: Any) -> None:
        """Replace the bars (live trading appends them)."""
        for name in BAR_FIELDS:
            getattr(self, name).set_values(getattr(bars, name))

    def __len__(self) -> int:
        return len(self.close)

    def __repr__(self) -> str:
        return f"BarView({self.symbol!r}, {len(self)} bars up to now)"


def whole_series(value: Any) -> Any:
    """The whole array behind a PastSeries (or BarView field); anything else unchanged."""
    return value._values if isinstance(value, PastSeries) else value


def series_length(args: tuple, kwargs: dict[str, Any]) -> int:
    """Length of the whole series behind the first PastSeries argument (0 without one)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, PastSeries):
            return len(value._values)
    return 0


def check_causal(
    name: str, func: Callable[..., Any], args: tuple, kwargs: dict[str, Any], full: Any
) -> None:
    """Raise LookAhead when `func` gives other values for the first half of the bars once
    the second half is gone: its value at a bar then depends on bars after it.

    One cut at the middle catches a statistic of the whole series (a z-score on the mean
    of every bar), a shift backwards (`np.roll(c, -1)`) and a centred window.
    """
    n = series_length(args, kwargs)
    if n < MIN_PROBE_BARS:
        return
    cut = n // 2

    def shorten(value: Any) -> Any:
        return value._values[:cut] if isinstance(value, PastSeries) else value

    probe = func(*map(shorten, args), **{k: shorten(v) for k, v in kwargs.items()})
    fulls = full if isinstance(full, tuple) else (full,)
    probes = probe if isinstance(probe, tuple) else (probe,)
    for whole, short in zip(fulls, probes, strict=False):
        whole, short = np.asarray(whole), np.asarray(short)
        if whole.ndim == 0 or len(whole) != n or len(short) != cut:
            continue  # not one value per bar: nothing to compare
        bar = first_difference(whole[:cut], short)
        if bar is not None:
            raise LookAhead(
                f"indicator {name} looks ahead: its value at bar {bar} changes when the "
                f"bars after bar {cut - 1} are removed; an indicator may use only the bars "
                "up to the one it is for",
                {"indicator": name, "bar": bar},
            )


def first_difference(whole: np.ndarray, short: np.ndarray) -> int | None:
    """The first bar where two series differ (NaN equals NaN, floats to 1e-9), or None."""
    if whole.dtype.kind in "fc" or short.dtype.kind in "fc":
        same = np.isclose(whole, short, rtol=1e-9, atol=1e-12, equal_nan=True)
    else:
        same = whole == short
    same = same.reshape(len(whole), -1).all(axis=1)
    return None if same.all() else int(np.argmin(same))


class NewsUpToNow:
    """A strategy's news sentiment source that answers for times up to now only: asked
    about a later time, it gives the score as known now."""

    __slots__ = ("_clock", "_source")

    def __init__(self, source: Any, clock: Callable[[], int]) -> None:
        self._source = source
        self._clock = clock

    def score(self, symbol: str, now_ns: int) -> float:
        """The rolling score of `symbol` at `now_ns`, or at now when that is later."""
        return self._source.score(symbol, min(now_ns, self._clock()))
