"""Terminal charts of bars with plotext: candles (or a close line) above volume."""

from __future__ import annotations

from typing import Any


def draw_chart(frame: Any, title: str, *, line: bool = False) -> None:
    """Draw `frame` (bars) to stdout, sized to the terminal."""
    import plotext as plt

    from bifrost.clock import format_instant
    from bifrost.errors import NotFound
    from tui.plot_figure import clear_whole_figure

    if frame.height == 0:
        raise NotFound(f"no bars to draw for {title}")
    daily = title.endswith("d")
    dates = [
        format_instant(ts, date_only=True) if daily else format_instant(ts)
        for ts in frame["ts"].to_list()
    ]
    form = "Y-m-d" if daily else "Y-m-d H:M:S"
    clear_whole_figure(plt)
    plt.subplots(2, 1)
    plt.subplot(1, 1)
    plt.date_form(form)
    plt.title(title)
    if line:
        plt.plot(dates, frame["close"].to_list(), marker="braille")
    else:
        plt.candlestick(
            dates,
            {
                "Open": frame["open"].to_list(),
                "High": frame["high"].to_list(),
                "Low": frame["low"].to_list(),
                "Close": frame["close"].to_list(),
            },
        )
    plt.subplot(2, 1)
    plt.date_form(form)
    plt.bar(dates, frame["volume"].to_list(), marker="sd")
    plt.title("volume")
    width, height = plt.terminal_size()
    plt.subplot(1, 1).plotsize(width, max(12, int((height or 30) * 0.65)))
    plt.subplot(2, 1).plotsize(width, max(6, int((height or 30) * 0.25)))
    plt.show()


def draw_equity(points: list[dict[str, Any]], title: str) -> None:
    """An equity curve (points of ts and equity) as a terminal line chart."""
    import plotext as plt

    from bifrost.clock import format_instant
    from tui.plot_figure import clear_whole_figure

    clear_whole_figure(plt)
    plt.date_form("Y-m-d")
    dates = [format_instant(p["ts"], date_only=True) for p in points]
    plt.plot(dates, [p["equity"] for p in points], marker="braille")
    plt.title(title)
    width, height = plt.terminal_size()
    plt.plotsize(width, max(10, int((height or 30) * 0.4)))
    plt.show()
