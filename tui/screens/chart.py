"""The chart screen: candles of one symbol with volume and an SMA overlay, any timeframe."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from bifrost.client import BifrostClient
from bifrost.errors import BifrostError

TIMEFRAMES = ("1m", "5m", "1h", "1d")
OVERLAYS = ("SMA", "EMA", "Bollinger", "none")
LIVE_REFRESH_S = 5.0


class ChartScreen(Screen[None]):
    """History from the data service (stored, resampled or from live trades)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "next_timeframe", "Timeframe"),
        Binding("o", "next_overlay", "Overlay"),
        Binding("f5", "reload", "Reload"),
    ]

    def __init__(self, symbol: str) -> None:
        super().__init__()
        self.symbol = symbol
        self.timeframe = "1d"
        self.overlay = "SMA"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="chart")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()
        self.set_interval(LIVE_REFRESH_S, self.action_reload)  # live bars keep arriving

    def action_next_timeframe(self) -> None:
        """Cycle 1m, 5m, 1h, 1d."""
        self.timeframe = TIMEFRAMES[(TIMEFRAMES.index(self.timeframe) + 1) % len(TIMEFRAMES)]
        self.action_reload()

    def action_next_overlay(self) -> None:
        """Cycle the overlay: SMA 20/50, EMA 20/50, Bollinger 20/2, none."""
        self.overlay = OVERLAYS[(OVERLAYS.index(self.overlay) + 1) % len(OVERLAYS)]
        self.action_reload()

    @work(thread=True, exclusive=True, group="chart", exit_on_error=False)
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
        try:
            drawn = Text.from_ansi(self.draw(frame.tail(width // 2), width, height))
        except (ValueError, IndexError, ZeroDivisionError) as exc:  # plotext on odd data
            drawn = Text(f"{self.symbol} {self.timeframe}: cannot draw: {exc}")
        app.call_from_thread(self._show, drawn)

    def draw(self, frame: Any, width: int, height: int) -> str:
        """Candles, SMA overlays and volume as plotext text."""
        import plotext as plt

        from bifrost.clock import format_instant

        dates = [format_instant(t) for t in frame["ts"].to_list()]
        plt.clear_figure()
        plt.theme("clear")
        plt.subplots(2, 1)
        plt.subplot(1, 1).plotsize(width, int(height * 0.75))
        plt.date_form("Y-m-d H:M:S")  # per subplot: each keeps its own date form
        plt.title(f"{self.symbol} {self.timeframe}  ({self.overlay})")
        plt.candlestick(
            dates, {k.capitalize(): frame[k].to_list() for k in ("open", "high", "low", "close")}
        )
        for label, values in overlay_lines(self.overlay, frame["close"].to_numpy()):
            start = int(np.argmax(~np.isnan(values))) if np.isfinite(values).any() else len(values)
            if start < len(values):
                plt.plot(dates[start:], values[start:].tolist(), label=label)
        plt.subplot(2, 1).plotsize(width, max(5, int(height * 0.25)))
        plt.date_form("Y-m-d H:M:S")
        plt.bar(dates, frame["volume"].to_list())
        return str(plt.build())

    def _show(self, content: Text) -> None:
        self.query_one("#chart", Static).update(content)


def overlay_lines(kind: str, close: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The indicator lines drawn over the candles."""
    from bifrost.indicators import bollinger, ema, sma

    if kind == "SMA":
        return [(f"SMA {n}", sma(close, n)) for n in (20, 50) if len(close) > n]
    if kind == "EMA":
        return [(f"EMA {n}", ema(close, n)) for n in (20, 50) if len(close) > n]
    if kind == "Bollinger" and len(close) > 20:
        middle, upper, lower = bollinger(close, 20, 2.0)
        return [("BB mid", middle), ("BB up", upper), ("BB low", lower)]
    return []
