"""`bifrost daemon run NAME` (one daemon in the foreground, as systemd runs it) and the
supervisor process that `bifrost up` launches."""

from __future__ import annotations

import functools
from typing import Annotated

import typer

from cli.state import state_of

app = typer.Typer(help="Run daemons in the foreground.", no_args_is_help=True)


@app.command("run")
def run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Service to run, e.g. data.")],
    after: Annotated[
        str | None,
        typer.Option(hidden=True, help="Set up once this service (started with it) is ready."),
    ] = None,
) -> None:
    """Run one service's daemon in the foreground until SIGTERM."""
    from daemons import build_daemon

    state = state_of(ctx)
    state.home.mkdir(parents=True, exist_ok=True)
    daemon = build_daemon(name, state.config, state.home)
    if after:  # the supervisor's first start: imported alongside, set up in turn
        from bifrost.stack import reports_ready
        from bifrost.supervisor import FIRST_START_WAIT_S, StackPaths, await_ready

        host = state.config.service(after).host
        with state.host_client(host, timeout_ms=300, retries=0) as client:
            ready = functools.partial(reports_ready, client)
            await_ready(StackPaths(state.home), after, ready, FIRST_START_WAIT_S)
    raise typer.Exit(daemon.run())


@app.command("supervise", hidden=True)
def supervise(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Host whose services to run.")] = None,
) -> None:
    """Supervise this host's services (launched by `bifrost up`)."""
    from bifrost.logs import JsonLogger
    from bifrost.supervisor import StackPaths, Supervisor, python_command
    from daemons import DAEMONS

    state = state_of(ctx)
    config = state.config
    host = host or config.site.host
    services = [s.name for s in config.services_on(host) if s.name in DAEMONS]
    log = JsonLogger("supervisor", host, config.site.log_level)
    child = python_command(*state.global_args(), "daemon", "run")
    supervisor = Supervisor(services, StackPaths(state.home), child, log)
    raise typer.Exit(supervisor.run())
