"""The TUI driven by Textual's Pilot against real daemons serving from threads."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

from bifrost.bus import methods
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.market.gateway import DataGateway
from tests.bifrost.conftest import DaemonThread, services_running
from tests.conftest import write_config
from tui.app import make_app
from tui.screens.chart import ChartScreen
from tui.screens.risk import ConfirmScreen, RiskScreen
from tui.screens.ticket import OrderTicket, ReplaceOrder
from tui.widgets.watchlist import Watchlist

SERVICES = ("data", "portfolio", "execution", "risk")
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    return load_config(write_config(tmp_path, services=SERVICES))


@pytest.fixture
def bus(config: BifrostConfig, home: Path) -> Iterator[BifrostClient]:
    with services_running(config, home, SERVICES) as client:
        yield client


async def until(pilot: Any, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Let the app run until `condition` holds."""
    for _ in range(int(timeout / 0.1)):
        value = condition()
        if value:
            return value
        await pilot.pause(0.1)
    raise AssertionError("the screen never showed it")


def text(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def health(app: Any) -> dict[str, str]:
    """The health strip read back: service -> ready, its shown state, or absent (○)."""
    states = {}
    for segment in re.split(r"\s*(?=[●○])", text(app, "#health").strip()):
        if segment[:1] not in ("●", "○"):
            continue  # "connecting…" before the first poll
        marker, name, *state = segment.split()
        states[name] = "absent" if marker == "○" else (state[0] if state else "ready")
    return states


def test_dashboard_shows_live_quotes_and_service_health(config, home, bus) -> None:
    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            watchlist = app.screen.query_one("#watchlist", Watchlist)
            await until(pilot, lambda: "…" not in watchlist.row_text("AAPL")[1])
            bid, ask = (float(c.replace(",", "")) for c in watchlist.row_text("AAPL")[1:3])
            assert 0 < bid < ask
            # A loaded machine may miss one health poll; the dot turns green on a later one.
            every = {"data", "portfolio", "execution", "risk"}
            await until(pilot, lambda: health(app) == dict.fromkeys(every, "ready"), 20)

    asyncio.run(scenario())


def test_order_ticket_sends_through_risk_and_shows_the_fill(config, home, bus) -> None:
    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: app.desk.quotes["AAPL"].bid)
            await pilot.press("b")
            assert isinstance(app.screen, OrderTicket)
            app.screen.query_one("#quantity", Input).value = "30"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "FILLED" in text(app, "#result"))
            await pilot.press("escape")
            positions = app.screen.query_one("#positions", DataTable)
            await until(pilot, lambda: positions.row_count == 1)
            assert positions.get_row_at(0)[:2] == ["AAPL", "30"]

    asyncio.run(scenario())


def test_order_ticket_preview_names_the_limit_and_send_shows_rejection(config, home, bus) -> None:
    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: app.desk.quotes["MSFT"].bid)
            await pilot.press("down")
            await pilot.press("s")
            app.screen.query_one("#quantity", Input).value = "20000"
            app.screen.action_preview()
            await until(pilot, lambda: "max_order_quantity" in text(app, "#preview"))
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "REJECTED" in text(app, "#result"))
            app.screen.query_one("#quantity", Input).value = "abc"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "quantity must be a number" in text(app, "#result"))

    asyncio.run(scenario())


def test_order_ticket_keeps_its_client_id_until_a_send_succeeds(config, home, bus) -> None:
    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: app.desk.quotes["AAPL"].bid)
            await pilot.press("b")
            ticket = app.screen
            assert isinstance(ticket, OrderTicket)
            first_id = ticket.client_order_id
            ticket.query_one("#quantity", Input).value = "20000"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "REJECTED" in text(app, "#result"))
            assert ticket.client_order_id == first_id  # nothing entered: the id is unspent
            ticket.query_one("#quantity", Input).value = "30"
            sent = ticket.order()
            assert sent.client_order_id == first_id
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "FILLED" in text(app, "#result"))
            assert first_id in text(app, "#result")
            assert ticket.client_order_id != first_id  # the next send is a new order
            ticket.send(sent)  # the same send again, as after a reply lost to a timeout
            await until(pilot, lambda: "FILLED" in text(app, "#result"))
        fills = bus.call("execution", methods.FILLS_LIST, {"limit": 50})["fills"]
        assert [f["client_order_id"] for f in fills].count(first_id) == 1

    asyncio.run(scenario())


def test_kill_switch_asks_then_halts_and_cancels(config, home, bus) -> None:
    bus.call(
        "risk",
        "order.submit",
        {
            "symbol": "MSFT",
            "side": "BUY",
            "quantity": 10.0,
            "type": "LIMIT",
            "limit_price": 410.0,
            "client_order_id": "tui-rest",
        },
    )

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.press("r")
            assert isinstance(app.screen, RiskScreen)
            await until(pilot, lambda: "ACTIVE" in text(app, "#state"))
            await pilot.press("k")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await until(pilot, lambda: "HALTED" in text(app, "#state"))
            # The header is a banner on every screen until resume, which the palette offers.
            await until(pilot, lambda: "TRADING HALTED" in app.sub_title)
            await pilot.press("escape")
            assert app.has_class("-halted") and "TRADING HALTED" in app.sub_title
            await pilot.press("ctrl+p")
            await pilot.press(*"Resume", "enter")
            await until(pilot, lambda: app.desk.trading == "ACTIVE" and not app.sub_title)
            assert not app.has_class("-halted")
        assert bus.call("execution", "orders.list", {"open_only": True})["orders"] == []
        assert bus.call("risk", "risk.state", {})["state"] == "ACTIVE"

    asyncio.run(scenario())


def test_cancel_asks_first_and_no_keeps_the_order(config, home, bus) -> None:
    bus.call(
        "risk",
        "order.submit",
        {
            "symbol": "MSFT",
            "side": "BUY",
            "quantity": 10.0,
            "type": "LIMIT",
            "limit_price": 1.0,
            "client_order_id": "tui-cancel",
        },
    )

    def open_ids() -> list[str]:
        orders = bus.call("execution", "orders.list", {"open_only": True})["orders"]
        return [o["client_order_id"] for o in orders]

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            orders = app.screen.query_one("#orders", DataTable)
            await until(pilot, lambda: orders.row_count == 1)
            await pilot.press("c")
            assert isinstance(app.screen, ConfirmScreen)
            assert "tui-cancel" in app.screen.question and "BUY 10" in app.screen.question
            await pilot.press("n")
            await pilot.pause(0.5)
            assert open_ids() == ["tui-cancel"]
            await pilot.press("c", "y")
            await until(pilot, lambda: orders.row_count == 0)
        assert open_ids() == []

    asyncio.run(scenario())


def test_a_daemon_going_down_turns_red_and_comes_back(config, home) -> None:
    threads = {name: DaemonThread(config, home, name) for name in ("data", "risk")}

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: health(app).get("risk") == "ready", 20)
            threads["risk"].stop()
            await until(pilot, lambda: health(app)["risk"] == "down", 20)
            threads["risk"] = DaemonThread(config, home, "risk")
            threads["risk"].start()
            # Back up, it may miss a poll on a busy machine before it shows ready.
            await until(pilot, lambda: health(app)["risk"] == "ready", 20)

    try:
        for thread in threads.values():
            thread.start()
        asyncio.run(scenario())
    finally:
        for thread in threads.values():
            thread.stop()


def test_open_order_is_replaced_from_the_orders_table(config, home, bus) -> None:
    bus.call(
        "risk",
        "order.submit",
        {
            "symbol": "MSFT",
            "side": "BUY",
            "quantity": 10.0,
            "type": "LIMIT",
            "limit_price": 410.0,
            "client_order_id": "tui-rep",
        },
    )

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            orders = app.screen.query_one("#orders", DataTable)
            await until(pilot, lambda: orders.row_count == 1)
            await pilot.press("e")
            assert isinstance(app.screen, ReplaceOrder)
            replacing_id = app.screen.new_client_order_id
            app.screen.query_one("#price", Input).value = "412.5"
            await pilot.click("#replace")
            await until(pilot, lambda: "ACCEPTED" in text(app, "#result"))
        open_orders = bus.call("execution", "orders.list", {"open_only": True})["orders"]
        assert [(o["client_order_id"], o["limit_price"]) for o in open_orders] == [
            (replacing_id, 412.5)
        ]

    asyncio.run(scenario())


def test_replace_past_a_risk_limit_is_refused_in_the_dialog_and_the_order_kept(
    config, home, bus
) -> None:
    bus.call("risk", "risk.limits", {"set": {"max_order_quantity": 100}})
    order = {"symbol": "MSFT", "side": "BUY", "quantity": 5.0, "type": "LIMIT"}
    order |= {"limit_price": 410.0, "client_order_id": "tui-big"}
    bus.call("risk", "order.submit", order)

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            orders = app.screen.query_one("#orders", DataTable)
            await until(pilot, lambda: orders.row_count == 1)
            await pilot.press("e")
            assert isinstance(app.screen, ReplaceOrder)
            app.screen.query_one("#quantity", Input).value = "6000"
            await pilot.click("#replace")
            await until(pilot, lambda: "REJECTED" in text(app, "#result"))
            assert "exceeds the limit" in text(app, "#result")

    asyncio.run(scenario())
    kept = bus.call("execution", "order.get", {"client_order_id": "tui-big"})
    assert (kept["quantity"], kept["limit_price"], kept["status"]) == (5.0, 410.0, "ACCEPTED")


def test_chart_screen_draws_candles_and_cycles_overlays(config, home, bus) -> None:
    from bifrost.market.sample import write_sample

    DataGateway(bus, home).import_files(write_sample(home / "sample"))

    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.press("g")
            assert isinstance(app.screen, ChartScreen)
            await until(pilot, lambda: "AAPL 1d  (SMA)" in text(app, "#chart"))
            await pilot.press("o")
            await until(pilot, lambda: "(EMA)" in text(app, "#chart"))
            await pilot.press("f")
            await until(pilot, lambda: "1m" in text(app, "#chart"))

    asyncio.run(scenario())
