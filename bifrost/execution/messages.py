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

REPLACE_FIELDS: dict[str, Any] = {
    "client_order_id": str,
    "new_client_order_id": Optional(str),
    "quantity": Optional(float),
    "limit_price": Optional(float),
    "stop_price": Optional(float),
    "tif": Optional(str),
}
"""Fields of `order.replace` (at risk and at execution): the order, and what changes."""


def replaced_order(old: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The new order a replace enters: the old one's side, symbol and account, the given
    changes, the remaining quantity unless a new one is given, and a new client id.

    One function, so risk checks exactly the order that execution then enters.
    """
    order = {name: old.get(name) for name in ORDER_FIELDS if name in old}
    for name in ("limit_price", "stop_price", "tif"):
        if changes.get(name) is not None:
            order[name] = changes[name]
    remaining = (old.get("quantity") or 0) - (old.get("filled") or 0)
    order["quantity"] = float(changes.get("quantity") or remaining)
    order["client_order_id"] = (
        changes.get("new_client_order_id") or f"{changes['client_order_id']}.r"
    )
    return order
