"""The order ticket: side, quantity, type, prices, TIF; a risk preview; confirm; result."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from bifrost.bus import methods
from bifrost.errors import BadRequest, BifrostError, Conflict, Rejected
from bifrost.model.commands import CancelOrder, SubmitOrder, new_client_order_id
from bifrost.model.commands import ReplaceOrder as ReplaceCommand
from bifrost.model.market import Side
from bifrost.model.money import average_text, decimal_from_wire, price_text, tick_places
from bifrost.model.orders import OrderType
from bifrost.risk.engine import RiskEngine
from tui.app import BifrostApp, app_of
from tui.desk import Desk

PRICE_FIELDS = (
    ("limit", "limit_price"),
    ("stop", "stop_price"),
    ("take-profit", "take_profit"),
    ("stop-loss", "stop_loss"),
)
"""The ticket's price boxes (by id) and the order fields they fill."""


class OrderTicket(ModalScreen[None]):
    """Enter an order; Preview checks it against risk's limits, Send sends it through risk.

    The order's type follows from its prices, as on the command line: a limit price makes
    it LIMIT, a stop STOP, both STOP_LIMIT; take profit with stop loss make it a bracket.
    A ticket is one order: its client order id is minted once, so a second ctrl+s, or a
    resend after a timeout, is the same order, which execution enters once. After the
    order is entered the ticket closes and says what became of it.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("ctrl+s", "send", "Send"),
        Binding("ctrl+r", "preview", "Preview"),
    ]

    def __init__(self, side: str, symbol: str) -> None:
        super().__init__()
        self.side = side
        self.symbol = symbol
        self.client_order_id = new_client_order_id("t")
        self.entered = False
        """True once risk has answered with the order: the ticket is done."""

    def compose(self) -> ComposeResult:
        with Vertical(id="ticket"):
            yield Label(f"Order ticket: {self.side} {self.symbol}", id="ticket-title")
            with Horizontal(classes="row"):
                yield Label("side")
                yield Select(
                    [("BUY", "BUY"), ("SELL", "SELL")],
                    value=self.side,
                    allow_blank=False,
                    id="side",
                )
                yield Label("symbol")
                yield Input(self.symbol, placeholder="symbol", id="symbol")
                yield Label("quantity")
                yield Input(placeholder="quantity", id="quantity", type="number")
            with Horizontal(classes="row"):
                yield Label("limit")
                yield Input(placeholder="none", id="limit", type="number")
                yield Label("stop")
                yield Input(placeholder="none", id="stop", type="number")
                yield Label("tif")
                yield Select(
                    [(t, t) for t in ("GTC", "DAY", "IOC", "FOK")],
                    value="GTC",
                    allow_blank=False,
                    id="tif",
                )
            with Horizontal(classes="row"):
                yield Label("bracket: take profit")
                yield Input(placeholder="none", id="take-profit", type="number")
                yield Label("stop loss")
                yield Input(placeholder="none", id="stop-loss", type="number")
            yield Static(id="kind")
            with Horizontal(classes="row"):
                yield Button("Preview", id="preview-button")
                yield Button("Send", variant="primary", id="send-button")
                yield Button("Close", id="close-button")
            yield Static(
                "Preview shows the notional, the resulting position and any limit it would hit.",
                id="preview",
            )
            yield Static(id="result")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#quantity", Input).focus()
        self._show_kind()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in {box for box, _ in PRICE_FIELDS}:
            self._show_kind()

    def _show_kind(self) -> None:
        """Name the order the prices make, so the trader sees it before sending."""
        try:
            prices = self.prices()
        except BadRequest:
            return
        kind = OrderType.for_prices(prices["limit_price"], prices["stop_price"])
        bracket = " with a bracket" if prices["take_profit"] is not None else ""
        self._show("#kind", f"[b]{kind}[/]{bracket} order")

    def prices(self) -> dict[str, float | None]:
        """The price boxes as order fields (None when empty); BadRequest names a bad one."""
        out: dict[str, float | None] = {}
        for box, field in PRICE_FIELDS:
            text = self.query_one(f"#{box}", Input).value.strip()
            try:
                out[field] = float(text) if text else None
            except ValueError:
                raise BadRequest(f"{box.replace('-', ' ')} must be a number") from None
        return out

    def order(self) -> SubmitOrder:
        """The order as entered, under the ticket's client id; BadRequest names a field
        that is not right."""
        quantity = self.query_one("#quantity", Input).value.strip()
        try:
            amount = float(quantity)
        except ValueError:
            raise BadRequest("quantity must be a number") from None
        prices = self.prices()
        return SubmitOrder.new(
            self.query_one("#symbol", Input).value.strip().upper(),
            str(self.query_one("#side", Select).value),
            amount,
            client_order_id=self.client_order_id,
            type=OrderType.for_prices(prices["limit_price"], prices["stop_price"]),
            tif=str(self.query_one("#tif", Select).value),
            **prices,
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
            self._show("#preview", f"[red]{escape(exc.message)}[/]")
            return
        self.preview(order)

    @work(thread=True, exclusive=True, group="ticket-preview", exit_on_error=False)
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
        """Send the order through risk; a refusal is shown here, an entered order closes
        the ticket."""
        if self.entered:
            return
        try:
            order = self.order()
        except BadRequest as exc:
            self._show("#result", f"[red]{escape(exc.message)}[/]")
            return
        self._show("#result", f"sending {escape(order.client_order_id)}…")
        self.send(order)

    @work(thread=True, group="ticket-send", exit_on_error=False)
    def send(self, command: SubmitOrder) -> None:
        """Submit on a worker thread with its own client. Not exclusive: a second send of
        the ticket runs beside the first, and risk answers both with the one order."""
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
            app.call_from_thread(self._spent, command.client_order_id)
            app.call_from_thread(self._show, "#result", f"[red]{exc.code}[/] {escape(exc.message)}")
            return
        except BifrostError as exc:
            unknown = " (ctrl+s again sends the same order)" if exc.code == "TIMEOUT" else ""
            text = f"[red]{exc.code}[/] {escape(exc.message)}{unknown}"
            app.call_from_thread(self._show, "#result", text)
            return
        places = tick_places(app.desk.tick_size(order["symbol"]))
        average = average_text(decimal_from_wire(order["avg_price"]), places)
        price = f" @ {average}" if order["filled"] else ""
        text = (
            f"{order['status']} {order['client_order_id']} {order['side']} "
            f"{order['quantity']:g} {order['symbol']} filled {order['filled']:g}{price}"
        )
        app.call_from_thread(self._entered, text)

    def _entered(self, outcome: str) -> None:
        """The order is entered: say so once and close (a second send's answer is the
        same order and says nothing new)."""
        if self.entered:
            return
        self.entered = True
        self.app.notify(outcome, title="Order", markup=False)
        if self.is_current:
            self.dismiss()

    def _spent(self, client_order_id: str) -> None:
        """The id is taken by another order: the ticket's next send is a new order."""
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


PRICE_BOXES = ("price", "stop")
"""The replace dialog's price boxes: the order's first price, and a stop-limit's stop."""


class ReplaceOrder(ModalScreen[None]):
    """Cancel/replace an open order with a new quantity and/or price.

    The dialog mints the replacing order's id once, so pressing Replace again after a
    timeout cannot replace the order twice. A replace that goes through closes the
    dialog and says so; a refusal stays in it with the reason, the order unchanged.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("ctrl+s", "replace", "Replace"),
    ]

    def __init__(self, order: dict[str, Any]) -> None:
        super().__init__()
        self.order = order
        self.new_client_order_id = new_client_order_id("t")
        self.replaced = False

    def compose(self) -> ComposeResult:
        order = self.order
        with Vertical(id="ticket"):
            yield Label(
                f"Replace {order['client_order_id']}: {order['side']} "
                f"{order['quantity']:g} {order['symbol']} {order['type']}"
            )
            with Horizontal(classes="row"):
                yield Label("quantity")
                yield Input(
                    f"{order['quantity']:g}", placeholder="quantity", id="quantity", type="number"
                )
                for (label, field), box in zip(self._price_fields(), PRICE_BOXES, strict=False):
                    price = order.get(field)
                    yield Label(label)
                    yield Input(
                        "" if price is None else f"{price:g}",
                        placeholder=label,
                        id=box,
                        type="number",
                    )
            with Horizontal(classes="row"):
                yield Button("Replace", variant="primary", id="replace")
                yield Button("Close", id="close")
            yield Static(id="result")
        yield Footer()

    def _price_fields(self) -> list[tuple[str, str]]:
        """The prices this order's type has, as (label, field), in PRICE_BOXES' order."""
        return {
            "LIMIT": [("limit", "limit_price")],
            "STOP": [("stop", "stop_price")],
            "STOP_LIMIT": [("limit", "limit_price"), ("stop", "stop_price")],
        }.get(str(self.order["type"]), [])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "replace":
            self.action_replace()
        else:
            self.dismiss()

    def action_replace(self) -> None:
        """Check the changes, then send the replace through risk."""
        if self.replaced:
            return
        try:
            quantity = float(self.query_one("#quantity", Input).value)
            prices = {
                field: float(text) if (text := self.query_one(f"#{box}", Input).value) else None
                for (_, field), box in zip(self._price_fields(), PRICE_BOXES, strict=False)
            }
        except ValueError:
            self.query_one("#result", Static).update("[red]quantity and price must be numbers[/]")
            return
        try:
            command = ReplaceCommand.new(
                self.order["client_order_id"],
                new_client_order_id=self.new_client_order_id,
                quantity=quantity,
                **prices,
            )
        except BadRequest as exc:
            self.query_one("#result", Static).update(f"[red]{escape(exc.message)}[/]")
            return
        self.query_one("#result", Static).update("replacing…")
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
        outcome = (
            f"{order['status']} {order['client_order_id']} replaces "
            f"{command.client_order_id}: {order['quantity']:g} @ {_order_price(app, order)}"
        )
        app.call_from_thread(self._replaced, outcome)

    def _replaced(self, outcome: str) -> None:
        """Say what the order became, and close."""
        if self.replaced:
            return
        self.replaced = True
        self.app.notify(outcome, title="Replaced", markup=False)
        if self.is_current:
            self.dismiss()


def _order_price(app: BifrostApp, order: dict[str, Any]) -> str:
    """An order's limit (else stop) price with its instrument's decimals; "" for none."""
    price = order.get("limit_price") or order.get("stop_price")
    if price is None:
        return ""
    return price_text(price, app.desk.tick_size(order["symbol"]))
