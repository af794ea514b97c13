"""Trading from the command line: `order buy|sell|cancel|replace`, `orders`, `fills`,
`positions`, `pnl`, and `trace ID`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bifrost.bus import methods
from bifrost.model.commands import CancelOrder, ReplaceOrder, SubmitOrder
from bifrost.model.instrument import Instrument
from bifrost.model.orders import OrderType
from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import CliState, state_of
from cli.trading_money import (
    InstrumentOf,
    fill_json,
    instruments_from,
    order_json,
    pnl_cells,
    position_cells,
    quantity_text,
)

app = typer.Typer(help="Enter, cancel and replace orders (paper broker).", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
PriceOption = Annotated[float | None, typer.Option(help="Limit price.")]
StopOption = Annotated[float | None, typer.Option(help="Stop price.")]
TifOption = Annotated[str, typer.Option(help="DAY, GTC, IOC or FOK.")]
IdOption = Annotated[
    str | None, typer.Option("--client-id", help="Your id for the order (retries are safe).")
]


def register(root: typer.Typer) -> None:
    """Mount `order` and the top-level views."""
    root.add_typer(app, name="order")
    root.command("orders")(orders)
    root.command("fills")(fills)
    root.command("positions")(positions)
    root.command("pnl")(pnl)
    root.command("trace")(trace)


def submit_command(
    side: str,
    symbol: str,
    quantity: float,
    limit: float | None,
    stop: float | None,
    tif: str,
    client_id: str | None,
    bracket: dict[str, float | None] | None = None,
) -> SubmitOrder:
    """The order as typed on the command line; BadRequest names a bad argument before
    anything is sent. Without --client-id the id is minted here, so a retry is safe."""
    kind = OrderType.for_prices(limit, stop)
    fields: dict[str, Any] = {"type": kind, "limit_price": limit, "stop_price": stop, "tif": tif}
    if client_id is not None:
        fields["client_order_id"] = client_id
    return SubmitOrder.new(symbol, side, quantity, **fields, **(bracket or {}))


def enter(state: CliState, order: SubmitOrder) -> dict[str, Any]:
    """Send an order through risk (which forwards it to execution)."""
    with state.client() as client:
        client.require("risk")
        return dict(client.call("risk", methods.ORDER_SUBMIT, order.to_wire(), idempotent=True))


def instruments_of(state: CliState) -> InstrumentOf:
    """The stored instruments (through the data service, else its file): ticks, currencies."""
    from bifrost.market.gateway import DataGateway

    with state.client() as client:
        return instruments_from(DataGateway(client, state.home).instruments())


def show_order(
    order: dict[str, Any], as_json: bool, instrument_of: InstrumentOf = Instrument.default_for
) -> None:
    """One order, as JSON (money as exact text) or a line."""
    row = order_json(order, instrument_of(order["symbol"]))
    if as_json:
        emit_json(row)
        return
    price = f" @ {row['avg_price']}" if order["filled"] else ""
    say(
        f"[bold]{order['client_order_id']}[/] {order['side']} {quantity_text(order['quantity'])} "
        f"{order['symbol']} {order['type']}: [green]{order['status']}[/] "
        f"filled {quantity_text(order['filled'])}{price} {order.get('reason') or ''}"
    )


def order_command(side: str) -> Any:
    """The `order buy` / `order sell` command (identical but for the side)."""

    def command(
        ctx: typer.Context,
        symbol: Annotated[str, typer.Argument(help="Symbol.")],
        quantity: Annotated[float, typer.Argument(help="Quantity.")],
        limit: PriceOption = None,
        stop: StopOption = None,
        tif: TifOption = "GTC",
        client_id: IdOption = None,
        take_profit: Annotated[
            float | None, typer.Option(help="Bracket: take-profit limit (with --stop-loss).")
        ] = None,
        stop_loss: Annotated[
            float | None, typer.Option(help="Bracket: stop-loss stop (with --take-profit).")
        ] = None,
        json: JsonOption = False,
    ) -> None:
        state = state_of(ctx)
        bracket = {"take_profit": take_profit, "stop_loss": stop_loss}
        order = submit_command(side, symbol, quantity, limit, stop, tif, client_id, bracket)
        instrument_of = instruments_of(state)  # before entering: printing then cannot fail
        show_order(enter(state, order), json, instrument_of)

    command.__doc__ = (
        f"{side.capitalize()} (market, or limit/stop with --limit/--stop). "
        "Exit 4 when risk rejects it."
    )
    return command


app.command("buy")(order_command("BUY"))
app.command("sell")(order_command("SELL"))


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    client_order_id: Annotated[str, typer.Argument(help="The order's client id.")],
    json: JsonOption = False,
) -> None:
    """Cancel an open order (through risk, which allows a cancel in every state)."""
    command = CancelOrder(client_order_id)
    instrument_of = instruments_of(state_of(ctx))
    with state_of(ctx).client() as client:
        client.require("risk")
        order = client.call("risk", methods.ORDER_CANCEL, command.to_wire(), idempotent=True)
    show_order(order, json, instrument_of)


@app.command("replace")
def replace(
    ctx: typer.Context,
    client_order_id: Annotated[str, typer.Argument(help="The order's client id.")],
    quantity: Annotated[
        float | None, typer.Option("--quantity", "--qty", help="New quantity.")
    ] = None,
    limit: PriceOption = None,
    stop: StopOption = None,
    new_client_id: Annotated[
        str | None,
        typer.Option("--new-client-id", help="Id of the order that replaces it (default: new)."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Cancel an open order and enter it again with changes, under a new client id.

    Risk and compliance check the order as it would be after the change, like a new
    order; exit 4 when they refuse it (the original order then stays as it was)."""
    changes: dict[str, Any] = {"quantity": quantity, "limit_price": limit, "stop_price": stop}
    if new_client_id is not None:
        changes["new_client_order_id"] = new_client_id
    command = ReplaceOrder.new(client_order_id, **changes)
    instrument_of = instruments_of(state_of(ctx))
    with state_of(ctx).client() as client:
        client.require("risk")
        order = client.call("risk", methods.ORDER_REPLACE, command.to_wire())
    show_order(order, json, instrument_of)


def orders(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only open orders.")] = False,
    limit: Annotated[int, typer.Option(help="How many.")] = 50,
    json: JsonOption = False,
) -> None:
    """Orders, newest first (prices as exact decimal text in JSON)."""
    with state_of(ctx).client() as client:
        client.require("execution")
        rows = client.call(
            "execution", methods.ORDERS_LIST, {"open_only": open_only, "limit": limit}
        )
    instrument_of = instruments_of(state_of(ctx))
    if json:
        orders = [order_json(o, instrument_of(o["symbol"])) for o in rows["orders"]]
        emit_json({**rows, "orders": orders})
    else:
        show_orders(rows["orders"], instrument_of)


def show_orders(
    rows: list[dict[str, Any]], instrument_of: InstrumentOf = Instrument.default_for
) -> None:
    """Orders as a table."""
    columns = [
        "id",
        "symbol",
        "side",
        "qty",
        "type",
        "limit",
        "stop",
        "status",
        "filled",
        "avg price",
    ]
    body = []
    for o in rows:
        shown = order_json(o, instrument_of(o["symbol"]))
        body.append(
            [
                o["client_order_id"],
                o["symbol"],
                o["side"],
                quantity_text(o["quantity"]),
                o["type"],
                shown["limit_price"] or "",
                shown["stop_price"] or "",
                o["status"],
                quantity_text(o["filled"]),
                shown["avg_price"],
            ]
        )
    print_table("orders", columns, body)


def fills(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many.")] = 50,
    json: JsonOption = False,
) -> None:
    """Fills, newest first (price and commission as exact decimal text in JSON)."""
    with state_of(ctx).client() as client:
        client.require("execution")
        rows = client.call("execution", methods.FILLS_LIST, {"limit": limit})
    instrument_of = instruments_of(state_of(ctx))
    if json:
        shown = [fill_json(f, instrument_of(f["symbol"])) for f in rows["fills"]]
        emit_json({**rows, "fills": shown})
    else:
        show_fills(rows["fills"], instrument_of)


def show_fills(
    rows: list[dict[str, Any]], instrument_of: InstrumentOf = Instrument.default_for
) -> None:
    """Fills as a table."""
    from bifrost.clock import format_instant

    body = []
    for f in rows:
        shown = fill_json(f, instrument_of(f["symbol"]))
        body.append(
            [
                format_instant(f["ts_ns"]),
                f["client_order_id"],
                f["symbol"],
                f["side"],
                quantity_text(f["quantity"]),
                shown["price"],
                shown["commission"],
            ]
        )
    print_table("fills", ["time", "order", "symbol", "side", "qty", "price", "commission"], body)


def positions(ctx: typer.Context, json: JsonOption = False) -> None:
    """Positions with average cost, mark and P&L (money as exact decimal text in JSON)."""
    with state_of(ctx).client() as client:
        client.require("portfolio")
        reply = client.call("portfolio", methods.PORTFOLIO_POSITIONS, {})
    if json:
        emit_json(reply)
    else:
        show_positions(reply)


def show_positions(reply: dict[str, Any]) -> None:
    """Positions as a table: prices with the instrument's decimals, amounts the currency's."""
    body = [position_cells(p) for p in reply["positions"]]
    columns = ["symbol", "qty", "avg cost", "mark", "value", "unrealized", "realized"]
    print_table(f"positions ({reply['account']})", columns, body)


def pnl(ctx: typer.Context, json: JsonOption = False) -> None:
    """Account equity, cash, realized, unrealized and day P&L (exact decimals)."""
    with state_of(ctx).client() as client:
        client.require("portfolio")
        reply = client.call("portfolio", methods.PORTFOLIO_PNL, {})
    if json:
        emit_json(reply)
    else:
        show_pnl(reply)


def show_pnl(reply: dict[str, Any]) -> None:
    """Account P&L as a table, amounts with their currency's decimals."""
    rows = pnl_cells(reply)
    print_table(f"P&L ({reply['account']}, {reply['base_currency']})", ["", "value"], rows)


def trace(
    ctx: typer.Context,
    ident: Annotated[str, typer.Argument(help="A client order id or a correlation id.")],
    json: JsonOption = False,
) -> None:
    """Every hop of an order across services (journal and logs), in time order."""
    from bifrost.trace import trace_hops

    state = state_of(ctx)
    with state.client() as client:
        hops = trace_hops(client, state.home, ident)
    if json:
        emit_json({"id": ident, "hops": hops})
        return
    from bifrost.clock import format_instant

    first = hops[0]["ts_ns"] if hops else 0
    print_table(
        f"trace {ident}",
        ["time", "+ms", "service", "event", "detail"],
        [
            [
                format_instant(h["ts_ns"]),
                f"{(h['ts_ns'] - first) / 1e6:.3f}",
                h["service"],
                h["event"],
                h["detail"],
            ]
            for h in hops
        ],
    )
