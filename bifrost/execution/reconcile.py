"""Reconciliation with a venue, the venue being the truth.

At start, after every reconnect of the order stream and every `reconcile_seconds`, the
venue's open orders, its fills since the last one journaled (less a margin for clock
drift), its positions and its balances are read on the venue's thread and compared
on the loop with what the journal holds:

- a fill the journal lacks, of an order Bifrost holds, is booked (once: by trade id);
- an open order at the venue that Bifrost never sent is adopted into the journal or
  cancelled, as `[venues.NAME] unknown_orders` says; a fill of an order Bifrost does
  not hold is reported, not booked (it was traded outside Bifrost);
- an order open in the journal but not at the venue is looked up and takes the venue's
  state (REJECTED when the venue never had it);
- a position that differs from the journal's fills is reported (the venue holds
  what it holds; nothing is booked to make them agree).

Every difference is reported through `report(kind, subject, details)`, which the
execution service turns into an `alert.reconcile` event and a `venue_audit` row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bifrost.clock import Clock
from bifrost.errors import BadRequest, BifrostError
from bifrost.execution.venue_broker import VenueBroker
from bifrost.model.orders import Order, OrderStatus
from bifrost.store.orders import OrderJournal
from bifrost.venues.config import VenueConfig
from bifrost.venues.contract import Balance, Venue, VenueFill, VenueOrder, VenuePosition

DRIFT_MARGIN_NS = 60 * 10**9
"""Fills are read from this long before the last journaled one (venue clocks drift)."""
FIRST_LOOKBACK_NS = 24 * 3600 * 10**9
"""With no fill of a venue journaled yet, fills of the last day are read."""

Report = Callable[[str, str, dict[str, Any]], None]


@dataclass(slots=True)
class VenueSnapshot:
    """What a venue said at one reconciliation."""

    open_orders: list[VenueOrder]
    fills: list[VenueFill]
    positions: list[VenuePosition]
    balances: list[Balance]


def take_snapshot(venue: Venue, symbols: list[str], since_ns: int) -> VenueSnapshot:
    """Read the venue's side (runs on the venue's request thread)."""
    return VenueSnapshot(
        venue.open_orders(symbols),
        venue.fills_since(since_ns, symbols),
        venue.positions(),
        venue.balances(),
    )


@dataclass(slots=True)
class ReconcileStats:
    """Counts shown by `venues status`."""

    runs: int = 0
    failed: int = 0
    differences: int = 0
    last_ns: int = 0
    last_error: str = ""
    balances: list[dict[str, str]] = field(default_factory=list)


class Reconciler:
    """Compares one venue with the journal and puts right what the venue says (module doc)."""

    def __init__(
        self,
        broker: VenueBroker,
        config: VenueConfig,
        journal: OrderJournal,
        clock: Clock,
        report: Report,
    ) -> None:
        self.broker = broker
        self.config = config
        self.journal = journal
        self.clock = clock
        self.report = report
        self.stats = ReconcileStats()
        self.running = False
        self.reported: set[tuple[str, str, str]] = set()
        """Differences already reported (kind, subject, state): a standing difference is
        reported once, not at every reconciliation."""

    def symbols(self) -> list[str]:
        """The venue's symbols: configured ones and those of the orders it holds."""
        held = {order.symbol for order in self.broker.orders.values()}
        return sorted(set(self.config.symbols) | held)

    def run(self) -> None:
        """Start one reconciliation (none while one is under way)."""
        if self.running:
            return
        self.running = True
        symbols = self.symbols()
        last = self.journal.last_fill_ns(symbols) if symbols else None
        now = self.clock.now_ns()
        since = now - FIRST_LOOKBACK_NS if last is None else last - DRIFT_MARGIN_NS
        self.broker.session.request(
            lambda venue: take_snapshot(venue, symbols, since), self._compare
        )

    def _compare(self, snapshot: VenueSnapshot | None, error: BifrostError | None) -> None:
        self.running = False
        self.stats.runs += 1
        self.stats.last_ns = self.clock.now_ns()
        if snapshot is None:
            self.stats.failed += 1
            self.stats.last_error = error.message if error is not None else "no answer"
            return
        self.stats.last_error = ""
        self.stats.balances = [
            {"asset": b.asset, "free": str(b.free), "total": str(b.total)}
            for b in snapshot.balances
        ]
        self._open_orders(snapshot.open_orders)
        self._fills(snapshot.fills)
        self._closed_elsewhere({o.client_order_id for o in snapshot.open_orders})
        self._positions(snapshot.positions)

    def _open_orders(self, open_orders: list[VenueOrder]) -> None:
        for update in open_orders:
            if update.client_order_id in self.broker.orders:
                self.broker.apply_update(update)
                continue
            if self.config.unknown_orders == "cancel":
                self._difference("unknown_order_cancelled", update.client_order_id, update)
                self.broker.session.request(
                    functools.partial(_cancel_at, update), lambda _result, _error: None
                )
                continue
            adopted = self._adopt(update)
            if adopted is not None:
                self._difference("unknown_order_adopted", adopted.client_order_id, update)

    def _adopt(self, update: VenueOrder) -> Order | None:
        """Journal an order Bifrost did not send, as it stands at the venue."""
        try:
            order = Order(
                update.client_order_id,
                update.symbol,
                update.side,
                float(update.quantity),
                update.type,
                limit_price=None if update.limit_price is None else float(update.limit_price),
                stop_price=None if update.stop_price is None else float(update.stop_price),
                strategy_id="adopted",
                created_ts=update.ts or self.clock.now_ns(),
            )
        except BadRequest as exc:
            self._difference(
                "unknown_order_unusable", update.client_order_id, update, problem=exc.message
            )
            return None
        self.broker.adopt(order, update)
        return order

    def _fills(self, fills: list[VenueFill]) -> None:
        for fill in fills:
            if self.journal.has_fill(fill.trade_id):
                continue
            if fill.client_order_id in self.broker.orders:
                self._difference("missing_fill_booked", fill.trade_id, fill)
                self.broker.apply_fill(fill)
            elif self._first_time("fill_of_unknown_order", fill.trade_id, ""):
                self._difference("fill_of_unknown_order", fill.trade_id, fill)

    def _closed_elsewhere(self, open_at_venue: set[str]) -> None:
        for order in self.broker.open_orders():
            if order.client_order_id in open_at_venue:
                continue
            if order.status is OrderStatus.SUBMITTED and order.client_order_id not in (
                self.broker.venue_filled
            ):
                # Sent this turn: its acknowledgement may still be on its way.
                continue
            self._difference(
                "order_not_open_at_venue",
                order.client_order_id,
                None,
                journal_status=order.status.value,
            )
            self.broker.look_up(order, "not open at the venue at reconciliation")

    def _positions(self, positions: list[VenuePosition]) -> None:
        symbols = self.symbols()
        if not symbols:
            return
        ours = self.journal.net_positions(symbols)
        theirs = {p.symbol: p.quantity for p in positions if p.symbol in ours}
        for symbol in symbols:
            venue_quantity = theirs.get(symbol, Decimal(0))
            state = f"{venue_quantity}/{ours[symbol]}"
            if venue_quantity != ours[symbol] and self._first_time(
                "position_differs", symbol, state
            ):
                self._difference(
                    "position_differs",
                    symbol,
                    None,
                    venue=str(venue_quantity),
                    journal=str(ours[symbol]),
                )

    def _first_time(self, kind: str, subject: str, state: str) -> bool:
        """True the first time this difference (in this state) is seen."""
        key = (kind, subject, state)
        if key in self.reported:
            return False
        self.reported.add(key)
        return True

    def _difference(
        self, kind: str, subject: str, item: VenueOrder | VenueFill | None, **details: Any
    ) -> None:
        self.stats.differences += 1
        if item is not None:
            details = {**_plain(item), **details}
        self.report(kind, subject, details)


def _cancel_at(update: VenueOrder, venue: Venue) -> VenueOrder:
    """Cancel an order at the venue (on its request thread)."""
    return venue.cancel(update.client_order_id, update.symbol)


def _plain(item: VenueOrder | VenueFill) -> dict[str, Any]:
    """A JSON-ready view of a venue order or fill (Decimals as exact strings)."""
    values: dict[str, Any] = {}
    for name in item.__slots__:  # type: ignore[union-attr]
        value = getattr(item, name)
        values[name] = str(value) if isinstance(value, Decimal) else value
    return values
