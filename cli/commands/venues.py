"""`bifrost venues list|status|login|reconcile`: the venues orders go to and data comes from."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from cli.output import JSON_HELP, emit_json, literal, print_table, say
from cli.state import CliState, state_of

app = typer.Typer(help="Venues: paper, ccxt exchanges, Alpaca.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
STATE_COLOURS = {"up": "green", "down": "red", "connecting": "yellow"}


@app.command("list")
def list_(ctx: typer.Context, json: JsonOption = False) -> None:
    """The configured venues: kind, sandbox, symbols, and whether keys are stored."""
    from bifrost.venues.credentials import CredentialStore

    state = state_of(ctx)
    config = state.config
    store = CredentialStore(config.keys_dir(state.home))
    rows: list[dict[str, Any]] = [
        {
            "venue": name,
            "kind": venue.kind,
            "exchange": venue.exchange,
            "sandbox": venue.sandbox,
            "symbols": list(venue.symbols),
            "keys": venue.kind == "paper" or store.has(name),
            "feed_source": name in config.feed.sources,
        }
        for name, venue in config.venues.items()
    ]
    if json:
        emit_json({"venues": rows})
        return
    print_table(
        "venues",
        ["venue", "kind", "sandbox", "symbols", "keys", "live data"],
        [
            [
                r["venue"],
                r["kind"] + (f" ({r['exchange']})" if r["exchange"] else ""),
                "yes" if r["sandbox"] else "[red]LIVE[/]",
                ", ".join(r["symbols"]) or "-",
                "stored" if r["keys"] else "[yellow]none[/] (venues login)",
                "yes" if r["feed_source"] else "-",
            ]
            for r in rows
        ],
    )


@app.command("status")
def status(ctx: typer.Context, json: JsonOption = False) -> None:
    """Each venue's connection: from the execution service when it runs, else by asking
    each venue once from here."""
    state = state_of(ctx)
    document = venue_status(state)
    if json:
        emit_json(document)
        return
    rows = [
        [
            name,
            v["kind"],
            f"[{STATE_COLOURS.get(v['state'], 'yellow')}]{v['state']}[/]",
            literal(v.get("reason") or "-"),
            v.get("open_orders", "-"),
            v.get("rate_limited", "-"),
            v.get("differences", "-"),
        ]
        for name, v in document["venues"].items()
    ]
    print_table(
        f"venues (via {document['via']})",
        ["venue", "kind", "state", "reason", "open orders", "rate limited", "differences"],
        rows,
    )


def venue_status(state: CliState) -> dict[str, Any]:
    """`venues status` as a document: the execution service's view, else a probe."""
    from bifrost.bus import methods

    with state.client(timeout_ms=3000, retries=0) as client:
        if client.answers("execution"):
            reply = client.call("execution", methods.VENUES_STATUS, {})
            return {"via": "daemon", "venues": reply["venues"]}
    return {"via": "probe", "venues": probe_venues(state)}


def probe_venues(state: CliState) -> dict[str, Any]:
    """Ask each real venue for its balances once, from this process."""
    from bifrost.errors import BifrostError
    from bifrost.venues.registry import open_venue

    config = state.config
    result: dict[str, Any] = {}
    for name, venue_config in config.venues.items():
        if venue_config.kind == "paper":
            result[name] = {"venue": name, "kind": "paper", "state": "up", "reason": ""}
            continue
        entry: dict[str, Any] = {"venue": name, "kind": venue_config.kind}
        try:
            venue = open_venue(venue_config, config.keys_dir(state.home))
            try:
                balances = venue.balances()
            finally:
                venue.close()
            entry.update(
                state="up",
                reason="",
                balances=[{"asset": b.asset, "total": str(b.total)} for b in balances],
            )
        except BifrostError as exc:
            entry.update(state="down", reason=exc.message)
        result[name] = entry
    return result


@app.command("login")
def login(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The venue: NAME of its venues.NAME table.")],
    stdin: Annotated[
        bool,
        typer.Option(
            "--stdin", help="Read the API key, the secret (and a passphrase) as lines of stdin."
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Store a venue's API key and secret in the key store (mode 0600; never printed)."""
    from bifrost.venues.credentials import Credentials, CredentialStore

    state = state_of(ctx)
    venue = state.config.venue(name)
    if venue.kind == "paper":
        raise typer.BadParameter(f"{name} is the paper venue: it needs no keys", param_hint="NAME")
    if stdin:
        lines = [line.strip() for line in sys.stdin.read().splitlines()]
        if len(lines) < 2 or not lines[0] or not lines[1]:
            raise typer.BadParameter("stdin must hold the API key and the secret on two lines")
        api_key, secret, passphrase = lines[0], lines[1], lines[2] if len(lines) > 2 else ""
    else:
        api_key = typer.prompt("API key", hide_input=True)
        secret = typer.prompt("API secret", hide_input=True)
        passphrase = ""
    path = CredentialStore(state.config.keys_dir(state.home)).save(
        name, Credentials(api_key, secret, passphrase)
    )
    if json:
        emit_json({"venue": name, "file": str(path)})
        return
    where = "sandbox" if venue.sandbox else "LIVE"
    say(f"stored the keys of [bold]{literal(name)}[/] ({where}) in {literal(path)} (mode 0600)")
    say("restart execution (and data, if it streams from this venue) to use them")


@app.command("reconcile")
def reconcile(ctx: typer.Context, json: JsonOption = False) -> None:
    """Reconcile every real venue now; differences come as alert.reconcile events."""
    from bifrost.bus import methods

    with state_of(ctx).client() as client:
        reply = client.call("execution", methods.VENUES_RECONCILE, {}, idempotent=False)
    if json:
        emit_json(reply)
        return
    say(f"reconciling: {', '.join(reply['venues']) or 'no real venue configured'}")
