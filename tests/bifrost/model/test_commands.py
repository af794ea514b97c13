"""Order commands: wire round trips, one clear BadRequest per bad field, minted ids, and
the order a replace enters."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bifrost.errors import BadRequest
from bifrost.model.commands import (
    CancelOrder,
    ReplaceOrder,
    SubmitOrder,
    new_client_order_id,
)
from bifrost.model.market import Side
from bifrost.model.orders import OrderType, TimeInForce


def limit_buy(**fields: Any) -> dict[str, Any]:
    return {
        "client_order_id": "c-1",
        "symbol": "AAPL",
        "side": "BUY",
        "quantity": 10.0,
        "type": "LIMIT",
        "limit_price": 100.0,
        **fields,
    }


def rejected_field(build: Any, params: dict[str, Any]) -> str:
    with pytest.raises(BadRequest) as raised:
        build(params)
    field: str = raised.value.details["field"]
    assert raised.value.message.startswith(f"{field}:")
    return field


# -- ids ---------------------------------------------------------------------------------


def test_new_client_order_id_over_100k_mints_never_repeats() -> None:
    ids = [new_client_order_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)


def test_new_client_order_id_is_short_and_carries_its_prefix() -> None:
    minted = new_client_order_id("tui")
    prefix, stamp, salt = minted.split("-")
    assert prefix == "tui"
    assert int(stamp, 16) > 0 and int(salt, 16) >= 0
    assert len(new_client_order_id()) <= 32


def test_new_client_order_ids_sort_in_minting_order() -> None:
    first, second = new_client_order_id(), new_client_order_id()
    assert int(first.split("-")[1], 16) < int(second.split("-")[1], 16)


# -- SubmitOrder -------------------------------------------------------------------------


def test_submit_order_to_wire_uses_enum_text_and_leaves_out_absent_prices() -> None:
    order = SubmitOrder("c-1", "AAPL", Side.SELL, 5.0)
    assert order.to_wire() == {
        "client_order_id": "c-1",
        "symbol": "AAPL",
        "side": "SELL",
        "quantity": 5.0,
        "type": "MARKET",
        "tif": "GTC",
        "account": "paper",
        "strategy_id": "",
    }


def test_submit_order_from_wire_reads_back_what_to_wire_wrote() -> None:
    order = SubmitOrder.from_wire(limit_buy(take_profit=110, stop_loss=95, tif="DAY"))
    assert order.type is OrderType.LIMIT and order.tif is TimeInForce.DAY
    assert order.is_bracket
    assert SubmitOrder.from_wire(order.to_wire()) == order


def test_submit_order_from_wire_accepts_enum_text_in_any_case_and_int_prices() -> None:
    order = SubmitOrder.from_wire(limit_buy(side="sell", type="limit", limit_price=101, quantity=3))
    assert order.side is Side.SELL
    assert order.limit_price == 101.0 and isinstance(order.limit_price, float)
    assert order.quantity == 3.0 and isinstance(order.quantity, float)


def test_submit_order_from_wire_nil_optionals_take_their_defaults() -> None:
    order = SubmitOrder.from_wire(
        {"client_order_id": "c", "symbol": "X", "side": "BUY", "quantity": 1,
         "type": None, "tif": None, "account": None, "strategy_id": None}
    )
    assert (order.type, order.tif, order.account, order.strategy_id) == (
        OrderType.MARKET, TimeInForce.GTC, "paper", ""
    )
    assert not order.is_bracket


def test_submit_order_new_mints_an_id_unless_one_is_given() -> None:
    minted = SubmitOrder.new("AAPL", Side.BUY, 1)
    assert minted.client_order_id.startswith("o-")
    assert SubmitOrder.new("AAPL", "BUY", 1).client_order_id != minted.client_order_id
    assert SubmitOrder.new("AAPL", "BUY", 1, client_order_id="mine").client_order_id == "mine"


def test_submit_order_new_checks_its_arguments() -> None:
    with pytest.raises(BadRequest, match="limit_price"):
        SubmitOrder.new("AAPL", "BUY", 1, type=OrderType.LIMIT)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"client_order_id": None}, "client_order_id"),
        ({"client_order_id": ""}, "client_order_id"),
        ({"symbol": ""}, "symbol"),
        ({"symbol": "  "}, "symbol"),
        ({"symbol": None}, "symbol"),
        ({"side": "HOLD"}, "side"),
        ({"side": None}, "side"),
        ({"type": "ICEBERG"}, "type"),
        ({"tif": "FOREVER"}, "tif"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -2.0}, "quantity"),
        ({"quantity": math.nan}, "quantity"),
        ({"quantity": math.inf}, "quantity"),
        ({"quantity": "10"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"limit_price": None}, "limit_price"),
        ({"limit_price": 0}, "limit_price"),
        ({"limit_price": -1.5}, "limit_price"),
        ({"type": "STOP", "stop_price": None}, "stop_price"),
        ({"type": "STOP_LIMIT", "stop_price": 99.0, "limit_price": None}, "limit_price"),
        ({"type": "STOP_LIMIT", "stop_price": None}, "stop_price"),
        ({"stop_price": -3}, "stop_price"),
        ({"take_profit": 110.0}, "stop_loss"),
        ({"stop_loss": 95.0}, "take_profit"),
        ({"take_profit": -1.0, "stop_loss": 95.0}, "take_profit"),
        ({"account": 7}, "account"),
    ],
)
def test_submit_order_from_wire_bad_field_is_named(params: dict[str, Any], field: str) -> None:
    assert rejected_field(SubmitOrder.from_wire, limit_buy(**params)) == field


def test_submit_order_from_wire_without_client_order_id_says_it_is_missing() -> None:
    params = limit_buy()
    del params["client_order_id"]
    with pytest.raises(BadRequest, match="client_order_id: is missing"):
        SubmitOrder.from_wire(params)


# -- ReplaceOrder and CancelOrder ---------------------------------------------------------


def test_replace_order_round_trips_and_leaves_unchanged_fields_out() -> None:
    change = ReplaceOrder.new("c-1", limit_price=101, tif="ioc")
    assert change.new_client_order_id.startswith("o-")
    assert change.to_wire() == {
        "client_order_id": "c-1",
        "new_client_order_id": change.new_client_order_id,
        "limit_price": 101.0,
        "tif": "IOC",
    }
    assert ReplaceOrder.from_wire(change.to_wire()) == change


def test_replace_order_from_an_older_caller_gets_the_dot_r_id() -> None:
    assert ReplaceOrder.from_wire({"client_order_id": "c-1"}).new_client_order_id == "c-1.r"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"client_order_id": None}, "client_order_id"),
        ({"client_order_id": ""}, "client_order_id"),
        ({"new_client_order_id": ""}, "new_client_order_id"),
        ({"new_client_order_id": "c-1"}, "new_client_order_id"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": math.nan}, "quantity"),
        ({"limit_price": -1}, "limit_price"),
        ({"stop_price": 0}, "stop_price"),
        ({"tif": "SOMETIMES"}, "tif"),
    ],
)
def test_replace_order_from_wire_bad_field_is_named(params: dict[str, Any], field: str) -> None:
    wire = {"client_order_id": "c-1", "new_client_order_id": "c-2", **params}
    assert rejected_field(ReplaceOrder.from_wire, wire) == field


def test_cancel_order_round_trips_and_needs_an_id() -> None:
    assert CancelOrder.from_wire(CancelOrder("c-1").to_wire()) == CancelOrder("c-1")
    assert rejected_field(CancelOrder.from_wire, {}) == "client_order_id"


# -- the order a replace enters ---------------------------------------------------------


def open_order(**fields: Any) -> dict[str, Any]:
    """An order as `order.get` returns it (Order.to_dict)."""
    return {
        "client_order_id": "c-1",
        "symbol": "AAPL",
        "side": "SELL",
        "quantity": 10.0,
        "type": "STOP_LIMIT",
        "limit_price": 99.0,
        "stop_price": 100.0,
        "tif": "DAY",
        "account": "acct-7",
        "strategy_id": "s-1",
        "parent_id": None,
        "oco_id": None,
        "status": "PARTIALLY_FILLED",
        "filled": 4.0,
        "avg_price": 99.5,
        "created_ts": 1,
        "reason": "",
        **fields,
    }


def test_replace_applied_to_keeps_the_old_order_and_sizes_to_what_is_left() -> None:
    entered = ReplaceOrder("c-1", "c-2", limit_price=98.0).applied_to(open_order())
    assert entered == SubmitOrder(
        "c-2",
        "AAPL",
        Side.SELL,
        6.0,
        OrderType.STOP_LIMIT,
        limit_price=98.0,
        stop_price=100.0,
        tif=TimeInForce.DAY,
        account="acct-7",
        strategy_id="s-1",
    )


def test_replace_applied_to_takes_a_new_quantity_and_tif_as_given() -> None:
    change = ReplaceOrder("c-1", "c-2", quantity=3.0, stop_price=101.0, tif=TimeInForce.GTC)
    entered = change.applied_to(open_order())
    assert (entered.quantity, entered.stop_price, entered.tif) == (3.0, 101.0, TimeInForce.GTC)
    assert entered.limit_price == 99.0


def test_replace_applied_to_from_an_older_caller_enters_the_dot_r_id() -> None:
    entered = ReplaceOrder.from_wire({"client_order_id": "c-1"}).applied_to(open_order())
    assert entered.client_order_id == "c-1.r"


def test_replace_applied_to_a_filled_order_has_nothing_left_to_enter() -> None:
    with pytest.raises(BadRequest, match="quantity"):
        ReplaceOrder("c-1", "c-2").applied_to(open_order(filled=10.0))


# -- property ----------------------------------------------------------------------------

prices = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)
ids = st.text(min_size=1, max_size=40)


@st.composite
def submit_orders(draw: st.DrawFn) -> SubmitOrder:
    order_type = draw(st.sampled_from(OrderType))
    needs_limit = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    bracket = draw(st.booleans())
    return SubmitOrder(
        client_order_id=draw(ids),
        symbol=draw(st.text(min_size=1, max_size=12).filter(str.strip)),
        side=draw(st.sampled_from(Side)),
        quantity=draw(prices),
        type=order_type,
        limit_price=draw(prices) if needs_limit else draw(st.none() | prices),
        stop_price=draw(prices) if needs_stop else draw(st.none() | prices),
        tif=draw(st.sampled_from(TimeInForce)),
        account=draw(st.text(max_size=12)),
        strategy_id=draw(st.text(max_size=12)),
        take_profit=draw(prices) if bracket else None,
        stop_loss=draw(prices) if bracket else None,
    )


@given(submit_orders())
def test_submit_order_from_wire_of_to_wire_is_the_same_order(order: SubmitOrder) -> None:
    assert SubmitOrder.from_wire(order.to_wire()) == order


@given(
    st.builds(
        ReplaceOrder,
        client_order_id=st.just("c-old"),
        new_client_order_id=st.just("c-new"),
        quantity=st.none() | prices,
        limit_price=st.none() | prices,
        stop_price=st.none() | prices,
        tif=st.none() | st.sampled_from(TimeInForce),
    )
)
def test_replace_order_from_wire_of_to_wire_is_the_same_replace(change: ReplaceOrder) -> None:
    assert ReplaceOrder.from_wire(change.to_wire()) == change
