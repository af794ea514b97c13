"""Order, its state machine (TRANSITIONS) and Fill: legal moves, refused moves, validation."""

from __future__ import annotations

import math

import pytest

from bifrost.errors import BadRequest, Conflict
from bifrost.model.market import Side
from bifrost.model.orders import (
    OPEN_STATES,
    TRANSITIONS,
    Fill,
    Order,
    OrderStatus,
    OrderType,
)

LEGAL = [(src, dst) for src, targets in TRANSITIONS.items() for dst in sorted(targets)]
ILLEGAL = [(src, dst) for src in OrderStatus for dst in OrderStatus if dst not in TRANSITIONS[src]]
TERMINAL = [OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.EXPIRED]


def order_in(status: OrderStatus) -> Order:
    """A market buy of 10 put straight into `status` (as if earlier moves had happened)."""
    order = Order("o-1", "AAPL", Side.BUY, 10.0)
    order.status = status
    return order


# -- the state machine -------------------------------------------------------------------


def test_transitions_every_status_has_an_entry() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)


def test_order_new_starts_in_new_with_nothing_filled() -> None:
    order = Order("o-1", "AAPL", Side.BUY, 10.0)
    assert (order.status, order.filled, order.avg_price, order.reason) == (
        OrderStatus.NEW,
        0.0,
        0.0,
        "",
    )


@pytest.mark.parametrize(("src", "dst"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_move_to_legal_transition_applied(src: OrderStatus, dst: OrderStatus) -> None:
    order = order_in(src)
    order.move_to(dst)
    assert order.status is dst


@pytest.mark.parametrize(("src", "dst"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_move_to_illegal_transition_raises_conflict_and_keeps_status(
    src: OrderStatus, dst: OrderStatus
) -> None:
    order = order_in(src)
    with pytest.raises(Conflict, match=f"{src} -> {dst} is not allowed"):
        order.move_to(dst)
    assert order.status is src


@pytest.mark.parametrize("status", TERMINAL)
def test_transitions_terminal_status_has_no_way_out(status: OrderStatus) -> None:
    assert TRANSITIONS[status] == frozenset()


def test_move_to_with_reason_records_it() -> None:
    order = order_in(OrderStatus.ACCEPTED)
    order.move_to(OrderStatus.CANCELED, "user asked")
    assert order.reason == "user asked"


def test_move_to_without_reason_keeps_the_previous_reason() -> None:
    order = order_in(OrderStatus.ACCEPTED)
    order.reason = "first fill capped"
    order.move_to(OrderStatus.PARTIALLY_FILLED)
    assert order.reason == "first fill capped"


@pytest.mark.parametrize("status", list(OrderStatus))
def test_order_is_open_only_in_open_states(status: OrderStatus) -> None:
    expected = status in (
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
    )
    assert order_in(status).is_open is expected
    assert (status in OPEN_STATES) is expected


# -- validation --------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0.0, -1.0, math.nan], ids=["zero", "negative", "nan"])
def test_order_non_positive_quantity_raises_bad_request(quantity: float) -> None:
    with pytest.raises(BadRequest, match="quantity must be positive"):
        Order("o-1", "AAPL", Side.BUY, quantity)


@pytest.mark.parametrize("price", [None, 0.0, -5.0], ids=["missing", "zero", "negative"])
def test_order_limit_without_positive_limit_price_raises_bad_request(price: float | None) -> None:
    with pytest.raises(BadRequest, match="LIMIT needs a limit price"):
        Order("o-1", "AAPL", Side.BUY, 10.0, OrderType.LIMIT, limit_price=price)


def test_order_stop_without_stop_price_raises_bad_request() -> None:
    with pytest.raises(BadRequest, match="STOP needs a stop price"):
        Order("o-1", "AAPL", Side.SELL, 10.0, OrderType.STOP)


@pytest.mark.parametrize(
    ("limit", "stop", "missing"),
    [(None, 100.0, "limit"), (100.0, None, "stop")],
    ids=["no-limit", "no-stop"],
)
def test_order_stop_limit_missing_either_price_raises_bad_request(
    limit: float | None, stop: float | None, missing: str
) -> None:
    with pytest.raises(BadRequest, match=f"STOP_LIMIT needs a {missing} price"):
        Order(
            "o-1", "AAPL", Side.BUY, 10.0, OrderType.STOP_LIMIT, limit_price=limit, stop_price=stop
        )


@pytest.mark.parametrize(
    "fraction", [0.0, -0.1, 1.5, math.nan], ids=["zero", "negative", "above-one", "nan"]
)
def test_order_fraction_out_of_range_raises_bad_request(fraction: float) -> None:
    with pytest.raises(BadRequest, match=r"fraction must be in \(0, 1\]"):
        Order("o-1", "AAPL", Side.BUY, None, fraction=fraction)


def test_order_unsized_with_full_fraction_is_valid() -> None:
    order = Order("o-1", "AAPL", Side.BUY, None, fraction=1.0)
    assert (order.quantity, order.remaining) == (None, None)


def test_order_market_needs_no_price() -> None:
    order = Order("o-1", "AAPL", Side.SELL, 5.0)
    assert (order.type, order.limit_price, order.stop_price) == (OrderType.MARKET, None, None)


def test_order_remaining_is_quantity_minus_filled() -> None:
    order = Order("o-1", "AAPL", Side.BUY, 10.0)
    order.filled = 4.0
    assert order.remaining == 6.0  # 10 - 4


# -- fills -------------------------------------------------------------------------------


@pytest.mark.parametrize(("side", "expected"), [(Side.BUY, 7.0), (Side.SELL, -7.0)])
def test_fill_signed_quantity_has_the_sign_of_the_side(side: Side, expected: float) -> None:
    fill = Fill("o-1", "AAPL", side, 7.0, 101.5, 0.0, ts=1)
    assert fill.signed_quantity == expected
