"""Orders, their states and fills (DESIGN section 5).

The order state machine is one transition table; `Order.move_to` refuses any move
the table does not list, so an illegal transition is an error, never silently applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bifrost.errors import BadRequest, Conflict
from bifrost.model.market import Side


class OrderType(StrEnum):
    """How an order's price is set."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"

    @classmethod
    def for_prices(cls, limit_price: float | None, stop_price: float | None) -> OrderType:
        """The type an order with these prices has: MARKET, LIMIT, STOP or STOP_LIMIT."""
        if limit_price is None:
            return cls.MARKET if stop_price is None else cls.STOP
        return cls.LIMIT if stop_price is None else cls.STOP_LIMIT


class TimeInForce(StrEnum):
    """How long an order may wait: the session, until cancelled, or not at all."""

    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    NEW = "NEW"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    REJECTED = "REJECTED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset({OrderStatus.SUBMITTED, OrderStatus.REJECTED}),
    OrderStatus.SUBMITTED: frozenset(
        {OrderStatus.ACCEPTED, OrderStatus.REJECTED, OrderStatus.CANCELED}
    ),
    OrderStatus.ACCEPTED: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELED,
            OrderStatus.EXPIRED,
        }
    ),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELED,
            OrderStatus.EXPIRED,
        }
    ),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.CANCELED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}
"""Every legal move of the order state machine; ends have no way out."""

OPEN_STATES = frozenset({OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})


@dataclass(slots=True)
class Order:
    """One order and its fill progress. `quantity` None means "size it when it fills"."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: float | None
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    tif: TimeInForce = TimeInForce.GTC
    account: str = "default"
    strategy_id: str = ""
    fraction: float = 1.0
    """With no quantity: the share of available equity to spend (buys) when it fills."""
    parent_id: str | None = None
    """For a bracket leg: the entry order it waits for."""
    oco_id: str | None = None
    """One-cancels-other: the sibling cancelled when this one fills."""
    status: OrderStatus = OrderStatus.NEW
    filled: float = 0.0
    avg_price: float = 0.0
    created_ts: int = 0
    triggered: bool = False
    """A STOP_LIMIT whose stop was touched now rests as a limit."""
    reason: str = ""

    def __post_init__(self) -> None:
        if self.quantity is not None and not self.quantity > 0:
            raise BadRequest(f"order {self.client_order_id}: quantity must be positive")
        needs_limit = self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_limit and not (self.limit_price or 0) > 0:
            raise BadRequest(f"order {self.client_order_id}: {self.type} needs a limit price")
        if needs_stop and not (self.stop_price or 0) > 0:
            raise BadRequest(f"order {self.client_order_id}: {self.type} needs a stop price")
        if not 0 < self.fraction <= 1:
            raise BadRequest(f"order {self.client_order_id}: fraction must be in (0, 1]")

    @property
    def is_open(self) -> bool:
        """True while the order can still fill."""
        return self.status in OPEN_STATES

    @property
    def remaining(self) -> float | None:
        """Quantity still to fill (None while unsized)."""
        return None if self.quantity is None else self.quantity - self.filled

    def to_dict(self) -> dict[str, Any]:
        """A plain map of the order (RPC replies and events)."""
        return {
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "quantity": self.quantity,
            "type": self.type.value,
            "limit_price": self.limit_price,
            "stop_price": self.stop_price,
            "tif": self.tif.value,
            "account": self.account,
            "strategy_id": self.strategy_id,
            "parent_id": self.parent_id,
            "oco_id": self.oco_id,
            "status": self.status.value,
            "filled": self.filled,
            "avg_price": self.avg_price,
            "created_ts": self.created_ts,
            "reason": self.reason,
        }

    def same_request(self, other: Order) -> bool:
        """True when `other` asks for the same thing (an idempotent retry, not a new order)."""
        keys = ("symbol", "side", "quantity", "type", "limit_price", "stop_price", "tif", "account")
        return all(getattr(self, k) == getattr(other, k) for k in keys)

    def move_to(self, status: OrderStatus, reason: str = "") -> None:
        """Apply one transition of the state machine; Conflict if the table forbids it."""
        if status not in TRANSITIONS[self.status]:
            raise Conflict(
                f"order {self.client_order_id}: {self.status} -> {status} is not allowed"
            )
        self.status = status
        if reason:
            self.reason = reason


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of (part of) an order."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    commission: float
    ts: int
    trade_id: str = ""
    strategy_id: str = ""
    liquidity: str = field(default="taker")

    @property
    def signed_quantity(self) -> float:
        """Quantity with the sign of the position change (+ buy, - sell)."""
        return self.quantity if self.side is Side.BUY else -self.quantity

    def to_dict(self) -> dict[str, Any]:
        """A plain map of the fill (events)."""
        return {
            "trade_id": self.trade_id,
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "quantity": self.quantity,
            "price": self.price,
            "commission": self.commission,
            "ts": self.ts,
            "strategy_id": self.strategy_id,
        }
