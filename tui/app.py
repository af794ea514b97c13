"""The Bifrost TUI: `make_app(config, home, client_factory)` builds it; `bifrost tui` runs it.

Bus reads run in a thread worker (tui/feed.py) that folds events into a Desk; the
screens repaint from the Desk at most ~20 times a second. Every action is a key
binding shown in the footer and a command in the palette (ctrl+p). Workers never
end the app on an error: a bad event or a failed call is shown, not fatal.

Screens reach the daemons only through `app.bus` (tui/bus.py), whose clients come from
the factory the app was given, and reach the app itself through `app_of(self)`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen

from bifrost.config import BifrostConfig
from tui.bus import ClientFactory, TuiBus, live_clients
from tui.desk import Desk
from tui.feed import follow

REFRESH_PER_SECOND = 20
TRADING_BANNER = {
    "HALTED": "TRADING HALTED · resume: ctrl+p Resume, or u on Risk",
    "REDUCING": "REDUCING ONLY · resume: ctrl+p Resume, or u on Risk",
}
"""The header's words while trading is not ACTIVE: every screen has the header, so the
state stays in sight until resume (an alert line scrolls away)."""
BANNER_EVERY_S = 0.25


class BifrostApp(App[None]):
    """The trader's portal."""

    CSS_PATH = "app.tcss"
    TITLE = "Bifrost"
    BINDINGS: ClassVar[list[BindingType]] = [
        # The screens are a key away but stay out of the footer, which would not fit 80
        # columns with them; help (?) and the palette (ctrl+p) list them all.
        Binding("d", "show_dashboard", "Dashboard", show=False),
        Binding("g", "show_chart", "Chart", show=False),
        Binding("r", "show_risk", "Risk", show=False),
        Binding("l", "show_strategies", "Strategies", show=False),
        Binding("p", "show_backtests", "Backtests", show=False),
        Binding("a", "show_analytics", "Analytics", show=False),
        Binding("m", "show_micro", "Microstructure", show=False),
        Binding("i", "show_ml", "ML", show=False),
        Binding("n", "show_news", "News", show=False),
        Binding("t", "toggle_theme", "Theme", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        # Shift+C: a plain `c` cancels the order under the cursor on the dashboard.
        Binding("C", "show_compliance", "Compliance", show=False),
        # Shift+S: a plain `s` opens the sell ticket on the dashboard.
        Binding("S", "show_sql", "SQL", show=False),
    ]

    def __init__(self, bus: TuiBus, desk: Desk) -> None:
        super().__init__()
        self.bus = bus
        self.config = bus.config
        self.home = bus.home
        self.desk = desk
        self._stop = threading.Event()

    def on_mount(self) -> None:
        from tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen())
        self.follow_bus()
        self.set_interval(BANNER_EVERY_S, self.show_trading_state)

    def show_trading_state(self) -> None:
        """Turn the header into a HALTED or REDUCING banner, or back, as risk's state goes."""
        state = self.desk.trading
        self.sub_title = TRADING_BANNER.get(state, "")
        self.set_class(state == "HALTED", "-halted")
        self.set_class(state == "REDUCING", "-reducing")

    @work(thread=True, exclusive=True, group="bus", exit_on_error=False)
    def follow_bus(self) -> None:
        """Fold bus events into the desk until the app exits."""
        follow(self.bus, self.desk, self._stop)

    def on_unmount(self) -> None:
        self._stop.set()

    def action_show_dashboard(self) -> None:
        """Back to the dashboard."""
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_show_chart(self) -> None:
        """Candles of the selected symbol."""
        from tui.screens.chart import ChartScreen

        self.push_screen(ChartScreen(self.selected_symbol()))

    def action_show_risk(self) -> None:
        """Limits, state, kill switch, VaR."""
        from tui.screens.risk import RiskScreen

        self.push_screen(RiskScreen())

    def action_show_compliance(self) -> None:
        """Compliance rules, today's rule hits and the audit chain's state."""
        from tui.screens.compliance import ComplianceScreen

        self.push_screen(ComplianceScreen())

    def action_show_strategies(self) -> None:
        """Live strategies: start, stop, state and P&L."""
        from tui.screens.strategies import StrategiesScreen

        self.push_screen(StrategiesScreen())

    def action_show_micro(self) -> None:
        """The L2 ladder and microstructure metrics of the selected symbol."""
        from tui.screens.micro import MicroScreen

        self.push_screen(MicroScreen(self.selected_symbol()))

    def action_show_analytics(self) -> None:
        """Tearsheet of the live account or of a stored run."""
        from tui.screens.analytics import AnalyticsScreen

        self.push_screen(AnalyticsScreen())

    def action_show_sql(self) -> None:
        """Read-only SQL across every service's store."""
        from tui.screens.sql import SqlScreen

        self.push_screen(SqlScreen())

    def action_show_backtests(self) -> None:
        """Backtest runs: run one, show, compare."""
        from tui.screens.backtests import BacktestsScreen

        self.push_screen(BacktestsScreen())

    def action_show_ml(self) -> None:
        """Model registry and the latest ML signal per symbol."""
        from tui.screens.ml import MLScreen

        self.push_screen(MLScreen())

    def action_show_news(self) -> None:
        """Latest headlines with scores and the rolling sentiment per symbol."""
        from tui.screens.news import NewsScreen

        self.push_screen(NewsScreen())

    def action_toggle_theme(self) -> None:
        """Switch between the light and the dark theme."""
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_help(self) -> None:
        """Show the key bindings of the current screen."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def selected_symbol(self) -> str:
        """The watchlist's selected symbol (the first one when there is no dashboard)."""
        from tui.screens.dashboard import DashboardScreen

        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                return screen.selected_symbol()
        return self.desk.symbols[0]

    def get_system_commands(self, screen: Screen[Any]) -> Any:
        """The palette: every action of the app, beside Textual's own commands."""
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Buy", "Order ticket to buy the selected symbol", lambda: self.open_ticket("BUY")
        )
        yield SystemCommand(
            "Sell", "Order ticket to sell the selected symbol", lambda: self.open_ticket("SELL")
        )
        yield SystemCommand("Chart", "Candles of the selected symbol", self.action_show_chart)
        yield SystemCommand("Risk", "Limits, trading state, kill switch", self.action_show_risk)
        yield SystemCommand(
            "Compliance", "Rules, today's rule hits, audit chain", self.action_show_compliance
        )
        yield SystemCommand(
            "Strategies", "Live strategies: start, stop", self.action_show_strategies
        )
        yield SystemCommand(
            "Backtests", "Run, show and compare backtests", self.action_show_backtests
        )
        yield SystemCommand(
            "Microstructure", "L2 ladder and metrics of the selected symbol", self.action_show_micro
        )
        yield SystemCommand(
            "ML signals", "Model registry and live signals per symbol", self.action_show_ml
        )
        yield SystemCommand("News", "Headlines and rolling sentiment", self.action_show_news)
        yield SystemCommand(
            "Analytics", "Tearsheet of the live account or a run", self.action_show_analytics
        )
        yield SystemCommand("SQL console", "Read-only SQL across the stores", self.action_show_sql)
        yield SystemCommand("Kill switch", "Halt trading (asks to confirm)", self.confirm_kill)
        yield SystemCommand("Resume", "Back to ACTIVE trading after a halt", self.resume)
        yield SystemCommand("Theme", "Light or dark", self.action_toggle_theme)

    def open_ticket(self, side: str) -> None:
        """The order ticket for the selected symbol."""
        from tui.screens.ticket import OrderTicket

        self.push_screen(OrderTicket(side, self.selected_symbol()))

    def resume(self) -> None:
        """Back to ACTIVE trading."""
        from bifrost.bus import methods
        from tui.screens.risk import call_risk

        call_risk(self, methods.RISK_RESUME, {"reason": "resume (TUI)"})

    def confirm_kill(self) -> None:
        """Ask, then halt trading."""
        from tui.screens.risk import ask_kill

        ask_kill(self)


def make_app(
    config: BifrostConfig,
    home: Path,
    client_factory: ClientFactory | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> BifrostApp:
    """The app for a config and data dir.

    `client_factory` makes every bus client the app uses (default: real clients of
    `config`); `clock` is the monotonic clock the desk ages quotes by. Tests hand a
    client that answers from recorded replies and a frozen clock.
    """
    bus = TuiBus(config, home, client_factory or live_clients(config))
    return BifrostApp(bus, Desk(config.live_symbols(), clock=clock))


def app_of(node: DOMNode) -> BifrostApp:
    """The Bifrost app a screen or widget runs in (Textual types `node.app` as any app)."""
    app = node.app
    if not isinstance(app, BifrostApp):
        raise TypeError(f"{node!r} is not part of the Bifrost app")
    return app
