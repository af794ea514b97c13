"""`bifrost up | down | status | demo`: start, stop and inspect this host's stack."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from bifrost.bus import methods
from cli.commands.analytics import show_analytics
from cli.commands.compliance import show_compliance
from cli.commands.micro import show_micro
from cli.commands.ml import show_ml
from cli.commands.news import show_news
from cli.output import JSON_HELP, emit_json, literal, print_table, say, say_error
from cli.state import CliState, state_of

if TYPE_CHECKING:
    from bifrost.client import BifrostClient

HostOption = Annotated[
    str | None, typer.Option("--host", help="Host of the config to act for (default: site.host).")
]
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def register(app: typer.Typer) -> None:
    """Mount the stack commands at the top level of `app`."""
    app.command("up")(up)
    app.command("down")(down)
    app.command("status")(status)
    app.command("demo")(demo)


def start_stack(state: CliState, host: str | None, timeout: float) -> dict[str, Any]:
    """Launch the supervisor unless one runs, then wait for every service to be ready."""
    from bifrost.errors import Unavailable
    from bifrost.stack import wait_until_ready
    from bifrost.supervisor import (
        StackPaths,
        launch_supervisor,
        python_command,
        read_pid,
        stop_supervisor,
    )
    from daemons import DAEMONS

    config = state.config
    host = host or config.site.host
    config.services_on(host)  # fails early on an unknown host
    paths = StackPaths(state.home)
    running = read_pid(paths.supervisor_pid)
    supervisor = running
    if supervisor is None:
        command = python_command(*state.global_args(), "daemon", "supervise", "--host", host)
        supervisor = launch_supervisor(paths, command)
    with state.host_client(host, timeout_ms=500, retries=0) as client:
        try:
            rows = wait_until_ready(config, client, paths, host, DAEMONS, timeout, supervisor)
        except Unavailable:
            if running is None:  # ours, and it cannot come up: leave no process behind
                stop_supervisor(paths)
            raise
    return {
        "started": running is None,
        "supervisor_pid": supervisor,
        "host": host,
        "home": str(state.home),
        "services": rows,
    }


def stack_status(state: CliState, host: str | None) -> dict[str, Any]:
    """The status document of `bifrost status --json`."""
    from bifrost.stack import service_rows
    from bifrost.supervisor import StackPaths, read_pid
    from daemons import DAEMONS

    config = state.config
    host = host or config.site.host
    paths = StackPaths(state.home)
    with state.host_client(host, timeout_ms=500, retries=0) as client:
        rows = service_rows(config, client, paths, host, DAEMONS)
        venues = venue_states(client) if len(config.venues) > 1 else {}
    return {
        "host": host,
        "home": str(state.home),
        "supervisor_pid": read_pid(paths.supervisor_pid),
        "services": rows,
        "venues": venues,
    }


def venue_states(client: BifrostClient) -> dict[str, Any]:
    """Each venue's state as execution sees it (empty when execution does not answer)."""
    from bifrost.errors import BifrostError

    try:
        health = client.health("execution", timeout_ms=500)
    except BifrostError:
        return {}
    return dict(health.get("details", {}).get("venues", {}))


def all_hosts_status(state: CliState) -> dict[str, Any]:
    """The status document of `bifrost status --all-hosts`."""
    from bifrost.stack import all_host_rows
    from daemons import DAEMONS

    with state.client(timeout_ms=500, retries=0) as client:
        rows = all_host_rows(state.config, client, DAEMONS)
    return {"host": "all", "home": str(state.home), "supervisor_pid": None, "services": rows}


def show_status(document: dict[str, Any]) -> None:
    """Print a status document as a table."""
    colours = {"ready": "green", "down": "red", "not built": "dim"}
    rows = [
        [
            r["service"],
            r["pid"] or "-",
            f"[{colours.get(r['state'], 'yellow')}]{r['state']}[/]",
            "-" if r["uptime_s"] is None else f"{r['uptime_s']:.1f}s",
            "-" if r["restarts"] is None else r["restarts"],
            r["rpc"],
        ]
        for r in document["services"]
    ]
    title = f"host {document['host']}  ·  home {document['home']}"
    print_table(title, ["service", "pid", "state", "uptime", "restarts", "endpoint"], rows)
    venues = document.get("venues") or {}
    if venues:
        venue_colours = {"up": "green", "down": "red"}
        print_table(
            "venues",
            ["venue", "state", "reason"],
            [
                [
                    name,
                    f"[{venue_colours.get(v['state'], 'yellow')}]{v['state']}[/]",
                    literal(v.get("reason") or "-"),
                ]
                for name, v in venues.items()
            ],
        )


def up(
    ctx: typer.Context,
    host: HostOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 30.0,
    json: JsonOption = False,
) -> None:
    """Start this host's services (supervised) and wait until each is ready."""
    document = start_stack(state_of(ctx), host, timeout)
    if json:
        emit_json(document)
        return
    verb = "started" if document["started"] else "already running"
    say(f"[green]{verb}[/] (supervisor pid {document['supervisor_pid']}); stop with `bifrost down`")
    show_status(document)


def down(ctx: typer.Context, json: JsonOption = False) -> None:
    """Stop this host's services (SIGTERM, wait) and the supervisor."""
    from bifrost.supervisor import StackPaths, stop_supervisor

    stopped = stop_supervisor(StackPaths(state_of(ctx).home))
    if json:
        emit_json({"stopped": stopped})
    else:
        say("[green]stopped[/]" if stopped else "nothing was running")


def status(
    ctx: typer.Context,
    host: HostOption = None,
    all_hosts: Annotated[
        bool, typer.Option("--all-hosts", help="Every host's services, from their health.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Show each service of this host: pid, state, uptime, restarts, endpoint."""
    state = state_of(ctx)
    document = all_hosts_status(state) if all_hosts else stack_status(state, host)
    if json:
        emit_json(document)
    else:
        show_status(document)


def demo(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Option(help="How long to show live quotes.")] = 8.0,
) -> None:
    """Start the stack, show its status and a burst of live quotes, and leave it running."""
    from cli.commands.watch import watch_quotes

    state = state_of(ctx)
    say("[bold]Bifrost demo[/]: starting the local stack (synthetic feed, loopback only)")
    show_history(state)  # first: the feed starts each symbol from its last stored close
    document = start_stack(state, None, timeout=60.0)
    show_status(document)
    show_paper_trading(state)
    show_analytics(state)
    show_ml(state)
    show_compliance(state)
    show_news(state)
    show_micro(state)
    symbols = list(state.config.feed.symbols)
    say(f"live quotes for {', '.join(symbols)} ({seconds:.0f} s):")
    watch_quotes(state, symbols, as_json=False, count=None, seconds=seconds)
    say(
        "The stack is still running. Try `bifrost status`, `bifrost watch AAPL`, "
        "`bifrost data list`, `bifrost data chart SPY`, `bifrost order buy MSFT 10`, "
        "`bifrost positions`, `bifrost backtest run sma_cross SPY`; "
        "stop it with `bifrost down`."
    )


def show_history(state: CliState) -> None:
    """Load the built-in daily sample through the data daemon (once) and list the store."""
    from bifrost.market.gateway import DataGateway
    from bifrost.market.sample import SAMPLE_SYMBOLS, write_sample
    from cli.commands.data import show_import_report, show_series

    with state.client(timeout_ms=5000) as client:
        data = DataGateway(client, state.home)
        daily = {s["symbol"] for s in data.series() if s["timeframe"] == "1d"}
        if not set(SAMPLE_SYMBOLS) <= daily:
            say("importing ten years of sample daily bars (seeded GBM on XNYS sessions):")
            show_import_report(data.import_files(write_sample(state.home / "sample")), data.via)
        show_series(data.series())


def resting_bid(state: CliState, symbol: str) -> float:
    """A limit 3 % under `symbol`'s live bid (inside the 5 % collar): an order that rests."""
    from bifrost.bus import topics
    from bifrost.errors import NotFound
    from bifrost.micro.follower import snapshot_entry

    with state.client() as client:
        topic = topics.quote(symbol)
        entry = snapshot_entry(client.call("data", methods.SNAPSHOT, {"prefix": topic}), topic)
    if entry is None:
        raise NotFound(f"the data service has no quote for {symbol} yet")
    return round(float(entry["body"]["bid"]) * 0.97, 2)


def show_paper_trading(state: CliState) -> None:
    """Place a few paper orders through risk, show one rejection, then the book."""
    import time

    from bifrost.errors import Rejected
    from bifrost.model.commands import SubmitOrder
    from cli.commands.trading import (
        enter,
        show_fills,
        show_order,
        show_orders,
        show_pnl,
        show_positions,
    )

    say("[bold]paper trading[/]: orders go through risk to execution, fills to the portfolio")
    for order in (
        SubmitOrder.new("AAPL", "BUY", 100),
        SubmitOrder.new("MSFT", "BUY", 50),
        SubmitOrder.new("AAPL", "SELL", 40),
        SubmitOrder.new("NVDA", "BUY", 100, type="LIMIT", limit_price=resting_bid(state, "NVDA")),
    ):
        show_order(enter(state, order), False)
    try:
        enter(state, SubmitOrder.new("SPY", "BUY", 1_000_000))
    except Rejected as exc:
        say_error("[red]rejected by risk[/]", f"({exc.details.get('rule')}): {exc.message}")
    time.sleep(0.5)  # let the portfolio book the fills and mark them
    with state.client() as client:
        show_orders(client.call("execution", methods.ORDERS_LIST, {"limit": 10})["orders"])
        show_fills(client.call("execution", methods.FILLS_LIST, {"limit": 10})["fills"])
        show_positions(client.call("portfolio", methods.PORTFOLIO_POSITIONS, {}))
        show_pnl(client.call("portfolio", methods.PORTFOLIO_PNL, {}))
