"""The `bifrost` command: global options, the mounted command groups and exit codes.

Heavy modules are imported inside command bodies so `bifrost --help` stays instant.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from cli.commands import analytics as analytics_cmd
from cli.commands import backtest as backtest_cmd
from cli.commands import compliance as compliance_cmd
from cli.commands import config as config_cmd
from cli.commands import daemon as daemon_cmd
from cli.commands import data as data_cmd
from cli.commands import instruments as instruments_cmd
from cli.commands import jobs as jobs_cmd
from cli.commands import keys as keys_cmd
from cli.commands import micro as micro_cmd
from cli.commands import ml as ml_cmd
from cli.commands import news as news_cmd
from cli.commands import risk as risk_cmd
from cli.commands import sql as sql_cmd
from cli.commands import stack as stack_cmd
from cli.commands import strategy as strategy_cmd
from cli.commands import systemd as systemd_cmd
from cli.commands import trading as trading_cmd
from cli.commands import tui as tui_cmd
from cli.commands import venues as venues_cmd
from cli.commands import watch as watch_cmd
from cli.state import CliState

app = typer.Typer(
    name="bifrost",
    help="Bifrost: a terminal-first trading workstation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


stack_cmd.register(app)
watch_cmd.register(app)
trading_cmd.register(app)
tui_cmd.register(app)
sql_cmd.register(app)
app.add_typer(daemon_cmd.app, name="daemon")
app.add_typer(data_cmd.app, name="data")
app.add_typer(risk_cmd.app, name="risk")
app.add_typer(analytics_cmd.app, name="analytics")
app.add_typer(compliance_cmd.app, name="compliance")
app.add_typer(strategy_cmd.app, name="strategy")
app.add_typer(systemd_cmd.app, name="systemd")
app.add_typer(backtest_cmd.app, name="backtest")
app.add_typer(instruments_cmd.app, name="instruments")
app.add_typer(venues_cmd.app, name="venues")
app.add_typer(config_cmd.app, name="config")
app.add_typer(jobs_cmd.app, name="jobs")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(micro_cmd.app, name="micro")
app.add_typer(news_cmd.app, name="news")
app.add_typer(ml_cmd.app, name="ml")


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
