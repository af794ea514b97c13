"""`bifrost alert raise`: an operator's alert on the bus, shown on every trader's desk.

The alert goes to the first of the services whose alerts the TUI follows (risk, then
compliance) that answers; that service publishes it on its alert topic and logs it.
systemd's `bifrost-failed@.service` runs it when a service unit gives up restarting.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bifrost.bus import methods
from cli.output import JSON_HELP, emit_json, say
from cli.state import state_of

app = typer.Typer(help="Raise an operator's alert on the traders' desks.", no_args_is_help=True)
PUBLISHERS = ("risk", "compliance")
"""Services whose alerts every desk follows, tried in this order."""


@app.command("raise")
def raise_alert(
    ctx: typer.Context,
    message: Annotated[str, typer.Argument(help="What happened, in a line.")],
    source: Annotated[str, typer.Option(help="Who raises it (a unit, a host, a script).")] = "ops",
    json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Publish an alert through risk (or compliance when risk is down); exit 1 when
    neither answers."""
    from bifrost.errors import BifrostError, Unavailable

    state = state_of(ctx)
    tried: list[str] = []
    with state.client(timeout_ms=2000, retries=1) as client:
        for service in PUBLISHERS:
            if service not in state.config.services:
                continue
            try:
                reply = client.call(
                    service, methods.ALERT_RAISE, {"source": source, "message": message}
                )
            except BifrostError as exc:
                tried.append(f"{service}: {exc.message}")
                continue
            if json:
                emit_json({"service": service, **reply})
            else:
                say(f"alert raised through {service} on {reply['published']}")
            return
    reasons = "; ".join(tried) or "neither risk nor compliance is in the config"
    raise Unavailable(f"no service took the alert ({reasons})")
