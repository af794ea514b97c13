"""The execution engine: order entry, the journal, the broker, and the events they make.

Every state change is journaled (committed) before it is published or answered. By
default the changes one request or one quote makes are committed together, then their
events go out in order; with `group_commit`, nothing is committed until the owner
calls `flush()` (the execution daemon does at the end of every loop turn, so all the
requests and quotes of a turn share one commit, and holds the replies until then).
Submission is idempotent by `client_order_id`: the same request again returns the
order already entered; a different request with a used id is a CONFLICT. Fills are
deduplicated by trade id. `recover()` reloads open orders from the journal and
hands them back to the broker before the service reports ready.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from bifrost.clock import Clock
from bifrost.errors import BadRequest, Conflict, NotFound
from bifrost.execution.broker import Broker
from bifrost.model.commands import ReplaceOrder, SubmitOrder
from bifrost.model.instrument import Instrument
from bifrost.model.market import Quote
from bifrost.model.orders import Fill, Order
from bifrost.store.orders import OrderJournal, fill_row, order_row

Publish = Callable[[str, dict[str, Any], str], None]
"""(kind "order" or "fill", body, cid) -> publish on the bus."""


class ExecutionEngine:
    """Owns the order book of record; the broker does the matching."""

    def __init__(
        self,
        journal: OrderJournal,
        broker: Broker,
        clock: Clock,
        publish: Publish,
        instrument: Callable[[str], Instrument] = Instrument.default_for,
        *,
        group_commit: bool = False,
    ) -> None:
        self.journal = journal
        self.broker = broker
        self.clock = clock
        self.publish = publish
        self.instrument = instrument
        self.group_commit = group_commit
        self.cids: dict[str, str] = {}
        self._order_rows: list[list[Any]] = []
        self._fill_rows: list[list[Any]] = []
        self._events: list[tuple[str, dict[str, Any], str]] = []
        self._committed_events: list[tuple[str, dict[str, Any], str]] = []
        self._pending_trades: set[str] = set()
        self._unflushed: dict[str, Order] = {}
        """Orders changed since the last flush (the journal does not know them yet)."""
        self.fills_applied = 0
        self.duplicate_fills = 0
        broker.on_order = self._on_order
        broker.on_fill = self._on_fill

    # -- entry -----------------------------------------------------------------------

    def submit(self, command: SubmitOrder, cid: str) -> dict[str, Any]:
        """Enter an order (or return the one already entered under its client id)."""
        with self._unit():
            return self._submit(command, cid)

    def _submit(self, command: SubmitOrder, cid: str) -> dict[str, Any]:
        order = self._order_from(command)
        existing = self._known_order(order.client_order_id)
        if existing is not None:
            if not existing.same_request(order):
                raise Conflict(
                    f"client_order_id {order.client_order_id} is already used by a different order",
                    {"existing": existing.to_dict()},
                )
            return existing.to_dict()
        self._check_increments(order)
        self.cids[order.client_order_id] = cid
        if command.take_profit is None or command.stop_loss is None:
            self.broker.submit(order, self.clock.now_ns())
            return order.to_dict()
        for leg in ("tp", "sl"):
            self.cids[f"{order.client_order_id}-{leg}"] = cid
        self.broker.submit_bracket(
            order, command.take_profit, command.stop_loss, self.clock.now_ns()
        )
        return order.to_dict()

    def cancel(self, client_order_id: str, cid: str) -> dict[str, Any]:
        """Cancel an open order; an order already ended is returned as it is."""
        with self._unit():
            return self._cancel(client_order_id, cid)

    def _cancel(self, client_order_id: str, cid: str) -> dict[str, Any]:
        order = self.live_order(client_order_id)
        if order.is_open:
            self.cids.setdefault(client_order_id, cid)
            self.broker.cancel(client_order_id)
        return order.to_dict()

    def cancel_all(self, cid: str, strategy_id: str | None = None) -> list[str]:
        """Cancel every open order (of one strategy, when given); returns their ids."""
        ids = [
            o.client_order_id
            for o in self.broker.open_orders()
            if strategy_id is None or o.strategy_id == strategy_id
        ]
        with self._unit():
            for client_order_id in ids:
                self._cancel(client_order_id, cid)
        return ids

    def replace(self, command: ReplaceOrder, cid: str) -> dict[str, Any]:
        """Cancel an open order and enter a new one with the changes (new client id)."""
        client_order_id = command.client_order_id
        old = self.live_order(client_order_id)
        if not old.is_open:
            raise Conflict(f"order {client_order_id} is {old.status}: nothing to replace")
        new = command.applied_to(old.to_dict())
        with self._unit():
            self._cancel(client_order_id, cid)
            return self._submit(new, cid)

    def live_order(self, client_order_id: str) -> Order:
        """The order as it stands: the broker's live copy, else the journal's (NOT_FOUND)."""
        order = self.broker_order(client_order_id) or self._known_order(client_order_id)
        if order is None:
            raise NotFound(f"no order {client_order_id}")
        return order

    def _known_order(self, client_order_id: str) -> Order | None:
        """The order as last changed: this group's change not yet flushed, else the journal's."""
        order = self._unflushed.get(client_order_id)
        if order is None:
            known = self.journal.find(client_order_id)
            order = known[0] if known is not None else None
        return order

    def broker_order(self, client_order_id: str) -> Order | None:
        """The broker's live copy of an order, if it holds one."""
        return self.broker.order(client_order_id)

    @staticmethod
    def _order_from(command: SubmitOrder) -> Order:
        return Order(
            command.client_order_id,
            command.symbol,
            command.side,
            command.quantity,
            command.type,
            limit_price=command.limit_price,
            stop_price=command.stop_price,
            tif=command.tif,
            account=command.account,
            strategy_id=command.strategy_id,
        )

    def _check_increments(self, order: Order) -> None:
        """Quantity in whole lots, prices on the tick (DESIGN section 5)."""
        instrument = self.instrument(order.symbol)
        lots = (order.quantity or 0) / instrument.lot_size
        if abs(lots - round(lots)) > 1e-9:
            raise BadRequest(
                f"{order.symbol}: quantity {order.quantity} is not a whole number of lots "
                f"of {instrument.lot_size}"
            )
        for name in ("limit_price", "stop_price"):
            price = getattr(order, name)
            if price is not None:
                ticks = price / instrument.tick_size
                if abs(ticks - round(ticks)) > 1e-6:
                    raise BadRequest(
                        f"{order.symbol}: {name} {price} is not on the tick of "
                        f"{instrument.tick_size}"
                    )

    # -- from the broker ------------------------------------------------------------------

    @contextlib.contextmanager
    def _unit(self) -> Iterator[None]:
        """Commit what happened inside, then publish it (even on error); with
        `group_commit` that waits for the owner's `flush()`."""
        try:
            yield
        finally:
            if not self.group_commit:
                self.flush()

    def flush(self) -> None:
        """Journal the pending changes, then publish their events in order."""
        self.commit()
        self.announce()

    def commit(self) -> None:
        """Journal the pending changes (durable when this returns); their events wait
        for `announce`."""
        if not self._order_rows and not self._fill_rows:
            return
        order_rows, fill_rows = self._order_rows, self._fill_rows
        self._order_rows, self._fill_rows = [], []
        self._committed_events.extend(self._events)
        self._events = []
        self._pending_trades.clear()
        self._unflushed.clear()
        self.journal.commit(order_rows, fill_rows)

    def announce(self) -> None:
        """Publish the events of what was committed, in order."""
        events, self._committed_events = self._committed_events, []
        for kind, body, cid in events:
            self.publish(kind, body, cid)

    def _on_order(self, order: Order) -> None:
        cid = self.cids.get(order.client_order_id, "")
        self._order_rows.append(order_row(order, cid, self.clock.now_ns()))
        self._unflushed[order.client_order_id] = order
        self._events.append(("order", order.to_dict(), cid))
        if not order.is_open:
            self.cids.pop(order.client_order_id, None)

    def _on_fill(self, fill: Fill) -> None:
        order = self.broker_order(fill.client_order_id)
        if order is None:
            return
        cid = self.cids.get(fill.client_order_id, "")
        if fill.trade_id in self._pending_trades or self.journal.has_fill(fill.trade_id):
            self.duplicate_fills += 1
            return
        self._pending_trades.add(fill.trade_id)
        self.fills_applied += 1
        self._fill_rows.append(fill_row(fill, order.account, cid))
        self._events.append(("fill", {**fill.to_dict(), "account": order.account}, cid))

    def on_quote(self, quote: Quote) -> None:
        """Pass a live quote to the broker (fills come back through the callbacks)."""
        with self._unit():
            self.broker.on_quote(quote)

    def recover(self) -> int:
        """Hand the journal's open orders back to the broker; returns how many."""
        open_orders = self.journal.open_orders()
        for order, cid in open_orders:
            self.cids[order.client_order_id] = cid
        self.broker.restore([order for order, _ in open_orders])
        return len(open_orders)
