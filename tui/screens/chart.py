"""The chart screen: candles of one symbol with volume and an SMA overlay, any timeframe."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from bifrost.errors import BifrostError
from tui.app import app_of
from tui.plot_figure import FigurePanel, figure_panels, fresh_figure

TIMEFRAMES = ("1m", "5m", "1h", "1d")
OVERLAYS = ("SMA", "EMA", "Bollinger", "none")
LIVE_REFRESH_S = 5.0
LABEL_SPACING = 20
"""Columns per x label: a label is at most 11 wide ("11-04 14:30"), and plotext moves
one that has another within 1.5 widths of it, depending on which came first."""


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
        self.drawn: ChartDrawing | None = None

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

    def view(self) -> ChartView:
        """What the screen is set to show now."""
        return ChartView(self.symbol, self.timeframe, self.overlay)

    @work(thread=True, exclusive=True, group="chart", exit_on_error=False)
    def action_reload(self) -> None:
        """Fetch bars and draw them."""
        from bifrost.market.gateway import DataGateway

        app = app_of(self)
        view = self.view()  # taken once: a key pressed meanwhile starts another reload
        width, height = self.size.width or 100, max(12, (self.size.height or 30) - 4)
        try:
            with app.bus.client(timeout_ms=5000) as client:
                gateway = DataGateway(client, app.bus.home)
                frame = gateway.bars(view.symbol, view.timeframe)
        except BifrostError as exc:
            text = Text(f"{view.symbol} {view.timeframe}: {exc.message}")
            app.call_from_thread(self._show, view, text, None)
            return
        try:
            drawing = draw(frame.tail(width // 2), view, width, height)
        except (ValueError, IndexError, ZeroDivisionError) as exc:  # plotext on odd data
            text = Text(f"{view.symbol} {view.timeframe}: cannot draw: {exc}")
            app.call_from_thread(self._show, view, text, None)
            return
        app.call_from_thread(self._show, view, Text.from_ansi(drawing.text), drawing)

    def _show(self, view: ChartView, content: Text, drawing: ChartDrawing | None) -> None:
        if view != self.view():
            return  # a reload for an earlier symbol, timeframe or overlay finished late
        self.drawn = drawing
        self.query_one("#chart", Static).update(content)


@dataclass(frozen=True, slots=True)
class ChartView:
    """The symbol, timeframe and overlay one drawing is for."""

    symbol: str
    timeframe: str
    overlay: str


@dataclass(frozen=True, slots=True)
class ChartDrawing:
    """One drawn chart: the view, its text and the panels the figure held when built."""

    view: ChartView
    text: str
    panels: tuple[FigurePanel, ...]


def draw(frame: Any, view: ChartView, width: int, height: int) -> ChartDrawing:
    """Candles with the overlay above volume, as plotext text."""
    from bifrost.clock import format_instant

    dates = [format_instant(t) for t in frame["ts"].to_list()]
    with fresh_figure() as plt:
        plt.plotsize(width, height)  # the whole figure, which its two panels share
        plt.subplots(2, 1)
        plt.subplot(1, 1).plotsize(width, int(height * 0.75))
        plt.date_form("Y-m-d H:M:S")  # per subplot: each keeps its own date form
        plt.title(f"{view.symbol} {view.timeframe}  ({view.overlay})")
        ohlc = {k.capitalize(): frame[k].to_list() for k in ("open", "high", "low", "close")}
        plt.candlestick(dates, ohlc)
        plt.xticks([], [])  # the volume panel under it carries the one time axis
        for label, values in overlay_lines(view.overlay, frame["close"].to_numpy()):
            start = int(np.argmax(~np.isnan(values))) if np.isfinite(values).any() else len(values)
            if start < len(values):
                plt.plot(dates[start:], values[start:].tolist(), label=label)
        plt.subplot(2, 1).plotsize(width, max(5, int(height * 0.25)))
        plt.date_form("Y-m-d H:M:S")
        volume = frame["volume"].to_list()
        plt.bar(dates, volume)
        plt.xticks(*spread_ticks([tick_label(d, view.timeframe) for d in dates], width))
        plt.yticks(*volume_ticks(max(volume, default=0.0)))
        text = str(plt.build())
        return ChartDrawing(view, text, tuple(figure_panels(plt)))


def tick_label(instant: str, timeframe: str) -> str:
    """A bar's time as an axis shows it: the day for daily bars, else month-day and time
    ("2024-11-04", "11-04 14:30"), short enough for a few to fit 80 columns."""
    return instant[:10] if timeframe.endswith("d") else instant[5:16]


def volume_ticks(top: float) -> tuple[list[float], list[str]]:
    """The largest volume alone (the panel is a few rows high), in thousands (k) or
    millions (M): a 10-digit label would take a sixth of an 80-column chart."""
    return [top], [short_number(top)]


def short_number(value: float) -> str:
    """1234 as 1.2k, 19872423 as 19.9M."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def spread_ticks(labels: list[str], width: int) -> tuple[list[int], list[str]]:
    """Bar positions (from 1) and labels of as many evenly spread x ticks as fit `width`.

    Given every date as a label, plotext drops or moves those that would crowd another,
    in the order of a set (the interpreter's hash seed): the volume axis changed from
    one run to the next. Labels this far apart never touch, so the order cannot matter.
    """
    count = max(2, width // LABEL_SPACING)
    step = max(1, math.ceil(len(labels) / count))
    ticks = list(range(1, len(labels) + 1, step))
    return ticks, [labels[t - 1] for t in ticks]


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
