"""SVG snapshots of the main screens with fixed data (no daemon runs: the desk is filled
by hand with fixed quotes, orders, fills and account; every service shows as not running)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bifrost.config import load_config
from tui.app import make_app

pytestmark = pytest.mark.timeout(60)
TS = 1_764_072_000_000_000_000  # 2025-11-25 12:00:00 UTC
CONFIG = """
[site]
host = "local"
log_level = "warning"
[hosts.local]
address = "127.0.0.1"
[services.data]
host = "local"
rpc_port = 7991
pub_port = 7992
http_port = 7993
[feed]
symbols = ["AAPL", "MSFT", "NVDA"]
"""


def fixed_app(tmp_path: Path) -> Any:
    path = tmp_path / "snapshot.toml"
    path.write_text(CONFIG)
    app = make_app(load_config(path), tmp_path)
    desk = app.desk
    fresh = time.monotonic() + 3600  # quotes count as fresh (not greyed) while the test runs
    for symbol, bid in (("AAPL", 189.97), ("MSFT", 420.01), ("NVDA", 119.98)):
        desk.apply(f"quote.{symbol}", {"symbol": symbol, "bid": bid, "ask": bid + 0.04}, fresh)
        desk.apply(f"trade.{symbol}", {"symbol": symbol, "price": bid + 0.04, "size": 300.0})
    desk.apply(
        "order.paper",
        {
            "client_order_id": "ord-1",
            "symbol": "NVDA",
            "side": "BUY",
            "quantity": 100.0,
            "type": "LIMIT",
            "limit_price": 116.0,
            "stop_price": None,
            "status": "ACCEPTED",
            "filled": 0.0,
            "created_ts": TS,
        },
    )
    desk.apply(
        "fill.paper",
        {"symbol": "AAPL", "side": "BUY", "quantity": 100.0, "price": 190.01, "ts": TS},
    )
    desk.apply(
        "pnl.paper",
        {
            "account": "paper",
            "base_currency": "USD",
            "cash": {"USD": "80999.00"},
            "equity": "100004.00",
            "fees": "0.00",
            "day_pnl": "4.00",
            "realized": "0.00",
            "unrealized": "4.00",
            "positions": [
                {
                    "symbol": "AAPL",
                    "quantity": 100.0,
                    "average_cost": "190.01",
                    "mark": "190.05",
                    "market_value": "19005.00",
                    "unrealized": "4.00",
                    "realized": "0.00",
                    "currency": "USD",
                }
            ],
        },
    )
    desk.set_health({"data": "down"})
    return app


async def painted(pilot: Any) -> None:
    """Let the dashboard paint the desk (every 50 ms) and the layout settle before keys."""
    await pilot.pause(0.3)
    await pilot.wait_for_scheduled_animations()


def test_snapshot_dashboard(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(fixed_app(tmp_path), terminal_size=(120, 32), run_before=painted)


def test_snapshot_order_ticket(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(
        fixed_app(tmp_path), press=["b", "1", "0"], terminal_size=(120, 32), run_before=painted
    )


async def help_open(pilot: Any) -> None:
    """Open the help panel once the desk is painted, then let the narrowed tables settle."""
    await painted(pilot)
    await pilot.press("question_mark")
    await painted(pilot)


def test_snapshot_help(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(fixed_app(tmp_path), terminal_size=(120, 32), run_before=help_open)
