"""The shapes of order messages on the bus (checked before any handler sees them)."""

from __future__ import annotations

from typing import Any

from bifrost.bus.schema import Optional

ORDER_FIELDS: dict[str, Any] = {
    "client_order_id": Optional(str),
    "symbol": str,
    "side": str,
    "quantity": float,
    "type": Optional(str),
    "limit_price": Optional(float),
    "stop_price": Optional(float),
    "tif": Optional(str),
    "account": Optional(str),
    "strategy_id": Optional(str),
    "take_profit": Optional(float),
    "stop_loss": Optional(float),
}
"""Fields of an order request: `order.submit` at risk and at execution."""
