"""Broker adapters. The paper broker fills orders against live quotes with SimulatedExchange,
the same matching rules the backtester uses (docs/BACKTESTING.md, "Quote fills")."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

from bifrost.model.market import Quote
from bifrost.model.orders import Fill, Order
from bifrost.sim.account import SimAccount
from bifrost.sim.costs import CommissionModel, FixedBpsSlippage, PercentCommission
from bifrost.sim.exchange import SimulatedExchange

PAPER_CASH = 1e15
"""The paper exchange's own cash: orders arrive sized, so it never limits them."""


class Broker(Protocol):
    """What the execution engine needs of a broker."""

    name: str
    on_fill: Callable[[Fill], None] | None
    on_order: Callable[[Order], None] | None

    def submit(self, order: Order, now_ns: int) -> None:
        """Place an order (state changes come back through `on_order`)."""

    def cancel(self, client_order_id: str) -> None:
        """Cancel an open order."""

    def restore(self, orders: list[Order]) -> None:
        """Take back orders that were open before a restart (reconciliation)."""

    def submit_bracket(
        self, order: Order, take_profit: float, stop_loss: float, now_ns: int
    ) -> None:
        """Place an entry with its take-profit and stop-loss legs."""

    def order(self, client_order_id: str) -> Order | None:
        """The broker's live copy of an order."""

    def open_orders(self) -> list[Order]:
        """Orders the broker holds open."""

    def on_quote(self, quote: Quote) -> None:
        """A live quote arrived."""


class PaperBroker:
    """Fills against the last quote at submission, then against every new quote."""

    name = "paper"

    def __init__(
        self, commission: CommissionModel | None = None, slippage_bps: float = 0.0
    ) -> None:
        account = SimAccount(PAPER_CASH, commission or PercentCommission(0.0))
        # Trade ids must never repeat across restarts: each session gets its own prefix.
        self.exchange = SimulatedExchange(
            account,
            slippage=FixedBpsSlippage(slippage_bps),
            trade_id_prefix=f"paper-{os.urandom(4).hex()}",
        )
        self.last_quotes: dict[str, Quote] = {}
        self.on_fill: Callable[[Fill], None] | None = None
        self.on_order: Callable[[Order], None] | None = None
        self.exchange.on_fill = self._fill
        self.exchange.on_order = self._order

    def _fill(self, fill: Fill) -> None:
        if self.on_fill is not None:
            self.on_fill(fill)

    def _order(self, order: Order) -> None:
        if self.on_order is not None:
            self.on_order(order)

    def submit(self, order: Order, now_ns: int) -> None:
        """Accept the order and try it at once against the symbol's last quote."""
        self.exchange.submit(order, now_ns)
        self._try_last_quote(order.symbol, now_ns)

    def submit_bracket(
        self, order: Order, take_profit: float, stop_loss: float, now_ns: int
    ) -> None:
        """An entry with a take-profit limit and a stop-loss stop, OCO once it fills."""
        self.exchange.submit_bracket(order, take_profit, stop_loss, now_ns)
        self._try_last_quote(order.symbol, now_ns)

    def _try_last_quote(self, symbol: str, now_ns: int) -> None:
        last = self.last_quotes.get(symbol)
        if last is not None:
            self.exchange.process_quote(
                Quote(last.symbol, last.bid, last.ask, last.bid_size, last.ask_size, now_ns)
            )

    def cancel(self, client_order_id: str) -> None:
        """Cancel an open order."""
        self.exchange.cancel(client_order_id)

    def restore(self, orders: list[Order]) -> None:
        """Put back the open orders of the journal; the paper book lives in memory only."""
        for order in orders:
            self.exchange.adopt(order)

    def order(self, client_order_id: str) -> Order | None:
        """The live copy of an order, if this session holds it."""
        return self.exchange.orders.get(client_order_id)

    def open_orders(self) -> list[Order]:
        """Orders resting in the paper book."""
        return self.exchange.open_orders()

    def on_quote(self, quote: Quote) -> None:
        """Remember the quote and match resting orders of its symbol against it."""
        self.last_quotes[quote.symbol] = quote
        if self.exchange.has_open_orders(quote.symbol):
            self.exchange.process_quote(quote)
