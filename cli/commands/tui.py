"""`bifrost tui`: the trader's portal."""

from __future__ import annotations

import typer

from cli.state import state_of


def register(app: typer.Typer) -> None:
    """Mount `tui` at the top level of `app`."""
    app.command("tui")(tui)


def tui(ctx: typer.Context) -> None:
    """Open the TUI (dashboard, order ticket, chart, risk; ctrl+p for every command)."""
    from tui.app import make_app

    state = state_of(ctx)
    make_app(state.config, state.home).run()
