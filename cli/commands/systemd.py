"""`bifrost systemd render|install`: units for one host's services and research cluster."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.output import JSON_HELP, emit_json, say
from cli.state import state_of

app = typer.Typer(help="systemd units for a host's services.", no_args_is_help=True)
UNIT_DIR = Path("/etc/systemd/system")


def rendered(ctx: typer.Context, host: str | None) -> list:
    """The units of `host` (default: site.host) for the services this build has."""
    from bifrost.systemd import render_units
    from daemons import DAEMONS

    state = state_of(ctx)
    config = state.config
    executable = Path(sys.executable).parent / "bifrost"
    return render_units(
        config, host or config.site.host, executable, config.path, only=set(DAEMONS)
    )


@app.command("render")
def render(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Host of the config (default: site.host).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder to write the units to.")] = Path("units"),
    json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Write one unit per service of the host, plus bifrost.target and the host's Dask units.

    A host named by the research scheduler_host gets bifrost-dask-scheduler.service, one in
    worker_hosts bifrost-dask-worker.service; they are enabled by name, not by the target.
    """
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for unit in rendered(ctx, host):
        (out / unit.name).write_text(unit.text, encoding="utf-8")
        names.append(unit.name)
    warnings = hidden_paths(ctx)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    if json:
        emit_json({"out": str(out.resolve()), "units": names, "warnings": warnings})
    else:
        say(f"wrote {len(names)} units to {out}: {', '.join(names)}")


def hidden_paths(ctx: typer.Context) -> list[str]:
    """Warnings for an executable or config the units' sandbox would hide."""
    from bifrost.systemd import sandbox_warnings

    config = state_of(ctx).config
    return sandbox_warnings(Path(sys.executable).parent / "bifrost", config.path)


@app.command("install")
def install(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Host of the config (default: site.host).")
    ] = None,
) -> None:
    """Copy the units to /etc/systemd/system and reload systemd (run as root)."""
    import os
    import subprocess

    from bifrost.errors import Forbidden

    if os.geteuid() != 0:
        raise Forbidden("installing units needs root: run `sudo bifrost systemd install`")
    units = rendered(ctx, host)
    for warning in hidden_paths(ctx):
        typer.echo(f"warning: {warning}", err=True)
    for unit in units:
        (UNIT_DIR / unit.name).write_text(unit.text, encoding="utf-8")
    subprocess.run(["systemctl", "daemon-reload"], check=True)
    research = [u.name for u in units if u.name.startswith("bifrost-dask-")]
    then = f" and `systemctl enable --now {' '.join(research)}`" if research else ""
    say(
        f"installed {len(units)} units; start them with "
        f"`systemctl enable --now bifrost.target`{then}"
    )
