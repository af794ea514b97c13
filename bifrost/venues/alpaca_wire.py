"""Alpaca's JSON records in Bifrost's model: orders, trade updates, fill activities, bars.

alpaca-py runs with `raw_data=True`, so the venue's own JSON reaches this module and money
is read from the strings Alpaca sends (never through pydantic's floats).

A fill's trade id is `<alpaca order id>:<cumulative filled qty after it>`. The trade
update stream and the account activities endpoint describe one execution with different
ids (the stream's `execution_id` also tags `new` events; an activity's id is
`<time>::<uuid>` of its own), but both carry the order id and the cumulative quantity,
so this key is the same whichever way a fill is learnt and books it exactly once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bifrost.model.market import Bar, Side
from bifrost.model.orders import OrderStatus, OrderType
from bifrost.venues.contract import VenueFill, VenueOrder

FEE_CURRENCY = "USD"
"""Alpaca's equity trading is commission-free: fills carry a zero fee in dollars."""

_STATUS = {
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "replaced": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
"""Alpaca's ended or filling states; every other state (new, accepted, pending_new,
pending_cancel, pending_replace, held, calculated, done_for_day, stopped, suspended) is an
order still working: ACCEPTED, or PARTIALLY_FILLED once part of it filled."""

_TYPE = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP,
    "stop_limit": OrderType.STOP_LIMIT,
    "trailing_stop": OrderType.STOP,
}

_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def parse_ts(text: str) -> int:
    """RFC 3339 time as Alpaca stamps it (up to nanoseconds) in int ns UTC."""
    match = _RFC3339.match(text.strip())
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    whole, fraction, zone = match.groups()
    offset = "+00:00" if zone in (None, "Z") else zone
    seconds = int(datetime.fromisoformat(whole + offset).timestamp())
    nanos = int((fraction or "0")[:9].ljust(9, "0"))
    return seconds * 1_000_000_000 + nanos


def format_ts(ns: int) -> str:
    """int ns UTC as RFC 3339 with nanoseconds (what Alpaca's query parameters take)."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    whole = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{nanos:09d}Z"


def decimal_or_none(value: Any) -> Decimal | None:
    """A Decimal from Alpaca's string (None and "" stay None)."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def side_of(value: str) -> Side:
    """Alpaca's "buy"/"sell" as a Side."""
    return Side.BUY if value == "buy" else Side.SELL


def order_status(raw: dict[str, Any]) -> OrderStatus:
    """The Bifrost status of an Alpaca order record."""
    status = _STATUS.get(raw.get("status", ""))
    if status is not None:
        return status
    filled = decimal_or_none(raw.get("filled_qty")) or Decimal(0)
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED


def order_reason(raw: dict[str, Any], event: str = "") -> str:
    """Why an order ended, in Alpaca's words where it gives any."""
    status = raw.get("status", "")
    if status == "replaced":
        return f"replaced by {raw.get('replaced_by')}"
    if status in ("canceled", "expired", "rejected"):
        return event or status
    return ""


def venue_order(raw: dict[str, Any], ts: int | None = None, event: str = "") -> VenueOrder:
    """An Alpaca order record (REST reply or the `order` of a trade update)."""
    kind = raw.get("type") or raw.get("order_type") or "market"
    stamp = raw.get("updated_at") or raw.get("submitted_at") or raw.get("created_at")
    return VenueOrder(
        client_order_id=raw["client_order_id"],
        venue_order_id=raw["id"],
        symbol=raw["symbol"],
        side=side_of(raw["side"]),
        type=_TYPE.get(kind, OrderType.MARKET),
        quantity=decimal_or_none(raw.get("qty")) or Decimal(0),
        filled=decimal_or_none(raw.get("filled_qty")) or Decimal(0),
        status=order_status(raw),
        limit_price=decimal_or_none(raw.get("limit_price")),
        stop_price=decimal_or_none(raw.get("stop_price")),
        avg_price=decimal_or_none(raw.get("filled_avg_price")),
        reason=order_reason(raw, event),
        ts=ts if ts is not None else (parse_ts(stamp) if stamp else 0),
    )


def trade_id(venue_order_id: str, cumulative_qty: Decimal) -> str:
    """The key of one execution: the order and its filled quantity after it (see module)."""
    return f"{venue_order_id}:{cumulative_qty.normalize():f}"


def trade_update_events(data: dict[str, Any]) -> list[VenueOrder | VenueFill]:
    """The `data` of one trade update: a VenueFill first for fill and partial_fill, then
    the order as it stands after the event."""
    raw = data["order"]
    event = data.get("event", "")
    ts = parse_ts(data["timestamp"]) if data.get("timestamp") else None
    order = venue_order(raw, ts, event)
    if event not in ("fill", "partial_fill"):
        return [order]
    fill = VenueFill(
        trade_id=trade_id(order.venue_order_id, order.filled),
        client_order_id=order.client_order_id,
        venue_order_id=order.venue_order_id,
        symbol=order.symbol,
        side=order.side,
        quantity=Decimal(str(data["qty"])),
        price=Decimal(str(data["price"])),
        fee=Decimal(0),
        fee_currency=FEE_CURRENCY,
        ts=order.ts,
    )
    return [fill, order]


def activity_fill(activity: dict[str, Any], client_order_id: str) -> VenueFill:
    """One FILL account activity as a VenueFill (its client order id looked up by the caller)."""
    return VenueFill(
        trade_id=trade_id(activity["order_id"], Decimal(str(activity["cum_qty"]))),
        client_order_id=client_order_id,
        venue_order_id=activity["order_id"],
        symbol=activity["symbol"],
        side=side_of(activity["side"]),
        quantity=Decimal(str(activity["qty"])),
        price=Decimal(str(activity["price"])),
        fee=Decimal(0),
        fee_currency=FEE_CURRENCY,
        ts=parse_ts(activity["transaction_time"]),
    )


def bar(symbol: str, timeframe: str, raw: dict[str, Any]) -> Bar:
    """One bar of the historical bars endpoint (`t`, `o`, `h`, `l`, `c`, `v`)."""
    return Bar(
        symbol=symbol,
        timeframe=timeframe,
        ts=parse_ts(raw["t"]),
        open=float(raw["o"]),
        high=float(raw["h"]),
        low=float(raw["l"]),
        close=float(raw["c"]),
        volume=float(raw["v"]),
    )
