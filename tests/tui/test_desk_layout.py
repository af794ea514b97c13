"""The desk's figures at any width: the account strip, the watchlist's columns, table
cells and the trading state, without a daemon."""

from __future__ import annotations

import pytest

from tui.desk import Desk
from tui.screens.chart import short_number, tick_label
from tui.widgets.cells import amount_text, params_text, positions_text
from tui.widgets.strips import account_strip, health_strip
from tui.widgets.watchlist import Watchlist

pytestmark = pytest.mark.timeout(10)

ACCOUNT = {
    "account": "paper",
    "base_currency": "USD",
    "equity": "101234.56",
    "day_pnl": "-1234.56",
    "realized": "2345.67",
    "unrealized": "-3580.23",
}
FIGURES = ("101,234.56", "-1,234.56", "2,345.67", "-3,580.23")


@pytest.mark.parametrize("width", [36, 60, 76, 156])
def test_the_account_strip_shows_every_figure_at_any_width(width: int) -> None:
    text = account_strip(ACCOUNT, width)
    lines = text.plain.split("\n")
    assert all(len(line) <= width for line in lines)
    for figure in FIGURES:
        assert figure in text.plain
    assert len(lines) == (2 if width < 62 else 1)


def test_the_account_strip_keeps_full_labels_where_they_fit() -> None:
    assert "unrealized -3,580.23" in account_strip(ACCOUNT, 156).plain
    assert "unreal -3,580.23" in account_strip(ACCOUNT, 36).plain


def test_the_watchlist_keeps_symbol_last_and_change_and_drops_by_priority() -> None:
    watchlist = Watchlist(["AAPL", "BTC-USD"])
    watchlist.quotes = {
        "AAPL": (189.44, 189.46, 189.45, -0.2, 2700.0, 1),
        "BTC-USD": (64860.1, 64861.2, 64860.68, 0.1, 1.0, -1),
    }
    assert watchlist.columns(30) == ["symbol", "last", "chg %"]
    assert watchlist.columns(50) == ["symbol", "bid", "ask", "last", "chg %"]
    assert watchlist.columns(60) == ["symbol", "bid", "ask", "last", "chg %", "volume"]


def test_cells_never_show_python_text() -> None:
    assert params_text({"fast": 5, "slow": 20, "allow_short": False}) == (
        "fast=5 slow=20 allow_short=false"
    )
    assert params_text({}) == "-"
    assert positions_text({"AAPL": 70.0, "MSFT": -20.0, "IBM": 0.0}) == "AAPL 70  MSFT -20"
    assert positions_text({}) == "-"
    assert [amount_text(v) for v in (5_000_000.0, 200, 66.2, [], ["GME"])] == [
        "5,000,000",
        "200",
        "66.20",
        "-",
        "GME",
    ]


def test_the_trading_state_comes_from_risk_alerts_and_health() -> None:
    desk = Desk(["AAPL"], clock=lambda: 0.0)
    assert desk.trading == ""
    desk.set_trading("ACTIVE")
    desk.apply("alert.risk", {"kind": "state", "state": "HALTED", "reason": "kill switch"})
    assert desk.trading == "HALTED"
    assert "kill switch" in desk.alerts[0]
    desk.apply("alert.risk", {"kind": "state", "state": "ACTIVE", "reason": "resume"})
    desk.apply("alert.risk", {"kind": "halted", "reason": "daily loss limit"})
    assert desk.trading == "HALTED"


def test_chart_axis_labels_are_short() -> None:
    assert tick_label("2024-11-04 14:30:00", "1d") == "2024-11-04"
    assert tick_label("2024-11-04 14:30:00", "5m") == "11-04 14:30"
    assert [short_number(v) for v in (19_872_423, 1234, 12)] == ["19.9M", "1.23k", "12"]


HEALTH = {
    "data": "ready",
    "news": "ready",
    "portfolio": "ready",
    "execution": "ready",
    "compliance": "ready",
    "risk": "down",
    "strategy": "degraded",
    "ml": "ready",
    "analytics": "absent",
    "microstructure": "ready",
}


def test_the_health_strip_names_every_service_where_they_fit() -> None:
    text = health_strip(HEALTH, 156).plain
    for name in HEALTH:
        assert name in text
    assert "● risk down" in text and "○ analytics" in text


@pytest.mark.parametrize("width", [64, 76])
def test_the_health_strip_keeps_the_services_that_need_a_look_when_narrow(width: int) -> None:
    text = health_strip(HEALTH, width).plain.rstrip()
    assert len(text) <= width
    assert text == "● risk down ● strategy degraded ● 7 ready ○ 1 not running here"
