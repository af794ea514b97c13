"""The one plotext figure, drawn from a clean slate, one drawing at a time.

plotext keeps a single module-level figure, and its `clear_figure()` resets only the
*active* panel. After a two-panel drawing (candles above volume) the active panel is the
volume one, so the next drawing cleared that panel alone, nested its own panels inside it
and built the old upper panel again: one symbol's candles under another's title, the
volume panel twice, a price chart where a run's equity belonged. Screens draw from worker
threads, so two drawings could also interleave. Every drawing therefore starts with
`clear_whole_figure`, TUI drawings hold `fresh_figure` while they draw, and
`figure_panels` reads back what the built figure holds. TUI drawings are also not capped
at the terminal size plotext reads from the process's stdout: the screen knows its size.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

_DRAWING = threading.Lock()


@dataclass(frozen=True, slots=True)
class FigurePanel:
    """One panel of the figure: its title and the y values of each series drawn in it."""

    title: str | None
    series: tuple[tuple[float, ...], ...]

    def values(self) -> set[float]:
        """Every y value drawn in the panel."""
        return {value for series in self.series for value in series}


def clear_whole_figure(plt: ModuleType) -> None:
    """Make the whole figure active, then clear it and its panels."""
    plt.main()  # the top figure, not the panel the last drawing left active
    plt.clear_figure()
    plt.theme("clear")  # the terminal's own colours, not a white box


@contextmanager
def fresh_figure() -> Iterator[ModuleType]:
    """plotext with the whole figure cleared, held by this drawing alone until it is built."""
    import plotext as plt

    with _DRAWING:
        clear_whole_figure(plt)
        # The size a screen asks for, not capped at the size of whatever terminal the
        # process was started from (a test's, in snapshots: 80 columns when captured).
        plt.limit_size(False, False)
        try:
            yield plt
        finally:
            plt.main()


def figure_panels(plt: ModuleType) -> list[FigurePanel]:
    """The panels of the current figure, top row first (read inside `fresh_figure`)."""
    return list(_panels(plt.active()._master))  # read only: main() would change the active panel


def _panels(figure: Any) -> Iterator[FigurePanel]:
    # plotext has no public reader of a figure's contents; these attributes are stable
    # across the 5.x releases pyproject allows.
    if figure._no_plots:
        monitor = figure.monitor
        series = tuple(tuple(float(v) for v in ys) for ys in monitor.y)
        yield FigurePanel(monitor.title, series)
        return
    for row in figure._Rows:
        for col in figure._Cols:
            yield from _panels(figure._get_subplot(row, col))
