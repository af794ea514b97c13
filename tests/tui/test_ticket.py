"""The order ticket and the replace dialog, driven by Pilot against real daemons."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input

from bifrost.bus import methods
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from tests.bifrost.conftest import services_running
from tests.conftest import write_config
from tests.tui.test_app import text, until
from tui.app import make_app
from tui.screens.ticket import OrderTicket, ReplaceOrder

pytestmark = pytest.mark.timeout(60)
SERVICES = ("data", "portfolio", "execution", "risk")
SIZE = (160, 45)


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    return load_config(write_config(tmp_path, services=SERVICES))


@pytest.fixture
def bus(config: BifrostConfig, home: Path) -> Iterator[BifrostClient]:
    with services_running(config, home, SERVICES) as client:
        yield client


def orders_of(bus: Any) -> list[dict[str, Any]]:
    return bus.call("execution", methods.ORDERS_LIST, {"limit": 50})["orders"]


async def ticket_for(pilot: Any, key: str = "b") -> OrderTicket:
    """The ticket a key opens, once the desk has a quote to preview against."""
    app = pilot.app
    await until(pilot, lambda: app.desk.quotes["AAPL"].bid)
    await pilot.press(key)
    assert isinstance(app.screen, OrderTicket)
    return app.screen


def fill_in(ticket: OrderTicket, **boxes: str) -> None:
    for box, value in boxes.items():
        ticket.query_one(f"#{box.replace('_', '-')}", Input).value = value


def test_order_ticket_sends_through_risk_then_closes_and_the_position_shows(
    config, home, bus
) -> None:
    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=SIZE) as pilot:
            fill_in(await ticket_for(pilot), quantity="30")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, OrderTicket), 20)
            positions = app.screen.query_one("#positions", DataTable)
            await until(pilot, lambda: positions.row_count == 1)
            assert positions.get_row_at(0)[:2] == ["AAPL", "30"]

    asyncio.run(scenario())


def test_two_sends_of_one_ticket_enter_one_order(config, home, bus) -> None:
    async def scenario() -> str:
        app = make_app(config, home)
        async with app.run_test(size=SIZE) as pilot:
            ticket = await ticket_for(pilot)
            fill_in(ticket, quantity="30")
            order = ticket.order()
            sends = [ticket.send(order), ticket.send(order)]  # both in flight at once
            await pilot.press("ctrl+s", "ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, OrderTicket), 20)
            await until(pilot, lambda: all(w.is_finished for w in sends), 20)
            assert ticket.client_order_id == order.client_order_id
            return ticket.client_order_id

    client_order_id = asyncio.run(scenario())
    assert [o["client_order_id"] for o in orders_of(bus)] == [client_order_id]
    fills = bus.call("execution", methods.FILLS_LIST, {"limit": 50})["fills"]
    assert [f["client_order_id"] for f in fills] == [client_order_id]


def test_preview_key_checks_the_limits_and_sends_nothing(config, home, bus) -> None:
    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=SIZE) as pilot:
            fill_in(await ticket_for(pilot, "s"), quantity="20000")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: "max_order_quantity" in text(app, "#preview"))
            assert orders_of(bus) == []
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "REJECTED" in text(app, "#result"))
            assert isinstance(app.screen, OrderTicket)  # a refusal stays, with its reason
            fill_in(app.screen, quantity="abc")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "quantity must be a number" in text(app, "#result"))

    asyncio.run(scenario())


def test_a_refused_ticket_keeps_its_id_for_the_order_it_then_enters(config, home, bus) -> None:
    async def scenario() -> str:
        app = make_app(config, home)
        async with app.run_test(size=SIZE) as pilot:
            ticket = await ticket_for(pilot)
            first_id = ticket.client_order_id
            fill_in(ticket, quantity="20000")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "REJECTED" in text(app, "#result"))
            fill_in(ticket, quantity="30")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, OrderTicket), 20)
            assert ticket.client_order_id == first_id
            return first_id

    first_id = asyncio.run(scenario())
    assert [o["client_order_id"] for o in orders_of(bus)] == [first_id]


def test_ticket_enters_a_stop_limit_and_a_bracket(config, home, bus) -> None:
    async def scenario() -> tuple[str, str]:
        app = make_app(config, home)
        async with app.run_test(size=SIZE) as pilot:
            stop_limit = await ticket_for(pilot)
            fill_in(stop_limit, quantity="5", limit="196", stop="195")
            await until(pilot, lambda: "STOP_LIMIT order" in text(app, "#kind"))
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, OrderTicket), 20)
            bracket = await ticket_for(pilot)
            fill_in(bracket, quantity="5", limit="185", take_profit="199", stop_loss="181")
            await until(pilot, lambda: "LIMIT with a bracket" in text(app, "#kind"))
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, OrderTicket), 20)
            return stop_limit.client_order_id, bracket.client_order_id

    stop_limit_id, bracket_id = asyncio.run(scenario())
    orders = {o["client_order_id"]: o for o in orders_of(bus)}
    entered = orders[stop_limit_id]
    assert (entered["type"], entered["limit_price"], entered["stop_price"]) == (
        "STOP_LIMIT",
        196.0,
        195.0,
    )
    assert (orders[bracket_id]["type"], orders[bracket_id]["limit_price"]) == ("LIMIT", 185.0)


def test_open_order_is_replaced_from_the_orders_table_and_the_dialog_closes(
    config, home, bus
) -> None:
    order = {"symbol": "MSFT", "side": "BUY", "quantity": 10.0, "type": "LIMIT"}
    bus.call("risk", "order.submit", order | {"limit_price": 410.0, "client_order_id": "tui-rep"})

    async def scenario() -> str:
        app = make_app(config, home)
        async with app.run_test(size=SIZE) as pilot:
            orders = app.screen.query_one("#orders", DataTable)
            await until(pilot, lambda: orders.row_count == 1, 30)
            await pilot.press("e")
            dialog = app.screen
            assert isinstance(dialog, ReplaceOrder)
            dialog.query_one("#price", Input).value = "412.5"
            await pilot.click("#replace")
            await until(pilot, lambda: not isinstance(app.screen, ReplaceOrder), 30)
            return dialog.new_client_order_id

    replacing_id = asyncio.run(scenario())
    open_orders = bus.call("execution", "orders.list", {"open_only": True})["orders"]
    assert [(o["client_order_id"], o["limit_price"]) for o in open_orders] == [
        (replacing_id, 412.5)
    ]


def test_replace_past_a_risk_limit_is_refused_in_the_dialog_and_the_order_kept(
    config, home, bus
) -> None:
    bus.call("risk", "risk.limits", {"set": {"max_order_quantity": 100}})
    order = {"symbol": "MSFT", "side": "BUY", "quantity": 5.0, "type": "LIMIT"}
    order |= {"limit_price": 410.0, "client_order_id": "tui-big"}
    bus.call("risk", "order.submit", order)

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=SIZE) as pilot:
            orders = app.screen.query_one("#orders", DataTable)
            # A loaded machine can take well past 10 s to fold the first orders and answer
            # the replace: wait on the condition with room to spare (the test's timeout
            # still bounds it).
            await until(pilot, lambda: orders.row_count == 1, 30)
            await pilot.press("e")
            assert isinstance(app.screen, ReplaceOrder)
            app.screen.query_one("#quantity", Input).value = "6000"
            await pilot.click("#replace")
            await until(pilot, lambda: "REJECTED" in text(app, "#result"), 30)
            assert "exceeds the limit" in text(app, "#result")
            assert isinstance(app.screen, ReplaceOrder)

    asyncio.run(scenario())
    kept = bus.call("execution", "order.get", {"client_order_id": "tui-big"})
    assert (kept["quantity"], kept["limit_price"], kept["status"]) == (5.0, 410.0, "ACCEPTED")
