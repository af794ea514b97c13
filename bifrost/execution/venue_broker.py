"""Orders at a real venue: sent through its session off the loop, applied on the loop.

`submit` journals the order as SUBMITTED and sends it; the venue's acknowledgement,
its order updates and its fills come back on the loop and move the order through the
state machine. An order's `filled` and `avg_price` are the sum of the fills booked
(each trade id once), so a status that runs ahead of its fills (FILLED announced
before the last execution) waits for them, and a terminal order still short of its
fills has them fetched. A venue that is not up refuses new orders and cancels at once
(fail closed) with an error that names it and why.

A submit whose outcome is unknown (the venue did not answer) is looked up by client
order id; the venue's word decides: its order as it stands, or REJECTED when it has
none. Reconciliation (bifrost.execution.reconcile) uses the same appliers.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bifrost.errors import BadRequest, BifrostError
from bifrost.model.market import Quote
from bifrost.model.orders import TRANSITIONS, Fill, Order, OrderStatus
from bifrost.venues.contract import OrderEvent, VenueFill, VenueOrder
from bifrost.venues.errors import VenueOrderNotFound, VenueRejected, VenueUnavailable
from bifrost.venues.session import VenueSession

FILL_STATES = (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)
CATCH_UP_MARGIN_NS = 60 * 10**9
"""How far before an order's creation its fills are looked for (venue clocks drift)."""
CATCH_UP_AFTER_S = 1.0
"""How long the stream has to bring the fills of a (partly) filled order before they are
fetched."""


class VenueBroker:
    """The execution engine's broker for one real venue (see the module doc)."""

    def __init__(
        self,
        session: VenueSession,
        is_booked: Callable[[str], bool],
        quote_currency: Callable[[str], str],
    ) -> None:
        self.session = session
        self.name = session.name
        self.is_booked = is_booked
        self.quote_currency = quote_currency
        self.orders: dict[str, Order] = {}
        self.venue_filled: dict[str, Decimal] = {}
        """What the venue last said each order has filled (its fills may still be coming)."""
        self._short_since: dict[str, float] = {}
        """Orders the venue says filled more than their booked fills, since when."""
        self.foreign_fees = 0
        """Fees charged in another currency than the quote's (not in the commission)."""
        self.on_fill: Callable[[Fill], None] | None = None
        self.on_order: Callable[[Order], None] | None = None
        self.on_unknown: Callable[[OrderEvent], None] | None = None
        """Hears updates and fills of orders this broker does not hold (reconciliation)."""

    # -- the Broker protocol ------------------------------------------------------------------

    def submit(self, order: Order, now_ns: int) -> None:
        """Journal the order as SUBMITTED and send it; refused while the venue is not up."""
        self._check_up("orders")
        if order.quantity is None:
            raise BadRequest(f"{order.symbol}: an order at {self.name} needs a quantity")
        order.created_ts = now_ns
        self.orders[order.client_order_id] = order
        order.move_to(OrderStatus.SUBMITTED)
        self._notify(order)
        sent = dataclasses.replace(order)
        self.session.request(
            lambda venue: venue.submit(sent),
            lambda ack, error: self._acknowledged(order, ack, error),
        )

    def submit_bracket(
        self, order: Order, take_profit: float, stop_loss: float, now_ns: int
    ) -> None:
        """Brackets are kept by the paper broker only."""
        raise BadRequest(
            f"{order.symbol} trades at {self.name}: bracket orders (take profit and stop loss) "
            "are supported at the paper venue only"
        )

    def cancel(self, client_order_id: str) -> None:
        """Ask the venue to cancel; the order changes when the venue says it did."""
        self._check_up("cancels")
        order = self.orders[client_order_id]
        self.session.request(
            lambda venue: venue.cancel(client_order_id, order.symbol),
            lambda update, error: self._cancel_answered(order, update, error),
        )

    def restore(self, orders: list[Order]) -> None:
        """Take back the journal's open orders of this venue; reconciliation asks the venue
        how each stands."""
        for order in orders:
            self.orders[order.client_order_id] = order

    def order(self, client_order_id: str) -> Order | None:
        """This broker's copy of an order."""
        return self.orders.get(client_order_id)

    def open_orders(self) -> list[Order]:
        """Orders open at this venue as far as Bifrost knows."""
        return [o for o in self.orders.values() if o.is_open]

    def on_quote(self, quote: Quote) -> None:
        """The venue matches its own orders: local quotes change nothing here."""

    # -- from the venue -------------------------------------------------------------------------

    def apply(self, events: list[OrderEvent]) -> None:
        """Order updates and fills from the venue's stream (or a reconciliation)."""
        for event in events:
            if isinstance(event, VenueFill):
                self.apply_fill(event)
            else:
                self.apply_update(event)

    def apply_update(self, update: VenueOrder) -> None:
        """Move an order to where the venue says it is (fills move it only with themselves)."""
        order = self.orders.get(update.client_order_id)
        if order is None:
            if self.on_unknown is not None:
                self.on_unknown(update)
            return
        if not order.is_open:
            return
        if update.status in FILL_STATES or update.filled > 0:
            self.venue_filled[order.client_order_id] = max(
                update.filled, self.venue_filled.get(order.client_order_id, Decimal(0))
            )
        if update.status is OrderStatus.REJECTED:
            self._move(order, OrderStatus.REJECTED, update.reason or "rejected by the venue")
        elif update.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
            self._move(order, update.status, update.reason or update.status.lower())
        else:
            self._move(order, OrderStatus.ACCEPTED)
        if self._short_of_fills(order):
            self._short_since.setdefault(order.client_order_id, time.monotonic())

    def adopt(self, order: Order, update: VenueOrder) -> None:
        """Hold (and journal) an order the venue has that Bifrost did not send."""
        self.orders[order.client_order_id] = order
        order.move_to(OrderStatus.SUBMITTED)
        self._notify(order)
        self.apply_update(update)

    def apply_fill(self, fill: VenueFill) -> None:
        """Book one execution once (by trade id) and move its order."""
        order = self.orders.get(fill.client_order_id)
        if order is None:
            if self.on_unknown is not None:
                self.on_unknown(fill)
            return
        if self.is_booked(fill.trade_id):
            if self.on_fill is not None:  # the engine counts the duplicate
                self.on_fill(self._to_fill(order, fill))
            return
        quantity = float(fill.quantity)
        price = float(fill.price)
        total = order.filled + quantity
        order.avg_price = (order.avg_price * order.filled + price * quantity) / total
        order.filled = total
        if order.is_open:
            self._move(order, OrderStatus.ACCEPTED)
            done = order.quantity is not None and total >= order.quantity - 1e-12
            order.move_to(OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED)
        if self.on_fill is not None:
            self.on_fill(self._to_fill(order, fill))
        self._notify(order)

    def _to_fill(self, order: Order, fill: VenueFill) -> Fill:
        commission = Decimal(0)
        if fill.fee and fill.fee_currency in ("", self.quote_currency(order.symbol)):
            commission = fill.fee
        elif fill.fee:
            self.foreign_fees += 1
        return Fill(
            order.client_order_id,
            order.symbol,
            order.side,
            float(fill.quantity),
            float(fill.price),
            float(commission),
            fill.ts,
            fill.trade_id,
            order.strategy_id,
            fill.liquidity,
        )

    def catch_up_due(self) -> None:
        """Timer: fetch the fills of orders still short of what the venue says they filled
        `CATCH_UP_AFTER_S` after it said so (the stream brings them first, normally)."""
        now = time.monotonic()
        for client_order_id, since in list(self._short_since.items()):
            order = self.orders[client_order_id]
            if not self._short_of_fills(order):
                del self._short_since[client_order_id]
            elif now - since >= CATCH_UP_AFTER_S:
                del self._short_since[client_order_id]
                self.catch_up_fills(order)

    def catch_up_fills(self, order: Order) -> None:
        """Fetch the fills of `order` the stream did not bring (booked once each)."""
        since = max(0, order.created_ts - CATCH_UP_MARGIN_NS)
        symbol, client_order_id = order.symbol, order.client_order_id

        def fetched(fills: list[VenueFill] | None, error: BifrostError | None) -> None:
            if fills:
                self.apply([f for f in fills if f.client_order_id == client_order_id])

        self.session.request(lambda venue: venue.fills_since(since, [symbol]), fetched)

    def look_up(self, order: Order, why: str) -> None:
        """Ask the venue how `order` stands; REJECTED when the venue never had it."""

        def answered(update: VenueOrder | None, error: BifrostError | None) -> None:
            if update is not None:
                self.apply_update(update)
            elif isinstance(error, VenueOrderNotFound) and order.is_open:
                self._move(order, OrderStatus.REJECTED, f"{self.name} never received it ({why})")

        self.session.request(
            lambda venue: venue.order(order.client_order_id, order.symbol), answered
        )

    # -- answers to our requests ----------------------------------------------------------------

    def _acknowledged(
        self, order: Order, ack: VenueOrder | None, error: BifrostError | None
    ) -> None:
        if ack is not None:
            self.apply_update(ack)
        elif isinstance(error, VenueRejected):
            self._move(order, OrderStatus.REJECTED, f"{self.name}: {error.reason}")
        elif error is not None:
            # No answer: the venue may or may not hold the order; it is asked, now or at
            # the reconciliation after it is back.
            self.look_up(order, error.message)

    def _cancel_answered(
        self, order: Order, update: VenueOrder | None, error: BifrostError | None
    ) -> None:
        if update is not None:
            self.apply_update(update)
        elif error is not None:
            self.look_up(order, error.message)

    # -- helpers --------------------------------------------------------------------------------

    def _check_up(self, what: str) -> None:
        if not self.session.is_up:
            raise VenueUnavailable(
                self.name, f"{self.session.reason or self.session.state}; {what} are refused"
            )

    def _short_of_fills(self, order: Order) -> bool:
        venue_filled = self.venue_filled.get(order.client_order_id, Decimal(0))
        return Decimal(repr(order.filled)) < venue_filled

    def _move(self, order: Order, status: OrderStatus, reason: str = "") -> None:
        """Move as far toward `status` as the state machine allows (through ACCEPTED when
        it asks for that); a venue that refuses an order it had taken ends it CANCELED."""
        if order.status is status or not order.is_open:
            return
        if status is OrderStatus.REJECTED and order.status is not OrderStatus.SUBMITTED:
            status = OrderStatus.CANCELED
        if order.status is OrderStatus.SUBMITTED and status not in TRANSITIONS[order.status]:
            order.move_to(OrderStatus.ACCEPTED)
            self._notify(order)
        if order.status is status or status not in TRANSITIONS[order.status]:
            return
        order.move_to(status, reason)
        self._notify(order)

    def _notify(self, order: Order) -> None:
        if self.on_order is not None:
            self.on_order(order)

    def describe(self) -> dict[str, Any]:
        """The session's state and counts with this broker's, for `venues status`."""
        return {
            **self.session.describe(),
            "open_orders": len(self.open_orders()),
            "foreign_fees": self.foreign_fees,
        }
