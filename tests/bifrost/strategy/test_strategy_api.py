"""The Strategy API: parameters and their coercion, indicators that cannot look ahead, and
the event engine that runs a strategy (single and multi-symbol timelines, close_at_end).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pytest

from bifrost.backtest.engine import BacktestConfig, EventEngine, run_backtest
from bifrost.errors import BadRequest
from bifrost.model.market import Bar, Side
from bifrost.model.orders import Order
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.indicator import Indicator
from bifrost.strategy.strategy import Strategy, coerce_param

DAY = 86_400_000_000_000
T1, T2, T3, T4 = DAY, 2 * DAY, 3 * DAY, 4 * DAY


def arrays(ts: list[int], opens: list[float], closes: list[float]) -> BarArrays:
    """Bars one point wider than their body, 1 000 000 shares each."""
    o, c = np.array(opens, dtype=np.float64), np.array(closes, dtype=np.float64)
    return BarArrays(
        np.array(ts, dtype=np.int64),
        o,
        np.maximum(o, c) + 1,
        np.minimum(o, c) - 1,
        c,
        np.full(len(ts), 1_000_000.0),
    )


X = arrays([T1, T2, T3], opens=[10.0, 10.5, 11.5], closes=[10.0, 11.0, 12.0])
"""One symbol over three days."""

A = arrays([T1, T2, T3, T4], opens=[10.0, 10.5, 11.5, 12.5], closes=[10.0, 11.0, 12.0, 13.0])
B = arrays([T1, T2, T4], opens=[20.0, 21.0, 19.0], closes=[20.0, 22.0, 18.0])
"""Two symbols on one timeline; B has no bar at T3."""


# -- strategies used below ---------------------------------------------------------------


class Tunable(Strategy):
    """Every kind of parameter, next to attributes that are not parameters."""

    name: ClassVar[str] = "tunable"
    fast: int = 10
    ratio: float = 0.5
    label: str = "plain"
    verbose: bool = False
    window: int  # annotated without a default: not a parameter
    pair: tuple[int, int] = (1, 2)  # not a parameter type
    helper = 3  # not annotated


class Slower(Tunable):
    """Adds a parameter."""

    slow: int = 30


class Quicker(Tunable):
    """Overrides a default without repeating the annotation."""

    fast = 5


class BuyAt(Strategy):
    """Buys `size` of `symbol` on its bar at `ts`; records every bar and its equity."""

    symbol: str = "X"
    ts: int = T1
    size: float = 10.0

    def on_start(self) -> None:
        self.bars: list[tuple[str, int]] = []
        self.equity: list[float] = []

    def on_bar(self, bar: Bar) -> None:
        self.bars.append((bar.symbol, bar.ts))
        self.equity.append(self.portfolio.equity)
        if bar.symbol == self.symbol and bar.ts == self.ts:
            self.buy(self.symbol, self.size)


class BuyEach(Strategy):
    """Buys `size` of each symbol on that symbol's first bar."""

    size: float = 10.0

    def on_bar(self, bar: Bar) -> None:
        if bar.ts == T1:
            self.buy(bar.symbol, self.size)


class Reader(Strategy):
    """Reads an indicator (ten times the close) of `symbol` on every bar of any symbol."""

    symbol: str = "X"

    def on_start(self) -> None:
        self.tenfold = self.I(lambda c: c * 10, self.data[self.symbol].close, symbol=self.symbol)
        self.reads: list[tuple[float, float]] = []

    def on_bar(self, bar: Bar) -> None:
        self.reads.append((self.tenfold[-1], self.tenfold[-2]))


# -- parameters --------------------------------------------------------------------------


def test_parameters_annotated_attributes_with_defaults_only() -> None:
    assert Tunable.parameters() == {
        "fast": (int, 10),
        "ratio": (float, 0.5),
        "label": (str, "plain"),
        "verbose": (bool, False),
    }


def test_parameters_subclass_inherits_and_adds() -> None:
    assert list(Slower.parameters()) == ["fast", "ratio", "label", "verbose", "slow"]


def test_parameters_subclass_overriding_a_default_reports_the_new_default() -> None:
    assert Quicker.parameters()["fast"] == (int, 5)
    assert Quicker().params()["fast"] == 5


def test_strategy_without_params_takes_the_defaults() -> None:
    assert Tunable().params() == {"fast": 10, "ratio": 0.5, "label": "plain", "verbose": False}


def test_strategy_param_does_not_change_the_class_default() -> None:
    Tunable(fast=3)
    assert (Tunable().fast, Tunable.parameters()["fast"]) == (10, (int, 10))


@pytest.mark.parametrize(("text", "expected"), [("10", 10), ("2.0", 2), ("1e3", 1000)])
def test_strategy_int_param_from_whole_number_text_is_an_int(text: str, expected: int) -> None:
    fast = Tunable(fast=text).fast
    assert (fast, type(fast)) == (expected, int)


@pytest.mark.parametrize("text", ["1.5", "ten", "nan"])
def test_strategy_int_param_not_whole_raises_bad_request(text: str) -> None:
    with pytest.raises(BadRequest, match=f"parameter fast='{text}' is not a valid int"):
        Tunable(fast=text)


def test_strategy_float_param_from_int_is_a_float() -> None:
    ratio = Tunable(ratio=3).ratio
    assert (ratio, type(ratio)) == (3.0, float)


def test_strategy_float_param_not_a_number_raises_bad_request() -> None:
    with pytest.raises(BadRequest, match="parameter ratio='abc' is not a valid float"):
        Tunable(ratio="abc")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("off", False),
        ("0", False),
        (True, True),
        (False, False),
    ],
)
def test_strategy_bool_param_parses_words(text: str | bool, expected: bool) -> None:
    assert Tunable(verbose=text).verbose is expected


def test_strategy_bool_param_other_word_raises_bad_request() -> None:
    with pytest.raises(BadRequest, match="parameter verbose='maybe' is not a valid bool"):
        Tunable(verbose="maybe")


def test_strategy_unknown_param_raises_bad_request_naming_it_and_the_known_ones() -> None:
    with pytest.raises(
        BadRequest, match=r"Tunable has no parameter 'slowest' \(fast, ratio, label, verbose\)"
    ):
        Tunable(slowest=3)


def test_strategy_param_not_a_parameter_type_is_unknown() -> None:
    with pytest.raises(BadRequest, match="no parameter 'pair'"):
        Tunable(pair=(3, 4))


def test_coerce_param_value_of_the_right_type_is_kept() -> None:
    assert coerce_param("label", "x", str) == "x"


def test_strategy_id_is_the_registry_name_else_the_class_name() -> None:
    assert (Tunable().strategy_id, BuyEach().strategy_id) == ("tunable", "BuyEach")


def test_strategy_context_before_bind_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        Tunable().position("X")


# -- indicators --------------------------------------------------------------------------


def indicator_at(index: int) -> Indicator:
    """Values 1, 2, 3 of X with the current bar at `index`."""
    return Indicator("ones", np.array([1.0, 2.0, 3.0]), "X", lambda symbol: index)


@pytest.mark.parametrize("ahead", [0, 1, 2])
def test_indicator_non_negative_index_raises_index_error(ahead: int) -> None:
    with pytest.raises(IndexError, match="read backwards"):
        indicator_at(1)[ahead]


def test_indicator_minus_one_is_the_current_bar_and_minus_two_the_one_before() -> None:
    ind = indicator_at(1)
    assert (ind[-1], ind[-2]) == (2.0, 1.0)


def test_indicator_before_the_first_bar_is_nan() -> None:
    assert math.isnan(indicator_at(1)[-3])


def test_indicator_length_is_the_bars_seen_so_far() -> None:
    assert len(indicator_at(1)) == 2


def test_indicator_in_engine_follows_the_bar_being_handled() -> None:
    strategy = Reader()
    run_backtest(strategy, {"X": X})
    # closes 10, 11, 12 -> values 100, 110, 120; nothing before the first bar
    (first, before_first), *rest = strategy.reads
    assert (first, math.isnan(before_first)) == (100.0, True)
    assert rest == [(110.0, 100.0), (120.0, 110.0)]


def test_indicator_many_function_returning_a_tuple_gives_one_indicator_each() -> None:
    class Bands(Strategy):
        def on_start(self) -> None:
            close = self.data["X"].close
            self.lower, self.upper = self.I_many(lambda c: (c - 1, c + 1), close)

        def on_stop(self) -> None:
            self.last = (self.lower[-1], self.upper[-1])

    strategy = Bands()
    run_backtest(strategy, {"X": X})
    assert strategy.last == (11.0, 13.0)  # last close 12 -> 12 - 1, 12 + 1


# -- the event engine, one symbol --------------------------------------------------------


def test_run_backtest_market_order_fills_at_the_next_open() -> None:
    result = run_backtest(BuyAt(), {"X": X}, BacktestConfig(cash=1_000.0))
    (fill, _) = result.fills  # the buy, then the close at the end
    assert (fill.ts, fill.price, fill.quantity) == (T2, 10.5, 10.0)


def test_run_backtest_close_mode_fills_at_the_signal_bar_close() -> None:
    config = BacktestConfig(cash=1_000.0, fill="close")
    result = run_backtest(BuyAt(), {"X": X}, config)
    assert (result.fills[0].ts, result.fills[0].price) == (T1, 10.0)


def test_run_backtest_close_at_end_sells_at_the_last_close() -> None:
    result = run_backtest(BuyAt(), {"X": X}, BacktestConfig(cash=1_000.0))
    (trade,) = result.trades
    # bought 10 at 10.5, sold at the last close 12: (12 - 10.5) * 10 = 15
    assert (trade.exit_ts, trade.exit_price, trade.pnl) == (T3, 12.0, pytest.approx(15.0))
    assert result.positions == {}
    assert result.equity[-1] == pytest.approx(1_015.0)


def test_run_backtest_close_at_end_false_leaves_the_position_open() -> None:
    config = BacktestConfig(cash=1_000.0, close_at_end=False)
    result = run_backtest(BuyAt(), {"X": X}, config)
    assert (result.positions, result.trades) == ({"X": 10.0}, [])
    # cash 1000 - 105 = 895, plus 10 marked at the last close 12
    assert result.equity[-1] == pytest.approx(1_015.0)


def test_run_backtest_equity_marked_at_each_close() -> None:
    result = run_backtest(BuyAt(), {"X": X}, BacktestConfig(cash=1_000.0))
    # T1 flat; T2 895 + 10 * 11; T3 895 + 10 * 12
    assert result.equity.tolist() == pytest.approx([1_000.0, 1_005.0, 1_015.0])
    assert result.exposure.tolist() == [False, True, True]


def test_portfolio_equity_single_symbol_is_marked_at_the_current_close() -> None:
    strategy = BuyAt()
    result = run_backtest(strategy, {"X": X}, BacktestConfig(cash=1_000.0))
    assert strategy.equity == pytest.approx(result.equity.tolist())  # [1000, 1005, 1015]


def test_engine_order_for_a_symbol_without_data_raises_bad_request() -> None:
    engine = EventEngine({"X": X}, BacktestConfig())
    with pytest.raises(BadRequest, match="no data for MSFT"):
        engine.submit_order(Order("o-1", "MSFT", Side.BUY, 1.0))


def test_engine_symbol_without_bars_raises_bad_request() -> None:
    with pytest.raises(BadRequest, match="needs bars for every symbol"):
        EventEngine({"X": arrays([], [], [])}, BacktestConfig())


# -- the event engine, several symbols on one timeline -----------------------------------


def test_run_backtest_many_symbols_on_bar_by_time_then_symbol_skipping_missing_bars() -> None:
    strategy = BuyAt(symbol="A")
    run_backtest(strategy, {"B": B, "A": A})
    assert strategy.bars == [
        ("A", T1),
        ("B", T1),
        ("A", T2),
        ("B", T2),
        ("A", T3),  # B has no bar at T3
        ("A", T4),
        ("B", T4),
    ]


def test_run_backtest_many_symbols_equity_marked_once_per_timestamp() -> None:
    result = run_backtest(BuyEach(), {"A": A, "B": B}, BacktestConfig(cash=1_000.0))
    # both buys fill at T2's opens: cash 1000 - 10 * 10.5 - 10 * 21 = 685
    assert [(f.symbol, f.ts, f.price) for f in result.fills[:2]] == [
        ("A", T2, 10.5),
        ("B", T2, 21.0),
    ]
    assert result.ts.tolist() == [T1, T2, T3, T4]
    assert result.equity.tolist() == pytest.approx(
        [
            1_000.0,  # T1: flat
            1_015.0,  # T2: 685 + 10 * 11 + 10 * 22
            1_025.0,  # T3: 685 + 10 * 12 + 10 * 22 (B has no bar: its last close holds)
            995.0,  # T4: 685 + 10 * 13 + 10 * 18 (and the close at the end costs nothing)
        ]
    )


def test_run_backtest_many_symbols_order_waits_for_the_symbol_next_bar() -> None:
    result = run_backtest(BuyAt(symbol="B", ts=T2), {"A": A, "B": B}, BacktestConfig())
    # placed on B's T2 bar; B has no T3 bar, so it fills at B's T4 open
    assert (result.fills[0].symbol, result.fills[0].ts, result.fills[0].price) == ("B", T4, 19.0)


def test_indicator_many_symbols_follows_its_own_symbol_index() -> None:
    strategy = Reader(symbol="B")
    run_backtest(strategy, {"A": A, "B": B})
    # reads on bars A1 B1 A2 B2 A3 A4 B4 of B's tenfold closes 200, 220, 180:
    # from B2 on (B at index 1), A3 and A4 still see B's T2 bar, B4 moves it to index 2
    assert strategy.reads[3:] == [(220.0, 200.0)] * 3 + [(180.0, 220.0)]


def test_run_backtest_many_symbols_close_at_end_false_reports_both_positions() -> None:
    config = BacktestConfig(cash=1_000.0, close_at_end=False)
    result = run_backtest(BuyEach(), {"A": A, "B": B}, config)
    assert (result.positions, result.trades) == ({"A": 10.0, "B": 10.0}, [])


class TargetQuarter(Strategy):
    """Holds a quarter of its equity in the first symbol, rebalanced every bar."""

    def on_bar(self, bar: Bar) -> None:
        self.order_target_percent(bar.symbol, 0.25)


def test_order_target_percent_holds_the_target_share_of_equity() -> None:
    bars = arrays([T1, T2, T3, T4], [100.0, 100.0, 200.0, 200.0], [100.0, 100.0, 200.0, 200.0])
    result = run_backtest(
        TargetQuarter(), {"A": bars}, BacktestConfig(cash=10_000.0, close_at_end=False)
    )
    # Bar 1: equity 10 000 -> 25 shares at 100, filled at bar 2's open (100).
    # Bar 3 closes at 200: equity 7 500 + 25 * 200 = 12 500 -> target 15 shares, sell 10
    # at bar 4's open (200).
    assert [(f.side.value, f.quantity, f.price) for f in result.fills] == [
        ("BUY", 25.0, 100.0),
        ("SELL", 10.0, 200.0),
    ]
    assert result.positions == {"A": 15.0}
