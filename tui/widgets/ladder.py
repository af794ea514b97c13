"""The L2 ladder as a rich table, shared by the microstructure screen and `bifrost micro book`.

Plain rich (no Textual), so the CLI can draw it without loading the TUI.
"""

from __future__ import annotations

from rich.table import Table

Levels = list[tuple[float, float]]


def ladder_table(bids: Levels, asks: Levels, title: str = "Book") -> Table:
    """Asks above (best at the bottom), the spread, bids below (best at the top)."""
    table = Table(title=title, title_justify="left", expand=True)
    for column in ("bid size", "price", "ask size"):
        table.add_column(column, justify="right")
    for price, size in reversed(asks):
        table.add_row("", f"[red]{price:,.2f}[/]", f"{size:,.4g}")
    if bids and asks:
        table.add_row("", f"[dim]spread {asks[0][0] - bids[0][0]:,.2f}[/]", "")
    for price, size in bids:
        table.add_row(f"{size:,.4g}", f"[green]{price:,.2f}[/]", "")
    return table
