"""The TUI driven by Textual's Pilot against real daemons serving from threads."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.market.gateway import DataGateway
from tests.bifrost.conftest import DaemonThread, services_running
from tests.conftest import write_config
from tui.app import make_app
from tui.screens.chart import ChartScreen
from tui.screens.risk import ConfirmScreen, RiskScreen
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
            "limit_price": 405.0,  # within the collar, below the market: it rests
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
