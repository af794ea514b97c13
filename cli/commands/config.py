"""`bifrost config show|check`: the resolved config, and a validity check of a file."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import state_of

app = typer.Typer(help="Show or check the configuration.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context, json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False
) -> None:
    """Print the resolved config: hosts and each service's endpoints."""
    config = state_of(ctx).config
    document = config.to_dict()
    if json:
        emit_json(document)
        return
    say(f"config: {config.path}  (this host: {config.site.host})")
    rows = [
        [name, s["host"], s["rpc"], s["pub"], s["http"]] for name, s in document["services"].items()
    ]
    print_table("services", ["service", "host", "rpc", "pub", "http"], rows)


@app.command("check")
def check(
    ctx: typer.Context,
    path: Annotated[
        str | None, typer.Argument(help="File to check (default: the active config).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Validate a config file; exits 1 naming the first problem."""
    from bifrost.config import load_config

    config = load_config(path or state_of(ctx).config_path)
    if json:
        emit_json(
            {
                "ok": True,
                "path": str(config.path),
                "services": len(config.services),
                "hosts": len(config.hosts),
                "jobs": len(config.jobs),
            }
        )
    else:
        say(
            f"[green]ok[/] {config.path}: {len(config.hosts)} hosts, "
            f"{len(config.services)} services, {len(config.jobs)} jobs"
        )
