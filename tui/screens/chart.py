"""The chart screen: candles of one symbol with volume and an SMA overlay, any timeframe."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from bifrost.client import BifrostClient
from bifrost.errors import BifrostError

TIMEFRAMES = ("1m", "5m", "1h", "1d")


class ChartScreen(Screen[None]):
    """History from the data service (stored, resampled or from live trades)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "next_timeframe", "Timeframe"),
        Binding("o", "toggle_overlay", "SMA overlay"),
        Binding("f5", "reload", "Reload"),
    ]

    def __init__(self, symbol: str) -> None:
        super().__init__()
        self.symbol = symbol
        self.timeframe = "1d"
        self.overlay = True

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="chart")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_next_timeframe(self) -> None:
        """Cycle 1m, 5m, 1h, 1d."""
        self.timeframe = TIMEFRAMES[(TIMEFRAMES.index(self.timeframe) + 1) % len(TIMEFRAMES)]
        self.action_reload()

    def action_toggle_overlay(self) -> None:
        """Show or hide SMA(20) and SMA(50)."""
        self.overlay = not self.overlay
        self.action_reload()

    @work(thread=True, exclusive=True, group="chart")
    def action_reload(self) -> None:
        """Fetch bars and draw them."""
        from bifrost.market.gateway import DataGateway

        app = self.app
        width, height = self.size.width or 100, max(12, (self.size.height or 30) - 4)
        try:
            with BifrostClient(app.config, timeout_ms=5000) as client:  # type: ignore[attr-defined]
                frame = DataGateway(client, app.home).bars(self.symbol, self.timeframe)  # type: ignore[attr-defined]
        except BifrostError as exc:
            app.call_from_thread(self._show, Text(f"{self.symbol} {self.timeframe}: {exc.message}"))
            return
        app.call_from_thread(
            self._show, Text.from_ansi(self.draw(frame.tail(width // 2), width, height))
        )

    def draw(self, frame: Any, width: int, height: int) -> str:
        """Candles, SMA overlays and volume as plotext text."""
        import plotext as plt

        from bifrost.clock import format_instant
        from bifrost.indicators import sma

        dates = [format_instant(t) for t in frame["ts"].to_list()]
        plt.clear_figure()
        plt.theme("clear")
        plt.date_form("Y-m-d H:M:S")
        plt.subplots(2, 1)
        plt.subplot(1, 1).plotsize(width, int(height * 0.75))
        plt.title(f"{self.symbol} {self.timeframe}")
        plt.candlestick(
            dates, {k.capitalize(): frame[k].to_list() for k in ("open", "high", "low", "close")}
        )
        if self.overlay:
            close = frame["close"].to_numpy()
            for n in (20, 50):
                if len(close) > n:
                    plt.plot(dates[n - 1 :], sma(close, n)[n - 1 :].tolist(), label=f"SMA {n}")
        plt.subplot(2, 1).plotsize(width, max(5, int(height * 0.25)))
        plt.date_form("Y-m-d H:M:S")
        plt.bar(dates, frame["volume"].to_list())
        return str(plt.build())

    def _show(self, content: Text) -> None:
        self.query_one("#chart", Static).update(content)
