"""The `bifrost` command: global options, the mounted command groups and exit codes.

Each command module is imported only when its command runs (cli.lazy_group), and heavy
modules inside command bodies, so `bifrost --help` stays instant.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from cli.lazy_group import LazyCommand, LazyGroup
from cli.state import CliState

COMMANDS = {
    "up": LazyCommand(
        "cli.commands.stack",
        "Start this host's services (supervised) and wait until each is ready.",
    ),
    "down": LazyCommand(
        "cli.commands.stack",
        "Stop this host's services (SIGTERM, wait) and the supervisor.",
    ),
    "status": LazyCommand(
        "cli.commands.stack",
        "Show each service of this host: pid, state, uptime, restarts, endpoint.",
    ),
    "demo": LazyCommand(
        "cli.commands.stack",
        "Start the stack, show its status and a burst of live quotes, and leave it running.",
    ),
    "watch": LazyCommand("cli.commands.watch", "Stream live quotes from the data service."),
    "orders": LazyCommand(
        "cli.commands.trading",
        "Orders, newest first (prices as exact decimal text in JSON).",
    ),
    "fills": LazyCommand(
        "cli.commands.trading",
        "Fills, newest first (price and commission as exact decimal text in JSON).",
    ),
    "positions": LazyCommand(
        "cli.commands.trading",
        "Positions with average cost, mark and P&L (money as exact decimal text in JSON).",
    ),
    "pnl": LazyCommand(
        "cli.commands.trading",
        "Account equity, cash, realized, unrealized and day P&L (exact decimals).",
    ),
    "trace": LazyCommand(
        "cli.commands.trading",
        "Every hop of an order across services (journal and logs), in time order.",
    ),
    "tui": LazyCommand(
        "cli.commands.tui",
        "Open the TUI (dashboard, order ticket, chart, risk; ctrl+p for every command).",
    ),
    "sql": LazyCommand(
        "cli.commands.sql",
        "Query the stores (data, portfolio, execution, ...) read-only; joins across services.",
    ),
    "order": LazyCommand(
        "cli.commands.trading",
        "Enter, cancel and replace orders (paper broker).",
    ),
    "daemon": LazyCommand("cli.commands.daemon", "Run daemons in the foreground."),
    "data": LazyCommand(
        "cli.commands.data",
        "Market data: import, query, validate, chart and replay bars.",
    ),
    "risk": LazyCommand("cli.commands.risk", "Risk limits, trading state, kill switch and VaR."),
    "analytics": LazyCommand(
        "cli.commands.analytics",
        "Tearsheets of backtest runs and of the live account.",
    ),
    "compliance": LazyCommand(
        "cli.commands.compliance",
        "Compliance rules, the audit trail and its verification.",
    ),
    "strategy": LazyCommand(
        "cli.commands.strategy",
        "Run strategies live (orders go through risk).",
    ),
    "systemd": LazyCommand("cli.commands.systemd", "systemd units for a host's services."),
    "backtest": LazyCommand(
        "cli.commands.backtest",
        "Backtests: run, sweep, walk forward, list, show, compare.",
    ),
    "instruments": LazyCommand(
        "cli.commands.instruments",
        "Instruments: venue, asset class, increments, calendar.",
    ),
    "venues": LazyCommand("cli.commands.venues", "Venues: paper, ccxt exchanges, Alpaca."),
    "alert": LazyCommand("cli.commands.alert", "Raise an operator's alert on the traders' desks."),
    "config": LazyCommand("cli.commands.config", "Show or check the configuration."),
    "jobs": LazyCommand("cli.commands.jobs", "Scheduled jobs (declared in the config)."),
    "keys": LazyCommand(
        "cli.commands.keys",
        "CURVE keys for hosts and clients, the allow-list, and the research cluster's TLS files.",
    ),
    "micro": LazyCommand("cli.commands.micro", "L2 book ladder and microstructure metrics."),
    "news": LazyCommand("cli.commands.news", "News headlines and sentiment."),
    "audit": LazyCommand(
        "cli.commands.audit",
        "Audits of live trading against research.",
    ),
    "ml": LazyCommand(
        "cli.commands.ml",
        "Machine learning: train models walk-forward, list, show, predict; patterns.",
    ),
}
"""Every top-level command: its module (imported when it runs) and its line in `--help`."""


class BifrostGroup(LazyGroup):
    """The `bifrost` command group: each subcommand is imported when it runs."""

    lazy = COMMANDS


app = typer.Typer(
    name="bifrost",
    help="Bifrost: a terminal-first trading workstation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=BifrostGroup,
)


@app.callback()
def main(
    ctx: typer.Context,
    home: Annotated[
        str | None, typer.Option("--home", help="Data dir (default: $BIFROST_HOME or XDG).")
    ] = None,
    config: Annotated[
        str | None,
        typer.Option("--config", help="Config file (default: $BIFROST_CONFIG or local.toml)."),
    ] = None,
) -> None:
    """Bifrost: a terminal-first trading workstation."""
    if home:  # the TUI's clients find the key store under the same data dir
        os.environ["BIFROST_HOME"] = home
    ctx.obj = CliState(home_option=home, config_option=config)


def run() -> None:
    """Entry point: usage errors exit 2 (Typer); Bifrost errors exit with their own code."""
    from bifrost.errors import BifrostError

    try:
        app()
    except BifrostError as exc:
        from cli.output import emit_json, say_error

        if "--json" in sys.argv:
            emit_json({"ok": False, "error": exc.to_wire()})
        say_error("[bold red]error:[/]", exc.message)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("BIFROST_DEBUG"):
            raise
        from cli.output import say_error

        say_error(
            "[bold red]internal error:[/]",
            f"{type(exc).__name__}: {exc} (set BIFROST_DEBUG=1 for the traceback)",
        )
        sys.exit(1)


if __name__ == "__main__":
    run()
