"""SimulatedExchange: the fill rules of its module docstring, on hand-made bars and quotes.

Every order is placed at T0 (day 1) and bars arrive on later days, so each order may
fill from the first bar shown to it. Prices are picked so each expected fill price can
be read off the bar; the arithmetic is in the comments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bifrost.errors import BadRequest, NotFound
from bifrost.model.market import Quote, Side
from bifrost.model.orders import Fill, Order, OrderStatus, OrderType, TimeInForce
from bifrost.sim.account import SimAccount
from bifrost.sim.costs import (
    CommissionModel,
    FixedBpsSlippage,
    FixedCommission,
    PercentCommission,
    PerShareCommission,
)
from bifrost.sim.exchange import DAY_NS, BarPrices, SimulatedExchange

HOUR_NS = DAY_NS // 24
T0 = DAY_NS
"""When every order below is placed: midnight of day 1, before any bar."""
SYMBOL = "AAPL"


def at(day: int, hour: int = 14) -> int:
    """A time on `day` (days since the epoch), by default mid-session."""
    return day * DAY_NS + hour * HOUR_NS


def bar(
    open_: float,
    high: float,
    low: float,
    close: float,
    *,
    day: int = 2,
    hour: int = 14,
    volume: float = 1_000_000.0,
) -> BarPrices:
    """One bar of SYMBOL."""
    assert low <= min(open_, close) <= max(open_, close) <= high, "not a bar"
    return BarPrices(at(day, hour), open_, high, low, close, volume)


def quote(bid: float, ask: float, bid_size: float, ask_size: float, k: int = 1) -> Quote:
    """The k-th quote after T0."""
    return Quote(SYMBOL, bid, ask, bid_size, ask_size, T0 + k)


def make_exchange(
    cash: float = 100_000.0,
    commission: CommissionModel | None = None,
    *,
    holding: float = 0.0,
    **options: Any,
) -> SimulatedExchange:
    """An exchange over a fresh account, optionally already long `holding` shares at 100."""
    account = SimAccount(cash, commission or PercentCommission(0.0))
    if holding:
        account.apply(Fill("seed", SYMBOL, Side.BUY, holding, 100.0, 0.0, 0))
    return SimulatedExchange(account, **options)


def order(
    side: Side,
    quantity: float | None,
    kind: OrderType = OrderType.MARKET,
    *,
    limit: float | None = None,
    stop: float | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    oid: str = "o-1",
    **options: Any,
) -> Order:
    """An order of SYMBOL."""
    return Order(
        oid, SYMBOL, side, quantity, kind, limit_price=limit, stop_price=stop, tif=tif, **options
    )


def fill_on(exchange: SimulatedExchange, placed: Order, *bars: BarPrices) -> float | None:
    """Place `placed` at T0, show it the bars; the price of its last fill (None: no fill)."""
    exchange.submit(placed, T0)
    for prices in bars:
        exchange.process_bar(SYMBOL, prices)
    fills = [f for f in exchange.account.fills if f.client_order_id == placed.client_order_id]
    return fills[-1].price if fills else None


# -- MARKET ------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_market_order_next_bar_fills_at_its_open(side: Side) -> None:
    placed = order(side, 10)
    assert fill_on(make_exchange(), placed, bar(101, 103, 99, 102)) == 101.0
    assert placed.status is OrderStatus.FILLED


def test_market_order_bar_of_its_own_time_does_not_fill_it() -> None:
    exchange = make_exchange()
    placed = exchange.submit(order(Side.BUY, 10), at(2))
    exchange.process_bar(SYMBOL, bar(101, 103, 99, 102, day=2))  # the bar it was placed in
    assert (placed.status, placed.filled) == (OrderStatus.ACCEPTED, 0.0)


def test_process_close_in_close_mode_fills_market_at_the_close_with_slippage() -> None:
    exchange = make_exchange(fill_at_close=True, slippage=FixedBpsSlippage(10))
    placed = exchange.submit(order(Side.BUY, 10), at(2))
    exchange.process_close(SYMBOL, bar(101, 103, 99, 102, day=2))
    # close 102 * 1.001
    assert placed.avg_price == pytest.approx(102.102)


def test_process_close_in_next_open_mode_fills_nothing() -> None:
    exchange = make_exchange()
    placed = exchange.submit(order(Side.BUY, 10), at(2))
    exchange.process_close(SYMBOL, bar(101, 103, 99, 102, day=2))
    assert placed.status is OrderStatus.ACCEPTED


# -- LIMIT (limit 100) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "prices", "expected"),
    [
        (Side.BUY, bar(98, 99, 97, 98), 98.0),  # opened below the buy limit: the open
        (Side.SELL, bar(102, 103, 101, 102), 102.0),  # opened above the sell limit: the open
    ],
    ids=["buy", "sell"],
)
def test_limit_order_bar_gaps_through_fills_at_the_better_open(
    side: Side, prices: BarPrices, expected: float
) -> None:
    placed = order(side, 10, OrderType.LIMIT, limit=100.0)
    assert fill_on(make_exchange(holding=10), placed, prices) == expected


@pytest.mark.parametrize(
    ("side", "prices"),
    [
        (Side.BUY, bar(102, 103, 100, 101)),  # low touches 100 exactly
        (Side.BUY, bar(102, 103, 95, 96)),  # low goes through 100
        (Side.SELL, bar(98, 100, 97, 99)),  # high touches 100 exactly
        (Side.SELL, bar(98, 105, 97, 104)),  # high goes through 100
    ],
    ids=["buy-touch", "buy-through", "sell-touch", "sell-through"],
)
def test_limit_order_bar_reaches_limit_fills_at_the_limit(side: Side, prices: BarPrices) -> None:
    placed = order(side, 10, OrderType.LIMIT, limit=100.0)
    assert fill_on(make_exchange(holding=10), placed, prices) == 100.0


@pytest.mark.parametrize(
    ("side", "prices"),
    [
        (Side.BUY, bar(102, 103, 100.5, 101)),  # low 100.5 stays above the buy limit
        (Side.SELL, bar(98, 99.5, 97, 99)),  # high 99.5 stays below the sell limit
    ],
    ids=["buy", "sell"],
)
def test_limit_order_bar_misses_stays_open_unfilled(side: Side, prices: BarPrices) -> None:
    placed = order(side, 10, OrderType.LIMIT, limit=100.0)
    assert fill_on(make_exchange(holding=10), placed, prices) is None
    assert (placed.status, placed.filled) == (OrderStatus.ACCEPTED, 0.0)


# -- STOP (stop 100) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "prices", "expected"),
    [
        (Side.BUY, bar(102, 103, 101, 102), 102.0),  # opened above the buy stop: the open
        (Side.SELL, bar(98, 99, 97, 98), 98.0),  # opened below the sell stop: the open
    ],
    ids=["buy", "sell"],
)
def test_stop_order_bar_gaps_through_fills_at_the_worse_open(
    side: Side, prices: BarPrices, expected: float
) -> None:
    placed = order(side, 10, OrderType.STOP, stop=100.0)
    assert fill_on(make_exchange(holding=10), placed, prices) == expected


@pytest.mark.parametrize(
    ("side", "prices"),
    [
        (Side.BUY, bar(98, 100, 97, 99)),  # high touches 100 exactly
        (Side.BUY, bar(98, 105, 97, 104)),  # high goes through 100
        (Side.SELL, bar(102, 103, 100, 101)),  # low touches 100 exactly
        (Side.SELL, bar(102, 103, 95, 96)),  # low goes through 100
    ],
    ids=["buy-touch", "buy-through", "sell-touch", "sell-through"],
)
def test_stop_order_bar_reaches_stop_fills_at_the_stop(side: Side, prices: BarPrices) -> None:
    placed = order(side, 10, OrderType.STOP, stop=100.0)
    assert fill_on(make_exchange(holding=10), placed, prices) == 100.0


@pytest.mark.parametrize(
    ("side", "prices"),
    [
        (Side.BUY, bar(98, 99.5, 97, 99)),  # high 99.5 stays below the buy stop
        (Side.SELL, bar(102, 103, 100.5, 101)),  # low 100.5 stays above the sell stop
    ],
    ids=["buy", "sell"],
)
def test_stop_order_bar_misses_stays_open_unfilled(side: Side, prices: BarPrices) -> None:
    placed = order(side, 10, OrderType.STOP, stop=100.0)
    assert fill_on(make_exchange(holding=10), placed, prices) is None
    assert placed.status is OrderStatus.ACCEPTED


# -- STOP_LIMIT (buy: stop 100 limit 101; sell: stop 100 limit 99) -----------------------


def stop_limit(side: Side) -> Order:
    """A stop-limit of 10 with its limit one point past the stop of 100."""
    limit = 101.0 if side is Side.BUY else 99.0
    return order(side, 10, OrderType.STOP_LIMIT, stop=100.0, limit=limit)


@pytest.mark.parametrize(
    ("side", "prices", "expected"),
    [
        (Side.BUY, bar(100.5, 102, 100.2, 101), 100.5),  # 100 <= open 100.5 <= 101
        (Side.SELL, bar(99.5, 99.8, 98, 99), 99.5),  # 100 >= open 99.5 >= 99
    ],
    ids=["buy", "sell"],
)
def test_stop_limit_open_gaps_within_limit_fills_at_the_open(
    side: Side, prices: BarPrices, expected: float
) -> None:
    assert fill_on(make_exchange(holding=10), stop_limit(side), prices) == expected


@pytest.mark.parametrize(
    ("side", "prices"),
    [
        (Side.BUY, bar(103, 104, 102, 103)),  # open 103 is past the stop and the limit 101
        (Side.SELL, bar(97, 98, 96, 97)),  # open 97 is past the stop and the limit 99
    ],
    ids=["buy", "sell"],
)
def test_stop_limit_open_gaps_past_limit_triggers_without_fill(
    side: Side, prices: BarPrices
) -> None:
    placed = stop_limit(side)
    assert fill_on(make_exchange(holding=10), placed, prices) is None
    assert (placed.triggered, placed.status) == (True, OrderStatus.ACCEPTED)


@pytest.mark.parametrize(
    ("side", "prices"),
    [
        (Side.BUY, bar(99, 100.5, 98.5, 100)),  # high touches the stop; path unknown
        (Side.SELL, bar(101, 101.5, 99.5, 100)),  # low touches the stop; path unknown
    ],
    ids=["buy", "sell"],
)
def test_stop_limit_touched_without_gap_triggers_but_does_not_fill_that_bar(
    side: Side, prices: BarPrices
) -> None:
    placed = stop_limit(side)
    assert fill_on(make_exchange(holding=10), placed, prices) is None
    assert placed.triggered is True


@pytest.mark.parametrize(
    ("side", "touch", "after", "expected"),
    [
        # bought: open 102 above the limit, low 100.8 reaches 101 -> the limit
        (Side.BUY, bar(99, 100.5, 98.5, 100), bar(102, 102.5, 100.8, 102, day=3), 101.0),
        # sold: open 98 below the limit, high 99.2 reaches 99 -> the limit
        (Side.SELL, bar(101, 101.5, 99.5, 100), bar(98, 99.2, 97.5, 98, day=3), 99.0),
    ],
    ids=["buy", "sell"],
)
def test_stop_limit_once_triggered_rests_as_a_limit(
    side: Side, touch: BarPrices, after: BarPrices, expected: float
) -> None:
    assert fill_on(make_exchange(holding=10), stop_limit(side), touch, after) == expected


@pytest.mark.parametrize(
    ("side", "prices"),
    [
        (Side.BUY, bar(98, 99.9, 97, 99)),  # high 99.9 never reaches the stop
        (Side.SELL, bar(102, 103, 100.1, 101)),  # low 100.1 never reaches the stop
    ],
    ids=["buy", "sell"],
)
def test_stop_limit_stop_not_reached_stays_untriggered(side: Side, prices: BarPrices) -> None:
    placed = stop_limit(side)
    assert fill_on(make_exchange(holding=10), placed, prices) is None
    assert (placed.triggered, placed.status) == (False, OrderStatus.ACCEPTED)


# -- slippage (10 bps): market and stop only ---------------------------------------------


@pytest.mark.parametrize(
    ("make", "prices", "expected"),
    [
        (lambda: order(Side.BUY, 10), bar(100, 101, 99, 100), 100.1),  # 100 * 1.001
        (lambda: order(Side.SELL, 10), bar(100, 101, 99, 100), 99.9),  # 100 * 0.999
        # stop buy gapped: open 102 * 1.001
        (lambda: order(Side.BUY, 10, OrderType.STOP, stop=100.0), bar(102, 103, 101, 102), 102.102),
        # stop sell touched: stop 100 * 0.999
        (lambda: order(Side.SELL, 10, OrderType.STOP, stop=100.0), bar(102, 103, 99, 100), 99.9),
    ],
    ids=["market-buy", "market-sell", "stop-buy-gap", "stop-sell-touch"],
)
def test_slippage_market_and_stop_fills_move_against_the_trader(
    make: Callable[[], Order], prices: BarPrices, expected: float
) -> None:
    exchange = make_exchange(holding=10, slippage=FixedBpsSlippage(10))
    assert fill_on(exchange, make(), prices) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("make", "prices", "expected"),
    [
        (lambda: order(Side.BUY, 10, OrderType.LIMIT, limit=100.0), bar(98, 99, 97, 98), 98.0),
        (lambda: order(Side.SELL, 10, OrderType.LIMIT, limit=100.0), bar(98, 100, 97, 99), 100.0),
        (lambda: stop_limit(Side.BUY), bar(100.5, 102, 100.2, 101), 100.5),
    ],
    ids=["limit-buy-gap", "limit-sell-touch", "stop-limit-gap"],
)
def test_slippage_limit_priced_fills_are_exact(
    make: Callable[[], Order], prices: BarPrices, expected: float
) -> None:
    exchange = make_exchange(holding=10, slippage=FixedBpsSlippage(10))
    assert fill_on(exchange, make(), prices) == expected


# -- sizing of unsized orders at fill time -----------------------------------------------


@pytest.mark.parametrize(
    ("commission", "cash", "open_", "shares", "cash_left"),
    [
        # 10 000 / (99 * 1.001) = 100.9 -> 100; pays 9 900 + 9.90 commission
        (PercentCommission(0.001), 10_000.0, 99.0, 100, 90.1),
        # (1000 - 10) / 10 = 99; pays 990 + max(10, 0.99) = 1000: the minimum binds
        (PerShareCommission(0.01, 10.0), 1_000.0, 10.0, 99, 0.0),
        # 9 + 0.5 per share: 1000 / 9.5 = 105.3 -> 105; pays 945 + 52.5
        (PerShareCommission(0.5, 1.0), 1_000.0, 9.0, 105, 2.5),
        # (1000 - 5) / 9 = 110.6 -> 110; pays 990 + 5
        (FixedCommission(5.0), 1_000.0, 9.0, 110, 5.0),
    ],
    ids=["percent", "per-share-min", "per-share", "fixed"],
)
def test_unsized_buy_spends_cash_in_whole_shares_commission_included(
    commission: CommissionModel, cash: float, open_: float, shares: int, cash_left: float
) -> None:
    exchange = make_exchange(cash, commission)
    placed = order(Side.BUY, None)
    fill_on(exchange, placed, bar(open_, open_ + 1, open_ - 1, open_))
    assert (placed.quantity, placed.filled) == (shares, shares)
    assert exchange.account.cash == pytest.approx(cash_left, abs=1e-9)


def test_unsized_buy_with_fraction_spends_that_share_of_cash() -> None:
    exchange = make_exchange(10_000.0)
    placed = order(Side.BUY, None, fraction=0.5)
    # 10 000 * 0.5 / 100 = 50
    fill_on(exchange, placed, bar(100, 101, 99, 100))
    assert (placed.filled, exchange.account.cash) == (50.0, 5_000.0)


def test_unsized_buy_sized_at_the_fill_price_not_at_submission() -> None:
    exchange = make_exchange(1_000.0)
    placed = order(Side.BUY, None)
    # the bar opens at 20, whatever the price was when the order was placed: 1000 / 20
    fill_on(exchange, placed, bar(20, 21, 19, 20))
    assert placed.filled == 50.0


def test_unsized_buy_sized_at_the_slipped_price() -> None:
    exchange = make_exchange(10_000.0, slippage=FixedBpsSlippage(100))
    placed = order(Side.BUY, None)
    # 99 * 1.01 = 99.99 -> 10 000 / 99.99 = 100.01 -> 100 shares, 1 of cash left
    fill_on(exchange, placed, bar(99, 100, 98, 99))
    assert placed.filled == 100.0
    assert exchange.account.cash == pytest.approx(1.0)


def test_unsized_buy_rounds_down_to_the_lot_size() -> None:
    exchange = make_exchange(1_000.0, lot_size=lambda symbol: 25.0)
    placed = order(Side.BUY, None)
    # 1000 / 9 = 111.1 shares = 4.4 lots of 25 -> 100 shares
    fill_on(exchange, placed, bar(9, 10, 8, 9))
    assert (placed.filled, exchange.account.cash) == (100.0, 100.0)


def test_unsized_sell_closes_the_whole_long() -> None:
    exchange = make_exchange(holding=37)
    placed = order(Side.SELL, None)
    fill_on(exchange, placed, bar(110, 111, 109, 110))
    assert (placed.filled, exchange.account.position(SYMBOL)) == (37.0, 0.0)


def test_unsized_buy_without_cash_is_canceled_with_reason() -> None:
    exchange = make_exchange(50.0)
    placed = order(Side.BUY, None)
    # 50 does not buy one share at 100
    assert fill_on(exchange, placed, bar(100, 101, 99, 100)) is None
    assert placed.status is OrderStatus.CANCELED
    assert placed.reason == "nothing to fill: no cash or no position"


def test_unsized_sell_when_flat_without_shorting_is_canceled_with_reason() -> None:
    placed = order(Side.SELL, None)
    fill_on(make_exchange(), placed, bar(100, 101, 99, 100))
    assert (placed.status, placed.reason) == (
        OrderStatus.CANCELED,
        "nothing to fill: no long position to sell and shorting is not allowed",
    )


def test_unsized_sell_when_flat_with_shorting_opens_a_short_sized_as_a_buy() -> None:
    exchange = make_exchange(10_000.0, PercentCommission(0.01), allow_short=True)
    placed = order(Side.SELL, None)
    # a buy would get floor(10 000 / (100 * 1.01)) = 99 shares; the short is the same size
    assert fill_on(exchange, placed, bar(100, 101, 99, 100)) == 100
    (fill,) = exchange.account.fills
    assert (fill.side, fill.quantity) == (Side.SELL, 99)
    assert exchange.account.position(SYMBOL) == -99
    assert exchange.account.cash == pytest.approx(10_000 + 9_900 - 99)


def test_unsized_buy_while_short_buys_the_whole_short_back() -> None:
    exchange = make_exchange(allow_short=True)
    fill_on(exchange, order(Side.SELL, 30), bar(100, 101, 99, 100))
    placed = order(Side.BUY, None, oid="o-2")
    assert fill_on(exchange, placed, bar(90, 91, 89, 90, day=3)) == 90
    assert exchange.account.fills[-1].quantity == 30
    assert exchange.account.position(SYMBOL) == 0
    (trade,) = exchange.account.trades
    assert (trade.size, trade.pnl) == (-30, pytest.approx(300.0))


# -- time in force and participation (10 % of a 1000-share bar = 100 per bar) ------------


def capped() -> SimulatedExchange:
    """An exchange that fills at most 10 % of a bar's volume."""
    return make_exchange(max_participation=0.1)


def thin_bar(open_: float = 10.0, day: int = 2) -> BarPrices:
    """A bar of 1000 shares: 100 may fill at 10 % participation."""
    return bar(open_, open_ + 1, open_ - 1, open_, day=day, volume=1_000.0)


def test_ioc_order_capped_fills_what_it_can_and_cancels_the_rest() -> None:
    exchange = capped()
    placed = order(Side.BUY, 250, tif=TimeInForce.IOC)
    fill_on(exchange, placed, thin_bar())
    assert (placed.filled, placed.status) == (100.0, OrderStatus.CANCELED)
    assert placed.reason == "IOC: not filled at once"
    assert exchange.account.position(SYMBOL) == 100.0


def test_ioc_limit_order_missing_its_first_bar_is_canceled_unfilled() -> None:
    placed = order(Side.BUY, 10, OrderType.LIMIT, limit=5.0, tif=TimeInForce.IOC)
    fill_on(make_exchange(), placed, thin_bar())  # low 9 never reaches 5
    assert (placed.filled, placed.status) == (0.0, OrderStatus.CANCELED)


def test_fok_order_capped_below_its_size_is_canceled_with_nothing_filled() -> None:
    exchange = capped()
    placed = order(Side.BUY, 250, tif=TimeInForce.FOK)
    fill_on(exchange, placed, thin_bar())
    assert (placed.filled, placed.status, placed.reason) == (
        0.0,
        OrderStatus.CANCELED,
        "FOK: not filled at once",
    )
    assert exchange.account.fills == []


def test_fok_order_within_the_cap_fills_completely() -> None:
    placed = order(Side.BUY, 100, tif=TimeInForce.FOK)
    fill_on(capped(), placed, thin_bar())
    assert (placed.filled, placed.status) == (100.0, OrderStatus.FILLED)


def test_gtc_order_capped_fills_over_several_bars() -> None:
    exchange = capped()
    placed = order(Side.BUY, 250)
    exchange.submit(placed, T0)
    statuses = []
    for day, open_ in [(2, 10.0), (3, 11.0), (4, 12.0)]:
        exchange.process_bar(SYMBOL, thin_bar(open_, day))
        statuses.append((placed.filled, placed.status))
    assert statuses == [
        (100.0, OrderStatus.PARTIALLY_FILLED),
        (200.0, OrderStatus.PARTIALLY_FILLED),
        (250.0, OrderStatus.FILLED),
    ]
    # (100 * 10 + 100 * 11 + 50 * 12) / 250 = 2700 / 250
    assert placed.avg_price == pytest.approx(10.8)


def test_unsized_buy_capped_keeps_its_first_size_for_the_rest() -> None:
    exchange = make_exchange(2_000.0, max_participation=0.1)
    placed = order(Side.BUY, None)
    exchange.submit(placed, T0)
    # sized at 10: 2000 / 10 = 200; 100 fill now, 100 on the next bar at 11
    exchange.process_bar(SYMBOL, thin_bar(10.0, day=2))
    exchange.process_bar(SYMBOL, thin_bar(11.0, day=3))
    assert (placed.quantity, placed.filled, placed.status) == (200, 200.0, OrderStatus.FILLED)


@pytest.mark.parametrize("participation", [0.0, 1.5])
def test_exchange_participation_outside_zero_one_raises_bad_request(
    participation: float,
) -> None:
    with pytest.raises(BadRequest, match="max_participation"):
        make_exchange(max_participation=participation)


def day_limit() -> Order:
    """A DAY buy limit at 90 that the bars of day 2 do not reach."""
    return order(Side.BUY, 10, OrderType.LIMIT, limit=90.0, tif=TimeInForce.DAY)


def test_day_order_second_bar_of_its_day_still_open() -> None:
    placed = day_limit()
    fill_on(
        make_exchange(), placed, bar(100, 101, 99, 100, hour=14), bar(100, 101, 99, 100, hour=15)
    )
    assert placed.status is OrderStatus.ACCEPTED


def test_day_order_next_day_expires_before_it_can_fill() -> None:
    placed = day_limit()
    # day 3 falls to 85, which would fill the limit; the order has expired first
    first, next_day = bar(100, 101, 99, 100, day=2), bar(95, 96, 85, 86, day=3)
    assert fill_on(make_exchange(), placed, first, next_day) is None
    assert (placed.status, placed.reason) == (
        OrderStatus.EXPIRED,
        "DAY order: its trading day ended",
    )


def test_gtc_order_stays_open_across_days_until_it_fills() -> None:
    exchange = make_exchange()
    placed = exchange.submit(order(Side.BUY, 10, OrderType.LIMIT, limit=90.0), T0)
    for day in (2, 3, 4):
        exchange.process_bar(SYMBOL, bar(100, 101, 99, 100, day=day))  # low 99 misses 90
    assert placed.status is OrderStatus.ACCEPTED
    exchange.process_bar(SYMBOL, bar(92, 93, 89, 90, day=5))  # low 89 reaches 90
    assert (placed.status, placed.avg_price) == (OrderStatus.FILLED, 90.0)


# -- brackets and OCO --------------------------------------------------------------------


def bracket(exchange: SimulatedExchange, entry: Order | None = None) -> tuple[Order, Order, Order]:
    """Entry `E` (market buy 10 unless given), take-profit sell 110, stop-loss sell 90."""
    entry = entry or order(Side.BUY, 10, oid="E")
    return exchange.submit_bracket(entry, take_profit=110.0, stop_loss=90.0, ts=T0)


def test_bracket_legs_wait_for_the_entry() -> None:
    exchange = make_exchange()
    entry, profit, loss = bracket(
        exchange, order(Side.BUY, 10, OrderType.LIMIT, limit=100.0, oid="E")
    )
    # low 102 misses the entry; high 120 would have filled a live take-profit at 110
    exchange.process_bar(SYMBOL, bar(105, 120, 102, 110))
    assert (entry.filled, profit.filled, loss.filled) == (0.0, 0.0, 0.0)
    assert exchange.open_orders(SYMBOL) == [entry]


def test_bracket_legs_shape_is_exit_side_limit_and_stop_one_cancels_other() -> None:
    _, profit, loss = bracket(make_exchange())
    assert (profit.side, profit.type, profit.limit_price, profit.oco_id) == (
        Side.SELL,
        OrderType.LIMIT,
        110.0,
        "E-sl",
    )
    assert (loss.side, loss.type, loss.stop_price, loss.oco_id) == (
        Side.SELL,
        OrderType.STOP,
        90.0,
        "E-tp",
    )


def test_bracket_legs_take_the_entry_filled_quantity() -> None:
    exchange = make_exchange(1_000.0)
    entry, profit, loss = bracket(exchange, order(Side.BUY, None, oid="E"))
    # the unsized entry buys 1000 / 100 = 10 at the open
    exchange.process_bar(SYMBOL, bar(100, 101, 99, 100))
    assert (entry.filled, profit.quantity, loss.quantity) == (10.0, 10.0, 10.0)
    assert exchange.open_orders(SYMBOL) == [profit, loss]


def test_bracket_take_profit_first_cancels_the_stop_loss() -> None:
    exchange = make_exchange()
    _, profit, loss = bracket(exchange)
    exchange.process_bar(SYMBOL, bar(100, 101, 99, 100, day=2))  # entry at 100
    exchange.process_bar(SYMBOL, bar(105, 111, 104, 110, day=3))  # high 111 reaches 110
    assert (profit.status, profit.avg_price) == (OrderStatus.FILLED, 110.0)
    assert (loss.status, loss.reason) == (OrderStatus.CANCELED, "OCO: E-tp filled")
    # (110 - 100) * 10
    assert exchange.account.trades[0].pnl == pytest.approx(100.0)


def test_bracket_stop_loss_first_cancels_the_take_profit() -> None:
    exchange = make_exchange()
    _, profit, loss = bracket(exchange)
    exchange.process_bar(SYMBOL, bar(100, 101, 99, 100, day=2))  # entry at 100
    exchange.process_bar(SYMBOL, bar(95, 96, 89, 90, day=3))  # low 89 reaches 90
    assert (loss.status, loss.avg_price) == (OrderStatus.FILLED, 90.0)
    assert (profit.status, profit.reason) == (OrderStatus.CANCELED, "OCO: E-sl filled")
    # (90 - 100) * 10
    assert exchange.account.trades[0].pnl == pytest.approx(-100.0)
    assert exchange.account.position(SYMBOL) == 0.0


def test_bracket_short_entry_has_buy_legs() -> None:
    entry = order(Side.SELL, 10, oid="E")
    exchange = make_exchange()
    _, profit, loss = exchange.submit_bracket(entry, take_profit=90.0, stop_loss=110.0, ts=T0)
    assert (profit.side, loss.side) == (Side.BUY, Side.BUY)


def test_cancel_entry_cancels_its_waiting_legs() -> None:
    exchange = make_exchange()
    entry, profit, loss = bracket(exchange)
    exchange.cancel("E")
    assert [o.status for o in (entry, profit, loss)] == [OrderStatus.CANCELED] * 3
    assert (profit.reason, loss.reason) == ("parent E ended", "parent E ended")


def test_bracket_entry_expiring_cancels_its_legs() -> None:
    exchange = make_exchange()
    entry = order(Side.BUY, 10, OrderType.LIMIT, limit=50.0, tif=TimeInForce.DAY, oid="E")
    _, profit, loss = bracket(exchange, entry)
    exchange.process_bar(SYMBOL, bar(100, 101, 99, 100, day=2))
    exchange.process_bar(SYMBOL, bar(100, 101, 99, 100, day=3))
    assert entry.status is OrderStatus.EXPIRED
    assert (profit.status, loss.status) == (OrderStatus.CANCELED, OrderStatus.CANCELED)


def test_bracket_entry_ending_partly_filled_releases_legs_for_the_filled_part() -> None:
    exchange = capped()
    entry = order(Side.BUY, 250, tif=TimeInForce.IOC, oid="E")
    _, profit, loss = bracket(exchange, entry)
    # 10 % of 1000 shares: 100 of 250 fill at 100, IOC cancels the other 150
    exchange.process_bar(SYMBOL, thin_bar(100.0, day=2))
    assert (entry.status, entry.filled) == (OrderStatus.CANCELED, 100.0)
    assert (profit.quantity, loss.quantity) == (100.0, 100.0)
    assert exchange.open_orders(SYMBOL) == [profit, loss]


def test_oco_fill_of_one_cancels_its_sibling() -> None:
    exchange = make_exchange(holding=10)
    profit = order(Side.SELL, 10, OrderType.LIMIT, limit=110.0, oid="tp", oco_id="sl")
    loss = order(Side.SELL, 10, OrderType.STOP, stop=90.0, oid="sl", oco_id="tp")
    exchange.submit(profit, T0)
    exchange.submit(loss, T0)
    exchange.process_bar(SYMBOL, bar(95, 96, 89, 90))  # the stop is touched, the limit is not
    assert (loss.status, loss.avg_price) == (OrderStatus.FILLED, 90.0)
    assert (profit.status, profit.reason) == (OrderStatus.CANCELED, "OCO: sl filled")


# -- quotes ------------------------------------------------------------------------------


def test_quote_market_buy_fills_up_to_ask_size_then_the_rest_on_the_next_quote() -> None:
    exchange = make_exchange()
    placed = exchange.submit(order(Side.BUY, 300), T0)
    exchange.process_quote(quote(9.95, 10.05, 500, 200, k=1))
    assert (placed.filled, placed.status) == (200.0, OrderStatus.PARTIALLY_FILLED)
    exchange.process_quote(quote(10.00, 10.10, 500, 500, k=2))
    assert [(f.quantity, f.price) for f in exchange.account.fills] == [(200, 10.05), (100, 10.10)]
    # (200 * 10.05 + 100 * 10.10) / 300 = 3020 / 300
    assert (placed.status, placed.avg_price) == (OrderStatus.FILLED, pytest.approx(3020 / 300))


def test_quote_market_sell_fills_at_the_bid() -> None:
    exchange = make_exchange(holding=50)
    placed = exchange.submit(order(Side.SELL, 50), T0)
    exchange.process_quote(quote(9.95, 10.05, 80, 80))
    assert (placed.filled, placed.avg_price) == (50.0, 9.95)


def test_quote_market_buy_with_slippage_pays_above_the_ask() -> None:
    exchange = make_exchange(slippage=FixedBpsSlippage(10))
    placed = exchange.submit(order(Side.BUY, 10), T0)
    exchange.process_quote(quote(9.98, 10.00, 100, 100))
    # 10.00 * 1.001
    assert placed.avg_price == pytest.approx(10.01)


def test_quote_limit_buy_fills_at_the_ask_once_it_crosses() -> None:
    exchange = make_exchange(slippage=FixedBpsSlippage(10))
    placed = exchange.submit(order(Side.BUY, 10, OrderType.LIMIT, limit=10.0), T0)
    exchange.process_quote(quote(9.97, 10.02, 100, 100, k=1))  # ask above the limit
    assert placed.filled == 0.0
    exchange.process_quote(quote(9.96, 9.98, 100, 100, k=2))  # ask 9.98 <= 10
    assert (placed.filled, placed.avg_price) == (10.0, 9.98)  # the ask, no slippage


def test_quote_limit_sell_fills_at_the_bid_once_it_crosses() -> None:
    exchange = make_exchange(holding=10)
    placed = exchange.submit(order(Side.SELL, 10, OrderType.LIMIT, limit=10.0), T0)
    exchange.process_quote(quote(9.99, 10.01, 100, 100, k=1))  # bid below the limit
    assert placed.filled == 0.0
    exchange.process_quote(quote(10.03, 10.05, 100, 100, k=2))
    assert (placed.filled, placed.avg_price) == (10.0, 10.03)


def test_quote_stop_buy_triggers_on_the_mid_not_the_ask() -> None:
    exchange = make_exchange()
    placed = exchange.submit(order(Side.BUY, 10, OrderType.STOP, stop=10.05), T0)
    # ask 10.08 is past the stop, but the mid (10.00 + 10.08) / 2 = 10.04 is not
    exchange.process_quote(quote(10.00, 10.08, 100, 100, k=1))
    assert (placed.triggered, placed.filled) == (False, 0.0)
    # mid (10.04 + 10.08) / 2 = 10.06 >= 10.05: fills at the ask
    exchange.process_quote(quote(10.04, 10.08, 100, 100, k=2))
    assert (placed.filled, placed.avg_price) == (10.0, 10.08)


def test_quote_stop_sell_triggers_on_the_mid_and_fills_at_the_bid() -> None:
    exchange = make_exchange(holding=10)
    placed = exchange.submit(order(Side.SELL, 10, OrderType.STOP, stop=9.95), T0)
    exchange.process_quote(quote(9.92, 10.00, 100, 100, k=1))  # mid 9.96 > 9.95
    assert placed.filled == 0.0
    exchange.process_quote(quote(9.90, 9.98, 100, 100, k=2))  # mid 9.94 <= 9.95
    assert (placed.filled, placed.avg_price) == (10.0, 9.90)


def test_quote_ioc_buy_fills_the_ask_size_and_cancels_the_rest() -> None:
    exchange = make_exchange()
    placed = exchange.submit(order(Side.BUY, 300, tif=TimeInForce.IOC), T0)
    exchange.process_quote(quote(9.95, 10.05, 500, 200))
    assert (placed.filled, placed.status) == (200.0, OrderStatus.CANCELED)


def test_quote_fok_buy_larger_than_ask_size_is_canceled_unfilled() -> None:
    exchange = make_exchange()
    placed = exchange.submit(order(Side.BUY, 300, tif=TimeInForce.FOK), T0)
    exchange.process_quote(quote(9.95, 10.05, 500, 200))
    assert (placed.filled, placed.status) == (0.0, OrderStatus.CANCELED)


def test_quote_older_than_the_order_does_not_fill_it() -> None:
    exchange = make_exchange()
    placed = exchange.submit(order(Side.BUY, 10), T0 + 5)
    exchange.process_quote(quote(9.95, 10.05, 500, 500, k=1))
    assert placed.status is OrderStatus.ACCEPTED


# -- order book housekeeping -------------------------------------------------------------


def test_submit_reused_id_raises_bad_request() -> None:
    exchange = make_exchange()
    exchange.submit(order(Side.BUY, 10), T0)
    with pytest.raises(BadRequest, match="already used"):
        exchange.submit(order(Side.BUY, 5), T0)


def test_cancel_unknown_id_raises_not_found() -> None:
    with pytest.raises(NotFound, match="no order nope"):
        make_exchange().cancel("nope")


def test_cancel_filled_order_leaves_it_filled() -> None:
    exchange = make_exchange()
    placed = order(Side.BUY, 10)
    fill_on(exchange, placed, bar(100, 101, 99, 100))
    assert exchange.cancel(placed.client_order_id).status is OrderStatus.FILLED


def test_cancel_all_cancels_every_open_order_with_the_reason() -> None:
    exchange = make_exchange()
    first = exchange.submit(order(Side.BUY, 10, OrderType.LIMIT, limit=90.0, oid="a"), T0)
    second = exchange.submit(order(Side.BUY, 10, OrderType.STOP, stop=120.0, oid="b"), T0)
    exchange.cancel_all("backtest ended")
    assert [(o.status, o.reason) for o in (first, second)] == [
        (OrderStatus.CANCELED, "backtest ended")
    ] * 2
    assert exchange.open_orders() == []


def test_submit_and_fill_notify_every_state_change_and_the_fill() -> None:
    exchange = make_exchange()
    seen: list[object] = []

    def on_order(changed: Order) -> None:
        seen.append(changed.status)

    def on_fill(fill: Fill) -> None:
        seen.append(("fill", fill.quantity, fill.price))

    exchange.on_order, exchange.on_fill = on_order, on_fill
    fill_on(exchange, order(Side.BUY, 10), bar(100, 101, 99, 100))
    assert seen == [
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        ("fill", 10.0, 100.0),
        OrderStatus.FILLED,
    ]


def test_execute_now_fills_at_the_given_price() -> None:
    exchange = make_exchange(holding=10)
    closed = exchange.execute_now(order(Side.SELL, 10, oid="close"), 123.0, at(5))
    assert (closed.status, closed.avg_price, exchange.account.position(SYMBOL)) == (
        OrderStatus.FILLED,
        123.0,
        0.0,
    )
