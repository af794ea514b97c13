"""`bifrost jobs list|run`: the scheduled jobs of the config and their last runs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bifrost.bus import methods
from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import state_of

app = typer.Typer(help="Scheduled jobs (declared in the config).", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


@app.command("list")
def list_jobs(ctx: typer.Context, json: JsonOption = False) -> None:
    """List every configured job with its schedule; run counts come from running services."""
    from bifrost.errors import BifrostError

    state = state_of(ctx)
    config = state.config
    jobs: list[dict[str, Any]] = []
    with state.client(timeout_ms=500, retries=0) as client:
        for service in dict.fromkeys(job.service for job in config.jobs.values()):
            try:
                live = client.call(service, methods.JOBS_LIST)
            except BifrostError:
                live = [
                    {
                        "name": j.name,
                        "service": j.service,
                        "task": j.task,
                        "every_seconds": j.every_seconds,
                        "cron": j.cron,
                        "next_run": None,
                        "last_run": None,
                        "runs": None,
                    }
                    for j in config.jobs_of(service)
                ]
            jobs.extend(live)
    if json:
        emit_json({"jobs": jobs})
        return
    rows = [
        [
            j["name"],
            j["service"],
            j["task"],
            f"every {j['every_seconds']:g}s" if j["every_seconds"] else f"cron {j['cron']}",
            j["next_run"] or "-",
            j["last_run"] or "-",
            "-" if j["runs"] is None else j["runs"],
        ]
        for j in jobs
    ]
    print_table("jobs", ["job", "service", "task", "schedule", "next", "last", "runs"], rows)


@app.command("run")
def run_job(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Job name from the config.")],
    json: JsonOption = False,
) -> None:
    """Run a job now, inside its service."""
    from bifrost.errors import NotFound

    state = state_of(ctx)
    job = state.config.jobs.get(name)
    if job is None:
        raise NotFound(
            f"no job '{name}' in {state.config.path} "
            f"(jobs: {', '.join(state.config.jobs) or 'none'})"
        )
    with state.client() as client:
        client.require(job.service)
        result = client.call(job.service, methods.JOBS_RUN, {"name": name})
    if json:
        emit_json(result)
    else:
        say(f"[green]ran[/] {name}: {result['result']}")
