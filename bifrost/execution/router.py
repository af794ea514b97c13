"""One broker per venue behind the engine's one `Broker`: each order goes to its venue.

An order's venue follows from its symbol (bifrost.venues.config.venue_for): a venue
that lists the symbol, else the venue its instrument names, else paper. Cancels and
lookups go to the broker that holds the order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bifrost.execution.broker import Broker
from bifrost.model.market import Quote
from bifrost.model.orders import Fill, Order


class BrokerRouter:
    """Routes the engine's calls to the broker of each order's venue."""

    name = "router"

    def __init__(self, brokers: dict[str, Broker], venue_of: Callable[[str], str]) -> None:
        self.brokers = brokers
        self.venue_of = venue_of
        self.on_fill: Callable[[Fill], None] | None = None
        self.on_order: Callable[[Order], None] | None = None
        for broker in brokers.values():
            broker.on_fill = self._fill
            broker.on_order = self._order

    def _fill(self, fill: Fill) -> None:
        if self.on_fill is not None:
            self.on_fill(fill)

    def _order(self, order: Order) -> None:
        if self.on_order is not None:
            self.on_order(order)

    def broker_for(self, symbol: str) -> Broker:
        """The broker of the venue `symbol` trades at."""
        return self.brokers[self.venue_of(symbol)]

    def submit(self, order: Order, now_ns: int) -> None:
        """Send to the order's venue."""
        self.broker_for(order.symbol).submit(order, now_ns)

    def submit_bracket(
        self, order: Order, take_profit: float, stop_loss: float, now_ns: int
    ) -> None:
        """Send an entry with its legs to the order's venue."""
        self.broker_for(order.symbol).submit_bracket(order, take_profit, stop_loss, now_ns)

    def cancel(self, client_order_id: str) -> None:
        """Cancel at the broker that holds the order."""
        for broker in self.brokers.values():
            if broker.order(client_order_id) is not None:
                broker.cancel(client_order_id)
                return

    def restore(self, orders: list[Order]) -> None:
        """Hand each open order of the journal back to its venue's broker."""
        by_venue: dict[str, list[Order]] = {}
        for order in orders:
            by_venue.setdefault(self.venue_of(order.symbol), []).append(order)
        for venue, held in by_venue.items():
            self.brokers[venue].restore(held)

    def order(self, client_order_id: str) -> Order | None:
        """The live copy of an order, wherever it is held."""
        for broker in self.brokers.values():
            order = broker.order(client_order_id)
            if order is not None:
                return order
        return None

    def open_orders(self) -> list[Order]:
        """Open orders at every venue."""
        return [order for broker in self.brokers.values() for order in broker.open_orders()]

    def on_quote(self, quote: Quote) -> None:
        """Local quotes drive the broker of the quote's symbol (the paper broker matches on
        them; a real venue matches its own orders)."""
        self.broker_for(quote.symbol).on_quote(quote)

    def describe(self) -> dict[str, Any]:
        """Which venues orders can go to."""
        return {"venues": sorted(self.brokers)}
