"""`bifrost compliance verify|report|rules|set`: the audit trail and the rules.

`verify`, `report` and `rules` go through the compliance daemon when it runs and
otherwise open compliance.duckdb read-only; `set` changes a rule in the running
daemon (admin), which keeps and audits the change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bifrost.bus import methods
from cli.output import JSON_HELP, emit_json, print_table, say, say_error
from cli.state import CliState, state_of

if TYPE_CHECKING:
    import duckdb

app = typer.Typer(
    help="Compliance rules, the audit trail and its verification.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def ask(
    state: CliState,
    method: str,
    params: dict[str, Any],
    offline: Callable[[duckdb.DuckDBPyConnection], Any],
) -> Any:
    """The daemon's answer when it runs; else `offline` on the store opened read-only (an
    empty one while the service has never run here)."""
    with state.client(timeout_ms=5000) as client:
        if client.answers("compliance"):
            return client.call("compliance", method, params)
    from bifrost.store.database import open_for_reading
    from bifrost.store.schema import COMPLIANCE

    db = open_for_reading(state.home / "compliance.duckdb", COMPLIANCE)
    try:
        return offline(db)
    finally:
        db.close()


@app.command("verify")
def verify(ctx: typer.Context, json: JsonOption = False) -> None:
    """Re-walk the audit trail's hash chain; exit 1 naming the first broken record."""
    from bifrost.compliance import audit

    reply = ask(state_of(ctx), methods.COMPLIANCE_VERIFY, {}, audit.verify)
    if json:
        emit_json(reply)
    else:
        show_verify(reply)
    if not reply["ok"]:
        raise typer.Exit(1)


def show_verify(reply: dict[str, Any]) -> None:
    """The chain's state as one line."""
    if reply["ok"]:
        say(f"audit trail [green]OK[/]: {reply['records']} records, head {reply['head'][:16]}…")
    else:
        broken = reply["broken"]
        say(
            f"audit trail [bold red]BROKEN[/] at record {broken['record_id']} "
            f"({reply['records']} records hold before it): {broken['problem']}"
        )


@app.command("report")
def report(
    ctx: typer.Context,
    date: Annotated[str | None, typer.Option(help="UTC day, YYYY-MM-DD (default today).")] = None,
    json: JsonOption = False,
) -> None:
    """One day's audited activity and rule hits."""
    from bifrost.compliance.report import day_report, parse_day
    from bifrost.errors import BadRequest

    try:
        day = parse_day(date) if date else dt.datetime.now(dt.UTC).date()
    except BadRequest as exc:
        raise typer.BadParameter(exc.message, param_hint="--date") from None
    reply = ask(
        state_of(ctx),
        methods.COMPLIANCE_REPORT,
        {"date": day.isoformat()},
        lambda db: day_report(db, day),
    )
    if json:
        emit_json(reply)
        return
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(reply["counts"].items()))
    say(f"compliance activity on {reply['date']}: {counts or 'nothing recorded'}")
    show_hits(reply["hits"])


def show_hits(hits: list[dict[str, Any]]) -> None:
    """Rule hits as a table."""
    rows = [
        [
            h["record_id"],
            dt.datetime.fromtimestamp(h["ts_ns"] / 1e9, dt.UTC).strftime("%H:%M:%S"),
            h["outcome"],
            h["rule"],
            h["symbol"],
            h["side"],
            h["quantity"],
            h["message"],
        ]
        for h in hits
    ]
    print_table(
        "rule hits", ["record", "time", "outcome", "rule", "symbol", "side", "qty", "why"], rows
    )


@app.command("rules")
def rules(ctx: typer.Context, json: JsonOption = False) -> None:
    """The rules in force (and which an admin changed from the config)."""
    from bifrost.compliance.rules import describe, load_overrides

    state = state_of(ctx)
    reply = ask(
        state,
        methods.COMPLIANCE_RULES,
        {},
        lambda db: describe(state.config.compliance, load_overrides(db)),
    )
    if json:
        emit_json(reply)
    else:
        show_rules(reply)


def show_rules(reply: dict[str, Any]) -> None:
    """Rules as a table; changed ones marked."""
    rows = [
        [
            name,
            (", ".join(value) or "-") if isinstance(value, list) else value,
            "changed" if name in reply["changed"] else "config",
        ]
        for name, value in reply["rules"].items()
    ]
    print_table("compliance rules", ["rule", "value", "from"], rows)


@app.command("set")
def set_rule(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(help="Rule name (see `bifrost compliance rules`).")],
    value: Annotated[str, typer.Argument(help="New value; lists as A,B,C; true/false.")],
    json: JsonOption = False,
) -> None:
    """Change one rule in the running compliance service (admin); it is kept and audited."""
    with state_of(ctx).client() as client:
        client.require("compliance")
        reply = client.call(
            "compliance", methods.COMPLIANCE_SET_RULE, {"rule": rule, "value": value}
        )
    if json:
        emit_json(reply)
    else:
        say(f"{rule} = {reply['rules'][rule]}")


def show_compliance(state: CliState) -> None:
    """Demo: one order compliance rejects (with its rule), the day's hits, then `verify`."""
    from bifrost.errors import Rejected
    from bifrost.model.commands import SubmitOrder
    from cli.commands.trading import enter

    restricted = state.config.compliance.restricted
    if not restricted or "compliance" not in state.config.services:
        return
    symbol = restricted[0]
    say(f"[bold]compliance[/]: {symbol} is restricted, so an order for it stops after risk")
    try:
        enter(state, SubmitOrder.new(symbol, "BUY", 1))
    except Rejected as exc:
        say_error("[red]REJECTED by compliance[/]", f"({exc.details.get('rule')}): {exc.message}")
    with state.client() as client:
        today = dt.datetime.now(dt.UTC).date().isoformat()
        show_hits(
            client.call("compliance", methods.COMPLIANCE_REPORT, {"date": today})["hits"][-5:]
        )
        show_verify(client.call("compliance", methods.COMPLIANCE_VERIFY, {}))
