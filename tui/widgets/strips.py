"""The dashboard's strips: the services' health and the account's figures.

Each strip keeps what it was last shown and lays it out again whenever its own width
changes. The screen is not resized when a side panel (help) opens beside the desk, so a
strip laid out by the screen's width would keep a layout that no longer fits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual.widgets import Static

from bifrost.model.money import decimal_from_wire
from tui.widgets.cells import currency_amount

STATE_STYLE = {"ready": "green", "degraded": "yellow", "down": "red"}
ABSENT = "absent"
"""The state of a service that has never answered: not running here."""
Shown = TypeVar("Shown")


class FittedStrip(Static, Generic[Shown]):
    """A strip that lays out what it shows for its own width (see the module) with
    `lay_out(value, width)`."""

    def __init__(
        self, waiting: str, lay_out: Callable[[Shown, int], Text], *, id: str
    ) -> None:
        super().__init__(waiting, id=id)
        self._lay_out_for = lay_out
        self._shown: Shown | None = None

    def show(self, value: Shown) -> None:
        """Show `value`; nothing is laid out again when it has not changed."""
        if value != self._shown:
            self._shown = value
            self._lay_out()

    def on_resize(self) -> None:
        self._lay_out()

    def _lay_out(self) -> None:
        if self._shown is not None:
            self.update(self._lay_out_for(self._shown, self.content_size.width or 80))


class HealthStrip(FittedStrip[dict[str, str]]):
    """Each service's state (see `health_strip`); a service that has never answered is
    shown apart, as not running here, until it does."""

    def __init__(self, *, id: str) -> None:
        super().__init__("connecting…", health_strip, id=id)
        self._seen: set[str] = set()

    def show(self, value: dict[str, str]) -> None:
        states = {}
        for name, state in value.items():
            if state != "down":
                self._seen.add(name)
            states[name] = ABSENT if state == "down" and name not in self._seen else state
        if states:
            super().show(states)


def health_strip(states: dict[str, str], width: int) -> Text:
    """Every service by name when they fit `width`; otherwise the ones that need a look
    by name, then how many are ready and how many are not running here.

    A service that is down or degraded is never the one cut off at a narrow width.
    """
    full = Text()
    for name, state in states.items():
        full.append_text(_service(name, state))
    if len(full.plain.rstrip()) <= width:
        return full
    brief = Text()
    for name, state in states.items():
        if state not in ("ready", ABSENT):
            brief.append_text(_service(name, state))
    ready = sum(state == "ready" for state in states.values())
    absent = sum(state == ABSENT for state in states.values())
    if ready:
        brief.append(f"● {ready} ready ", style="green")
    if absent:
        brief.append(f"○ {absent} not running here ", style="dim")
    return brief


def _service(name: str, state: str) -> Text:
    if state == ABSENT:
        return Text(f"○ {name} ", style="dim")
    label = name if state == "ready" else f"{name} {state}"
    return Text(f"● {label} ", style=STATE_STYLE.get(state, "yellow"))


def account_strip(account: dict[str, Any], width: int) -> Text:
    """Equity, day, realized and unrealized P&L, every figure in sight at any width.

    The figures keep their full digits; what gives way is words: full labels on one
    row when they fit, then short labels, then two rows (equity and day P&L first).
    """
    base = account.get("base_currency") or "USD"
    day = decimal_from_wire(account.get("day_pnl", 0))
    figures = [
        ("equity", "eq", currency_amount(account["equity"], base), "bold"),
        ("day P&L", "day", ("+" if day >= 0 else "") + currency_amount(day, base),
         "green" if day >= 0 else "red"),
        ("realized", "real", currency_amount(account["realized"], base), ""),
        ("unrealized", "unreal", currency_amount(account["unrealized"], base), ""),
    ]  # fmt: skip
    name = str(account.get("account", ""))

    def row(items: list[tuple[str, str, str]], lead: str) -> Text:
        text = Text(lead)
        for label, value, style in items:
            text.append(f"{'  ' if len(text) else ''}{label} ")
            text.append(value, style)
        return text

    full = [(long, value, style) for long, _, value, style in figures]
    short = [(brief, value, style) for _, brief, value, style in figures]
    for items, lead in ((full, name), (short, name), (short, "")):
        text = row(items, lead)
        if len(text) <= width:
            return text
    return Text("\n").join([row(short[:2], name), row(short[2:], "")])
