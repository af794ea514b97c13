"""A strategy cannot read past the bar being handled, whichever way it tries, in the event
engine, the tick engine and the live runner; `close[-1]` is the current bar's close; an
indicator function that looks ahead is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bifrost.backtest.engine import run_backtest
from bifrost.backtest.ticks import QuoteArrays, run_tick_backtest
from bifrost.clock import SimulatedClock
from bifrost.errors import BadRequest, LookAhead
from bifrost.live.runner import LiveRunner
from bifrost.model.market import Bar, Quote
from bifrost.sim.past_data import PastSeries
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.strategy import Strategy

DAY = 86_400_000_000_000
N = 8
"""Bars of every series below; enough for the look-ahead probe (at least 4)."""


def rising_bars(n: int = N, start: float = 100.0) -> BarArrays:
    """Closes start, start + 1, ...: any value above the current close is from the future."""
    close = start + np.arange(n, dtype=np.float64)
    ts = (np.arange(n, dtype=np.int64) + 1) * DAY
    return BarArrays(ts, close - 0.5, close + 0.5, close - 1.0, close, np.full(n, 1e6))


def rising_quotes(n: int = N) -> QuoteArrays:
    """Bids 100, 101, ... and asks 0.2 above: the mids rise with every quote."""
    bid = 100.0 + np.arange(n, dtype=np.float64)
    ts = (np.arange(n, dtype=np.int64) + 1) * 1_000_000_000
    return QuoteArrays(ts, bid, bid + 0.2, np.full(n, 100.0), np.full(n, 100.0))


class FutureTeller:
    """A sentiment source that answers with the very time it is asked about."""

    def score(self, symbol: str, now_ns: int) -> float:
        return float(now_ns)


def public_arrays(root: Any, depth: int = 4) -> list[Any]:
    """Every array or series reachable from `root` by public attributes, dict values and
    list items (names starting with '_' are private, so not followed)."""
    found, seen, layer = [], set(), [root]
    for _ in range(depth):
        following = []
        for obj in layer:
            if id(obj) in seen or isinstance(obj, str | bytes | int | float | type):
                continue
            seen.add(id(obj))
            if isinstance(obj, np.ndarray | PastSeries):
                found.append(obj)
                continue
            if isinstance(obj, dict):
                following.extend(obj.values())
                continue
            if isinstance(obj, list | tuple | set):
                following.extend(obj)
                continue
            for name in dir(obj):
                if not name.startswith("_"):
                    try:
                        following.append(getattr(obj, name))
                    except (AttributeError, RuntimeError):
                        continue
        layer = following
    return found


def lengths(arrays: list[Any]) -> np.ndarray:
    """One zero per element of each array: the length check below sees them all."""
    return np.zeros(max((len(np.asarray(a)) for a in arrays), default=0))


Read = Callable[[Any, str], Any]
READS: dict[str, Read] = {
    "close[-1]": lambda st, s: st.data[s].close[-1],
    "close[len]": lambda st, s: st.data[s].close[len(st.data[s].close)],
    "close[N - 1]": lambda st, s: st.data[s].close[N - 1],
    "close[np.int64(N - 1)]": lambda st, s: st.data[s].close[np.int64(N - 1)],
    "close[:]": lambda st, s: st.data[s].close[:],
    "close[5:]": lambda st, s: st.data[s].close[5:],
    "close[-1:]": lambda st, s: st.data[s].close[-1:],
    "close[::-1]": lambda st, s: st.data[s].close[::-1],
    "close[...]": lambda st, s: st.data[s].close[...],
    "close[[0, N - 1]]": lambda st, s: st.data[s].close[[0, N - 1]],
    "slice .base": lambda st, s: st.data[s].close[:].base,
    "len(close)": lambda st, s: np.zeros(len(st.data[s].close)),
    "len(bars)": lambda st, s: np.zeros(len(st.data[s])),
    "len(ts)": lambda st, s: np.zeros(len(st.data[s].ts)),
    "iteration": lambda st, s: list(st.data[s].close),
    "reversed": lambda st, s: list(reversed(st.data[s].close)),
    "np.asarray": lambda st, s: np.asarray(st.data[s].close),
    "np.asarray .base": lambda st, s: np.asarray(st.data[s].close).base,
    "__array__": lambda st, s: st.data[s].close.__array__(),
    ".values": lambda st, s: st.data[s].close.values,
    ".values .base": lambda st, s: st.data[s].close.values.base,
    "arithmetic": lambda st, s: st.data[s].close * 1.0,
    "np.max": lambda st, s: np.max(st.data[s].close),
    "indicator[:]": lambda st, s: st.same[s][:],
    "indicator .values": lambda st, s: st.same[s].values,
    "np.asarray(indicator)": lambda st, s: np.asarray(st.same[s]),
    "len(indicator)": lambda st, s: np.zeros(len(st.same[s])),
    "public attributes of the strategy": lambda st, s: lengths(public_arrays(st)),
    "public attributes of the context": lambda st, s: lengths(public_arrays(st.context)),
    "news asked about the future": lambda st, s: st.news.score(s, 2**62) - st.now_ts + 100,
}
"""Ways to read ahead; each gives what it got (IndexError: nothing)."""


class Peeker(Strategy):
    """Tries one way of reading ahead on every bar or quote and records what it saw."""

    way: str = "close[-1]"

    def on_start(self) -> None:
        self.same = {s: self.I(lambda c: c.copy(), self.data[s].close) for s in self.symbols}
        self.seen: list[tuple[float, int, float, int]] = []
        """(current close, bars so far, largest value read, longest array read)."""

    def look(self, symbol: str, current: float, now_ts: int) -> None:
        self.now_ts = now_ts
        try:
            got = READS[self.way](self, symbol)
        except IndexError:
            got = []
        values = np.asarray(got if got is not None else [], dtype=np.float64).ravel()
        count = self.context.index(symbol) + 1
        longest = len(values) if np.ndim(got) else 0
        self.seen.append((current, count, float(values.max(initial=-np.inf)), longest))

    def on_bar(self, bar: Bar) -> None:
        self.look(bar.symbol, bar.close, bar.ts)

    def on_quote(self, quote: Quote) -> None:
        self.look(quote.symbol, quote.mid, quote.ts)


def assert_saw_nothing_ahead(strategy: Peeker, events: int) -> None:
    assert len(strategy.seen) == events
    for current, count, largest, longest in strategy.seen:
        assert largest <= current, f"read {largest} at a bar closing at {current}"
        assert longest <= count, f"an array of {longest} values after {count} bars"


def run_event(way: str) -> Peeker:
    strategy = Peeker(way=way)
    strategy.news = FutureTeller()
    run_backtest(strategy, {"X": rising_bars()})
    return strategy


class OrderBook:
    """An order port that accepts every order as sent (the venue is not under test)."""

    def submit(self, spec: dict[str, Any], cid: str) -> dict[str, Any]:
        return {**spec, "status": "ACCEPTED", "filled": 0.0}

    def cancel(self, client_order_id: str, cid: str) -> dict[str, Any]:
        raise AssertionError("no cancel expected")


def live_bar(k: int, bars: BarArrays, symbol: str = "X") -> dict[str, Any]:
    """Bar `k` of `bars` as the event body the live runner receives."""
    fields = ("ts", "open", "high", "low", "close", "volume")
    return {"symbol": symbol, "timeframe": "1m"} | {f: getattr(bars, f)[k].item() for f in fields}


@pytest.mark.parametrize("way", list(READS))
def test_event_engine_strategy_reading_ahead_by_way_sees_nothing_after_now(way: str) -> None:
    assert_saw_nothing_ahead(run_event(way), N)


@pytest.mark.parametrize("way", list(READS))
def test_tick_engine_strategy_reading_ahead_by_way_sees_nothing_after_now(way: str) -> None:
    strategy = Peeker(way=way)
    strategy.news = FutureTeller()
    run_tick_backtest(strategy, {"X": rising_quotes()})
    assert_saw_nothing_ahead(strategy, N)


@pytest.mark.parametrize("way", list(READS))
def test_live_runner_strategy_reading_ahead_by_way_sees_nothing_after_now(way: str) -> None:
    strategy = Peeker(way=way)
    strategy.news = FutureTeller()
    clock = SimulatedClock(0)
    runner = LiveRunner("peek-1", strategy, ["X"], "1m", OrderBook(), clock)
    bars = rising_bars()
    for k in range(N):
        clock.advance_to(int(bars.ts[k]))
        runner.on_bar(live_bar(k, bars))
    assert runner.last_error == ""
    assert_saw_nothing_ahead(strategy, N)


# -- close[-1] is the current bar ---------------------------------------------------------


class Recorder(Strategy):
    """Records, on every bar, each symbol's close[-1], close[-2] and bar count."""

    def on_start(self) -> None:
        self.rows: list[tuple[str, float, dict[str, tuple[float | None, ...]]]] = []

    def on_bar(self, bar: Bar) -> None:
        views = {}
        for s, view in self.data.items():  # a symbol may have no bar yet
            now = view.close[-1] if len(view) else None
            before = view.close[-2] if len(view) > 1 else None
            views[s] = (now, before, len(view))
        self.rows.append((bar.symbol, bar.close, views))


def test_event_engine_close_minus_one_is_each_bars_own_close() -> None:
    strategy = Recorder()
    bars = rising_bars()
    run_backtest(strategy, {"X": bars})
    recorded = [(close, views["X"]) for _, close, views in strategy.rows]
    expected = [(c, (c, c - 1 if k else None, k + 1)) for k, c in enumerate(bars.close)]
    assert recorded == expected


def test_event_engine_other_symbol_shows_its_latest_bar_not_its_next() -> None:
    a = BarArrays(
        np.array([1, 2, 3, 4], dtype=np.int64) * DAY,
        *(np.array([10.0, 11.0, 12.0, 13.0]) for _ in range(4)),
        np.full(4, 1e6),
    )
    b = BarArrays(
        np.array([1, 2, 4], dtype=np.int64) * DAY,
        *(np.array([20.0, 22.0, 18.0]) for _ in range(4)),
        np.full(3, 1e6),
    )
    strategy = Recorder()
    run_backtest(strategy, {"A": a, "B": b})
    at_a_third_bar = next(v for s, c, v in strategy.rows if s == "A" and c == 12.0)
    assert at_a_third_bar["B"] == (22.0, 20.0, 2)  # B has no bar at day 3: day 2's


def test_tick_engine_close_minus_one_is_each_quotes_mid() -> None:
    strategy = Recorder()
    seen: list[tuple[float, float]] = []
    strategy.on_quote = lambda q: seen.append((q.mid, strategy.data["X"].close[-1]))
    run_tick_backtest(strategy, {"X": rising_quotes()})
    assert seen and all(mid == close for mid, close in seen)


def test_live_runner_close_minus_one_is_the_last_completed_bar() -> None:
    strategy = Recorder()
    runner = LiveRunner("rec-1", strategy, ["X"], "1m", OrderBook(), SimulatedClock(0))
    bars = rising_bars()
    for k in range(N):
        runner.on_bar(live_bar(k, bars))
    recorded = [(close, views["X"]) for _, close, views in strategy.rows]
    expected = [(c, (c, c - 1 if k else None, k + 1)) for k, c in enumerate(bars.close)]
    assert recorded == expected


def test_live_runner_indicator_follows_the_growing_bars() -> None:
    class Tenfold(Strategy):
        def on_start(self) -> None:
            self.tenfold = self.I(lambda c: c * 10, self.data["X"].close)
            self.reads: list[float] = []

        def on_bar(self, bar: Bar) -> None:
            self.reads.append(self.tenfold[-1])

    strategy = Tenfold()
    runner = LiveRunner("ten-1", strategy, ["X"], "1m", OrderBook(), SimulatedClock(0))
    bars = rising_bars()
    for k in range(N):
        runner.on_bar(live_bar(k, bars))
    assert strategy.reads == [c * 10 for c in bars.close]


# -- indicators that look ahead -----------------------------------------------------------


def indicator_of(func: Callable[[np.ndarray], np.ndarray]) -> type[Strategy]:
    class Uses(Strategy):
        def on_start(self) -> None:
            self.values = self.I(func, self.data["X"].close)

    return Uses


@pytest.mark.parametrize(
    "func",
    [
        lambda c: np.roll(c, -1),  # tomorrow's close today
        lambda c: (c - c.mean()) / c.std(),  # a z-score on every bar's mean
        lambda c: np.convolve(c, np.ones(3) / 3, mode="same"),  # a centred window
        lambda c: np.full(len(c), c[-1]),  # the last close everywhere
    ],
    ids=["shift back", "whole-series z-score", "centred window", "last value"],
)
def test_indicator_function_looking_ahead_raises_look_ahead(func: Any) -> None:
    with pytest.raises(LookAhead, match="looks ahead"):
        run_backtest(indicator_of(func)(), {"X": rising_bars()})


def test_indicator_causal_function_runs() -> None:
    result = run_backtest(indicator_of(np.maximum.accumulate)(), {"X": rising_bars()})
    assert len(result.equity) == N


def test_indicator_without_symbol_follows_its_series_symbol() -> None:
    class Other(Strategy):
        def on_start(self) -> None:
            self.b = self.I(lambda c: c.copy(), self.data["B"].close)
            self.reads: list[tuple[str, float]] = []

        def on_bar(self, bar: Bar) -> None:
            self.reads.append((bar.symbol, self.b[-1]))

    a = rising_bars(4, 10.0)
    b = BarArrays(
        a.ts[[0, 1, 3]],
        *(x[[0, 1, 3]] + 10 for x in (a.open, a.high, a.low)),
        a.close[[0, 1, 3]] + 10,
        a.volume[:3],
    )
    strategy = Other()
    run_backtest(strategy, {"A": a, "B": b})
    # on A's third bar B's latest close is its second (21), never its next one (23)
    assert strategy.reads[4] == ("A", 21.0)


def test_indicator_over_one_symbol_read_at_another_raises_bad_request() -> None:
    class Mixed(Strategy):
        def on_start(self) -> None:
            self.I(lambda c: c.copy(), self.data["B"].close, symbol="A")

    with pytest.raises(BadRequest, match="cannot follow"):
        run_backtest(Mixed(), {"A": rising_bars(), "B": rising_bars()})
