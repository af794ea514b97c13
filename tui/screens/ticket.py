"""The order ticket: side, quantity, type, prices, TIF; a risk preview; confirm; result."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from bifrost.bus import methods
from bifrost.errors import BadRequest, BifrostError, Conflict, Rejected
from bifrost.model.commands import CancelOrder, SubmitOrder, new_client_order_id
from bifrost.model.commands import ReplaceOrder as ReplaceCommand
from bifrost.model.market import Side
from bifrost.model.money import average_text, decimal_from_wire, price_text, tick_places
from bifrost.risk.engine import RiskEngine
from tui.app import BifrostApp, app_of
from tui.desk import Desk


class OrderTicket(ModalScreen[None]):
    """Enter an order; Preview checks it against risk's limits, Send sends it through risk.

    The ticket holds one client order id until a send succeeds: a resend after a timeout,
    or a second ctrl+s, carries the same id, so execution enters the order once.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("ctrl+s", "send", "Send"),
    ]

    def __init__(self, side: str, symbol: str) -> None:
        super().__init__()
        self.side = side
        self.symbol = symbol
        self.client_order_id = new_client_order_id("t")

    def compose(self) -> ComposeResult:
        with Vertical(id="ticket"):
            yield Label(f"Order ticket: {self.side} {self.symbol}", id="ticket-title")
            with Horizontal(classes="row"):
                yield Select(
                    [("BUY", "BUY"), ("SELL", "SELL")],
                    value=self.side,
                    allow_blank=False,
                    id="side",
                )
                yield Input(self.symbol, placeholder="symbol", id="symbol")
                yield Input(placeholder="quantity", id="quantity", type="number")
            with Horizontal(classes="row"):
                yield Select(
                    [(t, t) for t in ("MARKET", "LIMIT", "STOP")],
                    value="MARKET",
                    allow_blank=False,
                    id="type",
                )
                yield Input(placeholder="limit / stop price", id="price", type="number")
                yield Select(
                    [(t, t) for t in ("GTC", "DAY", "IOC", "FOK")],
                    value="GTC",
                    allow_blank=False,
                    id="tif",
                )
            with Horizontal(classes="row"):
                yield Button("Preview", id="preview-button")
                yield Button("Send", variant="primary", id="send-button")
                yield Button("Close", id="close-button")
            yield Static(
                "Preview shows the notional, the resulting position and any limit it would hit.",
                id="preview",
            )
            yield Static(id="result")

    def on_mount(self) -> None:
        self.query_one("#quantity", Input).focus()

    def order(self) -> SubmitOrder:
        """The order as entered, under the ticket's client id; BadRequest names a field
        that is not right."""
        quantity = self.query_one("#quantity", Input).value.strip()
        price_text = self.query_one("#price", Input).value.strip()
        kind = str(self.query_one("#type", Select).value)
        try:
            amount = float(quantity)
        except ValueError:
            raise BadRequest("quantity must be a number") from None
        try:
            price = float(price_text) if price_text else None
        except ValueError:
            raise BadRequest("price must be a number") from None
        return SubmitOrder.new(
            self.query_one("#symbol", Input).value.strip().upper(),
            str(self.query_one("#side", Select).value),
            amount,
            client_order_id=self.client_order_id,
            type=kind,
            limit_price=price if kind == "LIMIT" else None,
            stop_price=price if kind == "STOP" else None,
            tif=str(self.query_one("#tif", Select).value),
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "preview-button":
            self.action_preview()
        elif event.button.id == "send-button":
            self.action_send()
        else:
            self.dismiss()

    def action_preview(self) -> None:
        """Check the order against the desk's positions and risk's current limits."""
        try:
            order = self.order()
        except BadRequest as exc:
            self.query_one("#preview", Static).update(f"[red]{escape(exc.message)}[/]")
            return
        self.preview(order)

    @work(thread=True, exclusive=True, group="ticket", exit_on_error=False)
    def preview(self, order: SubmitOrder) -> None:
        """Run risk's own checks here, on its limits and the desk's positions and quotes."""
        app = app_of(self)
        try:
            with app.bus.client(timeout_ms=1000) as client:
                limits = client.call("risk", methods.RISK_LIMITS, {})
                state = client.call("risk", methods.RISK_STATE, {})
        except BifrostError as exc:
            app.call_from_thread(
                self._show, "#preview", f"[red]risk unavailable:[/] {escape(exc.message)}"
            )
            return
        app.call_from_thread(self._show, "#preview", preview_text(order, limits, state, app.desk))

    def action_send(self) -> None:
        """Send the order through risk; the reply is shown here."""
        try:
            order = self.order()
        except BadRequest as exc:
            self._show("#result", f"[red]{escape(exc.message)}[/]")
            return
        self._show("#result", f"sending {escape(order.client_order_id)}…")
        self.send(order)

    @work(thread=True, exclusive=True, group="ticket", exit_on_error=False)
    def send(self, command: SubmitOrder) -> None:
        """Submit on a worker thread with its own client (a retry of the same id is safe)."""
        app = app_of(self)
        try:
            order = app.bus.call(
                "risk", methods.ORDER_SUBMIT, command.to_wire(), timeout_ms=3000, idempotent=True
            )
        except Rejected as exc:
            app.call_from_thread(self._show, "#result", f"[red]REJECTED[/] {escape(exc.message)}")
            return
        except Conflict as exc:
            # An earlier send of this id was entered as a different order: the id is
            # spent, so the next send is a new order.
            app.call_from_thread(self._sent, command.client_order_id)
            app.call_from_thread(self._show, "#result", f"[red]{exc.code}[/] {escape(exc.message)}")
            return
        except BifrostError as exc:
            app.call_from_thread(self._show, "#result", f"[red]{exc.code}[/] {escape(exc.message)}")
            return
        app.call_from_thread(self._sent, command.client_order_id)
        places = tick_places(app.desk.tick_size(order["symbol"]))
        average = average_text(decimal_from_wire(order["avg_price"]), places)
        price = f" @ {average}" if order["filled"] else ""
        text = (
            f"[green]{order['status']}[/] {order['client_order_id']} "
            f"filled {order['filled']:g}{price}"
        )
        app.call_from_thread(self._show, "#result", text)

    def _sent(self, client_order_id: str) -> None:
        """The order under `client_order_id` is entered: the ticket's next send is new."""
        if self.client_order_id == client_order_id:
            self.client_order_id = new_client_order_id("t")

    def _show(self, selector: str, text: str) -> None:
        self.query_one(selector, Static).update(text)


def preview_text(
    order: SubmitOrder, limits: dict[str, Any], state: dict[str, Any], desk: Desk
) -> str:
    """Notional, resulting position and the first limit the order would hit."""
    from bifrost.risk.config import RiskConfig
    from bifrost.risk.engine import TradingState, parse_limit

    engine = RiskEngine(
        RiskConfig(**{k: parse_limit(k, v) for k, v in limits.items()}),
        TradingState(state["state"]),
    )
    engine.positions = {k: float(v) for k, v in state["positions"].items()}
    with desk.lock:
        engine.mids = {s: q.mid for s, q in desk.quotes.items() if q.bid}
    price = order.limit_price or order.stop_price or engine.mids.get(order.symbol)
    signed = order.quantity if order.side is Side.BUY else -order.quantity
    after = engine.positions.get(order.symbol, 0.0) + signed
    lines = [
        f"notional {order.quantity * (price or 0):,.2f}   position after {after:g} {order.symbol}"
    ]
    try:
        engine.check(order)
        lines.append("[green]within every limit[/]")
    except Rejected as exc:
        lines.append(
            f"[red]would be rejected ({exc.details.get('rule')}):[/] {escape(exc.message)}"
        )
    return "\n".join(lines)


def cancel_order(app: BifrostApp, client_order_id: str) -> None:
    """Cancel an order on a worker thread; the outcome is a notification."""

    def run() -> None:
        try:
            order = app.bus.call(
                "risk", methods.ORDER_CANCEL, CancelOrder(client_order_id).to_wire()
            )
            app.call_from_thread(app.notify, f"{client_order_id}: {order['status']}")
        except BifrostError as exc:
            app.call_from_thread(app.notify, exc.message, severity="error", markup=False)

    app.run_worker(run, thread=True, group="orders", exit_on_error=False)


class ReplaceOrder(ModalScreen[None]):
    """Cancel/replace an open order with a new quantity and/or price.

    The dialog mints the replacing order's id once, so pressing Replace again after a
    timeout cannot replace the order twice.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def __init__(self, order: dict[str, Any]) -> None:
        super().__init__()
        self.order = order
        self.new_client_order_id = new_client_order_id("t")

    def compose(self) -> ComposeResult:
        order = self.order
        price = order.get("limit_price") or order.get("stop_price") or ""
        with Vertical(id="ticket"):
            yield Label(
                f"Replace {order['client_order_id']}: {order['side']} "
                f"{order['quantity']:g} {order['symbol']} {order['type']}"
            )
            with Horizontal(classes="row"):
                yield Input(
                    f"{order['quantity']:g}", placeholder="quantity", id="quantity", type="number"
                )
                yield Input(str(price), placeholder="price", id="price", type="number")
            with Horizontal(classes="row"):
                yield Button("Replace", variant="primary", id="replace")
                yield Button("Close", id="close")
            yield Static(id="result")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "replace":
            self.dismiss()
            return
        try:
            quantity = float(self.query_one("#quantity", Input).value)
            price_text = self.query_one("#price", Input).value.strip()
            price = float(price_text) if price_text else None
        except ValueError:
            self.query_one("#result", Static).update("[red]quantity and price must be numbers[/]")
            return
        field = "stop_price" if self.order["type"] == "STOP" else "limit_price"
        try:
            command = ReplaceCommand.new(
                self.order["client_order_id"],
                new_client_order_id=self.new_client_order_id,
                quantity=quantity,
                **{field: price if self.order["type"] != "MARKET" else None},
            )
        except BadRequest as exc:
            self.query_one("#result", Static).update(f"[red]{escape(exc.message)}[/]")
            return
        self.replace(command)

    @work(thread=True, exclusive=True, group="replace", exit_on_error=False)
    def replace(self, command: ReplaceCommand) -> None:
        """Send the replace through risk (checked like a new order); show what came back."""
        app = app_of(self)
        try:
            order = app.bus.call("risk", methods.ORDER_REPLACE, command.to_wire())
        except BifrostError as exc:
            app.call_from_thread(
                self.query_one("#result", Static).update,
                f"[red]{exc.code}[/] {escape(exc.message)}",
            )
            return
        app.call_from_thread(
            self.query_one("#result", Static).update,
            f"[green]{order['status']}[/] {order['client_order_id']} "
            f"{order['quantity']:g} @ {_order_price(app, order)}",
        )


def _order_price(app: BifrostApp, order: dict[str, Any]) -> str:
    """An order's limit (else stop) price with its instrument's decimals; "" for none."""
    price = order.get("limit_price") or order.get("stop_price")
    if price is None:
        return ""
    return price_text(price, app.desk.tick_size(order["symbol"]))
