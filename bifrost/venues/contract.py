"""What a venue gives Bifrost, in Bifrost's own model.

The data service takes instruments, historical bars and live market data (quotes,
trades, L2 books); the execution service takes order entry, order updates, fills,
balances and positions. A venue module maps one library (ccxt, alpaca-py) onto the
`Venue` protocol below; nothing outside it sees the library's types.

Rules every venue keeps:

- Symbols are Bifrost's (`BTC-USDT`, `AAPL`); the venue maps them to its own.
- Quantities and prices of orders, fills, balances and positions are `Decimal`, parsed
  from the venue's strings (never through a float); market data is float like the feed.
- Timestamps are int nanoseconds UTC as the venue stamped them.
- Bifrost's `client_order_id` is the venue's client order id, so an order is found again
  by it after a restart.
- Every method blocks and runs on the venue's own threads (bifrost.venues.session),
  never on a daemon's loop. A failure is one of bifrost.venues.errors: VenueRejected (the
  venue refused, with its reason), VenueUnavailable (down, disconnected, keys refused),
  VenueRateLimited (429/418, with the wait) or VenueOrderNotFound.
- `stream_market` and `stream_orders` block until `stop` is set, handing each event to
  `emit`; a dropped connection raises VenueUnavailable (the session reconnects and
  reconciles).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from bifrost.model.instrument import Instrument
from bifrost.model.market import Bar, BookSnapshot, Quote, Side, Trade
from bifrost.model.orders import Order, OrderStatus, OrderType


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An order as the venue reports it (after a submit or cancel, in a stream, or listed)."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    filled: Decimal
    status: OrderStatus
    """ACCEPTED, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED or EXPIRED."""
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    avg_price: Decimal | None = None
    reason: str = ""
    """The venue's words when it rejected, cancelled or expired the order."""
    ts: int = 0


@dataclass(frozen=True, slots=True)
class VenueFill:
    """One execution: the venue's trade id is the key that books it exactly once."""

    trade_id: str
    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    ts: int
    liquidity: str = "taker"


@dataclass(frozen=True, slots=True)
class Balance:
    """Cash or coin held at the venue."""

    asset: str
    free: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """A position the venue holds (signed: short is negative)."""

    symbol: str
    quantity: Decimal
    avg_price: Decimal | None = None


MarketEvent = Quote | Trade | BookSnapshot
OrderEvent = VenueOrder | VenueFill


class Venue(Protocol):
    """A market Bifrost trades at and takes data from (see the module's rules)."""

    name: str
    """The `[venues.NAME]` this venue was configured as."""
    kind: str
    """"ccxt", "alpaca", ..."""

    def instruments(self) -> list[Instrument]:
        """Every instrument the venue lists, with tick, lot and minimum sizes; `venue` is
        this venue's name."""

    def bars(
        self, symbol: str, timeframe: str, since_ns: int, until_ns: int | None, limit: int
    ) -> list[Bar]:
        """Up to `limit` bars of `symbol` starting at or after `since_ns` (and before
        `until_ns`), oldest first; fewer than `limit` means there are no more yet."""

    def stream_market(
        self, symbols: list[str], emit: Callable[[MarketEvent], None], stop: threading.Event
    ) -> None:
        """Quotes, trades and L2 books of `symbols` until `stop` is set."""

    def stream_orders(self, emit: Callable[[OrderEvent], None], stop: threading.Event) -> None:
        """This account's order updates and fills until `stop` is set."""

    def submit(self, order: Order) -> VenueOrder:
        """Send a new order under its `client_order_id`; the venue's acknowledgement."""

    def cancel(self, client_order_id: str, symbol: str) -> VenueOrder:
        """Cancel an open order; the order as the venue has it afterwards (an order that
        filled first comes back FILLED)."""

    def order(self, client_order_id: str, symbol: str) -> VenueOrder:
        """One order as the venue has it now (VenueOrderNotFound when it has none)."""

    def open_orders(self, symbols: list[str]) -> list[VenueOrder]:
        """Every open order of this account (of `symbols`, where the venue asks per symbol)."""

    def fills_since(self, since_ns: int, symbols: list[str]) -> list[VenueFill]:
        """This account's fills at or after `since_ns`, oldest first."""

    def balances(self) -> list[Balance]:
        """Cash and coins held, non-zero ones."""

    def positions(self) -> list[VenuePosition]:
        """Positions held (a spot exchange reports its coin balances as positions)."""

    def close(self) -> None:
        """Let go of connections and sessions."""
