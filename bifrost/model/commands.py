"""Order commands: submit, replace and cancel as immutable types.

Every component on the order path (CLI, TUI ticket, live strategies, risk, compliance,
execution) passes these on unchanged. They are checked once, where they are built or
read off the wire (`from_wire`), so code past the edge trusts them. The client mints
`client_order_id` (`new_client_order_id`), which lets execution recognise a resend after
a timeout as the same order instead of entering it twice.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from bifrost.bus.schema import Optional, Schema
from bifrost.errors import BadRequest
from bifrost.model.market import Side
from bifrost.model.orders import OrderType, TimeInForce

SUBMIT_FIELDS: dict[str, Any] = {
    # Optional in the schema so that an older caller without one hears from
    # `SubmitOrder.from_wire` that the id is missing, not a generic schema error.
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
"""Wire fields of `order.submit` (at risk and at execution) and `compliance.check`."""

REPLACE_FIELDS: dict[str, Any] = {
    "client_order_id": str,
    "new_client_order_id": Optional(str),
    "quantity": Optional(float),
    "limit_price": Optional(float),
    "stop_price": Optional(float),
    "tif": Optional(str),
}
"""Wire fields of `order.replace` (at risk and at execution): the order, and what changes."""

CANCEL_FIELDS: dict[str, Any] = {"client_order_id": str}
SUBMIT_PARAMS = Schema("order.submit params", SUBMIT_FIELDS)
REPLACE_PARAMS = Schema("order.replace params", REPLACE_FIELDS)
CANCEL_PARAMS = Schema("order.cancel params", CANCEL_FIELDS)
CANCEL_ALL_PARAMS = Schema("orders.cancel_all params", {"strategy_id": Optional(str)})
"""The RPC schemas of the order changes, at risk and at execution alike."""
"""Wire fields of `order.cancel`."""

_Choice = TypeVar("_Choice", bound=StrEnum)

_NEEDS_LIMIT = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_NEEDS_STOP = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})


class _IdClock:
    """Nanosecond stamps that never repeat within a process, even when the clock is coarse."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last


_ID_CLOCK = _IdClock()


def new_client_order_id(prefix: str = "o") -> str:
    """A client order id unique across processes and restarts, e.g. `o-17f3a9c2b4d5e6f7-9a0b1c2d`.

    The time part never repeats within a process and keeps ids in creation order; the
    random part separates processes that mint in the same nanosecond. 27 characters
    with the default prefix.
    """
    return f"{prefix}-{_ID_CLOCK.next():x}-{secrets.token_hex(4)}"


# -- reading wire values ----------------------------------------------------------------


def _bad(field: str, problem: str) -> BadRequest:
    return BadRequest(f"{field}: {problem}", {"field": field})


def _text(params: dict[str, Any], field: str, default: str | None = None) -> str:
    value = params.get(field)
    if value is None:
        if default is None:
            raise _bad(field, "is missing")
        return default
    if not isinstance(value, str):
        raise _bad(field, f"must be text, got {type(value).__name__}")
    return value


def _choice(params: dict[str, Any], field: str, kind: type[_Choice]) -> _Choice | None:
    value = params.get(field)
    if value is None:
        return None
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value.upper())
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in kind)
    raise _bad(field, f"unknown {field} {value!r} (one of {allowed})")


def _number(params: dict[str, Any], field: str) -> float | None:
    value = params.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(field, f"must be a number, got {type(value).__name__}")
    return float(value)


# -- checks shared by construction and the wire --------------------------------------------


def _check_id(field: str, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise _bad(field, "is missing")


def _check_quantity(quantity: float) -> None:
    if not math.isfinite(quantity) or quantity <= 0:
        raise _bad("quantity", f"must be a positive finite number, got {quantity}")


def _check_price(field: str, price: float | None) -> None:
    if price is not None and not (math.isfinite(price) and price > 0):
        raise _bad(field, f"must be a positive finite price, got {price}")


def _wire_value(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """A request to enter one order (with take_profit and stop_loss: a bracket).

    Construction checks the order is well formed, so every instance is one that can be
    sent; `BadRequest` names the field otherwise.
    """

    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    tif: TimeInForce = TimeInForce.GTC
    account: str = "paper"
    strategy_id: str = ""
    take_profit: float | None = None
    stop_loss: float | None = None

    def __post_init__(self) -> None:
        _check_id("client_order_id", self.client_order_id)
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise _bad("symbol", "is missing")
        _check_quantity(self.quantity)
        for field in ("limit_price", "stop_price", "take_profit", "stop_loss"):
            _check_price(field, getattr(self, field))
        if self.type in _NEEDS_LIMIT and self.limit_price is None:
            raise _bad("limit_price", f"a {self.type} order needs a limit price")
        if self.type in _NEEDS_STOP and self.stop_price is None:
            raise _bad("stop_price", f"a {self.type} order needs a stop price")
        if (self.take_profit is None) != (self.stop_loss is None):
            missing = "stop_loss" if self.stop_loss is None else "take_profit"
            raise _bad(missing, "a bracket needs both take_profit and stop_loss")

    @classmethod
    def new(cls, symbol: str, side: Side | str, quantity: float, **fields: Any) -> SubmitOrder:
        """An order with a freshly minted client id (unless `client_order_id` is given)."""
        fields.setdefault("client_order_id", new_client_order_id())
        return cls.from_wire({"symbol": symbol, "side": side, "quantity": quantity, **fields})

    @property
    def is_bracket(self) -> bool:
        """True when the order carries take-profit and stop-loss legs."""
        return self.take_profit is not None

    def to_wire(self) -> dict[str, Any]:
        """The `order.submit` params: enums as their text, absent prices left out."""
        return {
            name: _wire_value(getattr(self, name))
            for name in SUBMIT_FIELDS
            if getattr(self, name) is not None
        }

    @classmethod
    def from_wire(cls, params: dict[str, Any]) -> SubmitOrder:
        """Read and check `order.submit` params; `BadRequest` names the first bad field.

        Enums may come as text (any case), prices and quantity as ints; absent or nil
        optional fields take their defaults. Fields this type does not know are ignored
        (the RPC schema refuses them before this is reached).
        """
        quantity = _number(params, "quantity")
        if quantity is None:
            raise _bad("quantity", "is missing")
        side = _choice(params, "side", Side)
        if side is None:
            raise _bad("side", "is missing")
        return cls(
            client_order_id=_text(params, "client_order_id"),
            symbol=_text(params, "symbol"),
            side=side,
            quantity=quantity,
            type=_choice(params, "type", OrderType) or OrderType.MARKET,
            limit_price=_number(params, "limit_price"),
            stop_price=_number(params, "stop_price"),
            tif=_choice(params, "tif", TimeInForce) or TimeInForce.GTC,
            account=_text(params, "account", "paper"),
            strategy_id=_text(params, "strategy_id", ""),
            take_profit=_number(params, "take_profit"),
            stop_loss=_number(params, "stop_loss"),
        )


@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    """A request to cancel an open order and enter it again with changes, under a new id.

    Fields left None keep the old order's value; the quantity defaults to what is left
    to fill.
    """

    client_order_id: str
    new_client_order_id: str
    quantity: float | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    tif: TimeInForce | None = None

    def __post_init__(self) -> None:
        _check_id("client_order_id", self.client_order_id)
        _check_id("new_client_order_id", self.new_client_order_id)
        if self.new_client_order_id == self.client_order_id:
            raise _bad("new_client_order_id", "must differ from the replaced order's id")
        if self.quantity is not None:
            _check_quantity(self.quantity)
        _check_price("limit_price", self.limit_price)
        _check_price("stop_price", self.stop_price)

    @classmethod
    def new(cls, client_order_id: str, **changes: Any) -> ReplaceOrder:
        """A replace with a freshly minted new id (unless `new_client_order_id` is given)."""
        changes.setdefault("new_client_order_id", new_client_order_id())
        return cls.from_wire({"client_order_id": client_order_id, **changes})

    def to_wire(self) -> dict[str, Any]:
        """The `order.replace` params: unchanged fields left out."""
        return {
            name: _wire_value(getattr(self, name))
            for name in REPLACE_FIELDS
            if getattr(self, name) is not None
        }

    @classmethod
    def from_wire(cls, params: dict[str, Any]) -> ReplaceOrder:
        """Read and check `order.replace` params; `BadRequest` names the first bad field.

        Older callers send no new id: it is then the old one with `.r` appended.
        """
        client_order_id = _text(params, "client_order_id")
        return cls(
            client_order_id=client_order_id,
            new_client_order_id=_text(params, "new_client_order_id", f"{client_order_id}.r"),
            quantity=_number(params, "quantity"),
            limit_price=_number(params, "limit_price"),
            stop_price=_number(params, "stop_price"),
            tif=_choice(params, "tif", TimeInForce),
        )

    def applied_to(self, old: dict[str, Any]) -> SubmitOrder:
        """The order this replace enters in place of `old` (an order as `order.get` gives it).

        Side, symbol, account, strategy and type stay the old order's; prices and tif
        change where given; the quantity is the new one, else what is left to fill. One
        function, so risk checks exactly the order that execution then enters.
        """
        changes = {
            name: _wire_value(getattr(self, name))
            for name in ("limit_price", "stop_price", "tif")
            if getattr(self, name) is not None
        }
        return SubmitOrder.from_wire(
            {
                **old,
                **changes,
                "client_order_id": self.new_client_order_id,
                "quantity": self._quantity_after(old),
                "take_profit": None,
                "stop_loss": None,
            }
        )

    def _quantity_after(self, old: dict[str, Any]) -> float:
        if self.quantity is not None:
            return self.quantity
        return float((old.get("quantity") or 0) - (old.get("filled") or 0))


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """A request to cancel one order."""

    client_order_id: str

    def __post_init__(self) -> None:
        _check_id("client_order_id", self.client_order_id)

    def to_wire(self) -> dict[str, Any]:
        """The `order.cancel` params."""
        return {"client_order_id": self.client_order_id}

    @classmethod
    def from_wire(cls, params: dict[str, Any]) -> CancelOrder:
        """Read and check `order.cancel` params."""
        return cls(_text(params, "client_order_id"))
