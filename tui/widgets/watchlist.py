"""The watchlist: one widget that renders every row at once.

A DataTable with a cell update per changed price costs far more per repaint than
rendering the whole list as one rich table, and under a busy feed every cell
changes every repaint. The cursor is this widget's own (up/down).

Symbol, last and change always show; bid and ask, then volume, show when the widget is
wide enough for them (an 80-column terminal has room for the first three only).
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widget import Widget

QuoteCells = tuple[float, float, float | None, float, float, int]
"""bid, ask, last, change %, volume, tick direction."""
COLUMNS = ("symbol", "bid", "ask", "last", "chg %", "volume")
KEPT = ("symbol", "last", "chg %")
"""Shown at any width."""
OPTIONAL = (("bid", "ask"), ("volume",))
"""Shown when they fit, in this order (bid and ask go together)."""
PADDING = 1


class Watchlist(Widget, can_focus=True):
    """Live quotes of the desk's symbols with tick colours and a row cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
    ]
    cursor: reactive[int] = reactive(0)

    def __init__(
        self, symbols: list[str], *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.symbols = symbols
        self.quotes: dict[str, QuoteCells] = {}
        self.stale: dict[str, bool] = {}

    def show(self, quotes: dict[str, QuoteCells], stale: dict[str, bool]) -> None:
        """New values; one repaint."""
        self.quotes, self.stale = quotes, stale
        self.refresh()

    @property
    def selected(self) -> str:
        """The symbol under the cursor."""
        return self.symbols[self.cursor] if self.symbols else ""

    def action_move(self, step: int) -> None:
        """Move the cursor."""
        self.cursor = max(0, min(len(self.symbols) - 1, self.cursor + step))

    def row_text(self, symbol: str) -> list[str]:
        """The cells of one row as text (for tests and captures)."""
        return [cell.plain for cell in self._cells(symbol)]

    def columns(self, width: int) -> list[str]:
        """The columns that fit `width` cells, in their order, by priority."""
        widest = {
            name: max([len(name)] + [len(self._cells(s)[i]) for s in self.symbols])
            + 2 * PADDING
            for i, name in enumerate(COLUMNS)
        }
        shown = set(KEPT)
        used = sum(widest[name] for name in shown)
        for group in OPTIONAL:
            need = sum(widest[name] for name in group)
            if used + need > width:
                break
            shown.update(group)
            used += need
        return [name for name in COLUMNS if name in shown]

    def _cells(self, symbol: str) -> list[Text]:
        bid, ask, last, change, volume, direction = self.quotes.get(
            symbol, (0.0, 0.0, None, 0.0, 0.0, 0)
        )
        stale = self.stale.get(symbol, True)
        tick = "dim" if stale else {1: "green", -1: "red"}.get(direction, "")
        return [
            Text(symbol, style="bold"),
            Text(f"{bid:,.2f}" if bid else "…", style=tick),
            Text(f"{ask:,.2f}" if ask else "…", style=tick),
            Text("" if last is None else f"{last:,.2f}", style="dim" if stale else ""),
            Text(f"{change:+.3f}", style="dim" if stale else ("green" if change >= 0 else "red")),
            Text(f"{volume:,.0f}", style="dim" if stale else ""),
        ]

    def render(self) -> Table:
        table = Table(expand=True, box=None, padding=(0, PADDING), header_style="bold")
        shown = self.columns(self.content_size.width)
        for name in shown:
            table.add_column(
                name, justify="left" if name == "symbol" else "right", no_wrap=True
            )
        index_of = [COLUMNS.index(name) for name in shown]
        for index, symbol in enumerate(self.symbols):
            cells = self._cells(symbol)
            focused = index == self.cursor
            table.add_row(*(cells[i] for i in index_of), style="reverse" if focused else None)
        return table
