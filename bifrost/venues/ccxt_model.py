"""ccxt's unified structures (markets, orders, trades, tickers, books) in Bifrost's model.

The exchange runs with `number = str`, so ccxt hands over amounts and prices as the
exchange's own strings and money becomes Decimal without passing through a float. Symbols
map between Bifrost's `BTC-USDT` and ccxt's `BTC/USDT`.
"""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Any

from bifrost.model.instrument import AssetClass, Instrument
from bifrost.model.market import Bar, BookSnapshot, Quote, Side, Trade
from bifrost.model.orders import OrderStatus, OrderType
from bifrost.venues.contract import VenueFill, VenueOrder

NS_PER_MS = 1_000_000
BOOK_LEVELS = 10
"""Levels per side of a BookSnapshot taken from a ccxt order book."""


def to_ccxt_symbol(symbol: str) -> str:
    """`BTC-USDT` -> `BTC/USDT`; a symbol without a dash is passed as it is."""
    base, dash, quote = symbol.partition("-")
    return f"{base}/{quote}" if dash else symbol


def to_bifrost_symbol(symbol: str) -> str:
    """`BTC/USDT` -> `BTC-USDT` (a settle suffix such as `:USDT` is dropped)."""
    return symbol.split(":")[0].replace("/", "-")


def money(value: Any) -> Decimal:
    """A Decimal from ccxt's string (an int or a JSON float the exchange sent as a number
    is taken by its text); 0 for nothing."""
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(value if isinstance(value, str | int | Decimal) else str(value))
    except InvalidOperation:
        return Decimal(0)


def optional_money(value: Any) -> Decimal | None:
    """A Decimal, or None when the exchange gave none (or zero, its "no price")."""
    amount = money(value)
    return amount if amount else None


def nanoseconds(milliseconds: Any) -> int:
    """ccxt's int ms as int ns; the local clock when the exchange sent no time."""
    if milliseconds is None:
        return time.time_ns()
    return int(milliseconds) * NS_PER_MS


def instrument(market: dict[str, Any], venue: str) -> Instrument:
    """One ccxt market as an Instrument of venue `venue`."""
    precision, limits = market.get("precision") or {}, market.get("limits") or {}
    spot = market.get("spot", True)
    return Instrument(
        symbol=to_bifrost_symbol(market["symbol"]),
        venue=venue,
        asset_class=AssetClass.CRYPTO,
        currency=str(market.get("quote") or "USD"),
        tick_size=float(money(precision.get("price")) or Decimal("0.01")),
        lot_size=float(money(precision.get("amount")) or Decimal("0.00000001")),
        multiplier=1.0 if spot else float(money(market.get("contractSize")) or 1),
        calendar="24/7",
        min_quantity=float(money((limits.get("amount") or {}).get("min"))),
        min_notional=float(money((limits.get("cost") or {}).get("min"))),
    )


def _status(order: dict[str, Any], filled: Decimal) -> OrderStatus:
    status = order.get("status")
    if status == "closed":
        return OrderStatus.FILLED
    if status in ("canceled", "cancelled"):
        return OrderStatus.CANCELED
    if status == "rejected":
        return OrderStatus.REJECTED
    if status == "expired":
        return OrderStatus.EXPIRED
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED


def _order_type(order: dict[str, Any]) -> OrderType:
    kind = str(order.get("type") or "").lower()
    stop = optional_money(order.get("triggerPrice") or order.get("stopPrice")) is not None
    if "limit" in kind:
        return OrderType.STOP_LIMIT if stop or "stop" in kind else OrderType.LIMIT
    return OrderType.STOP if stop or "stop" in kind else OrderType.MARKET


def venue_order(order: dict[str, Any], client_order_id: str = "") -> VenueOrder:
    """A ccxt order as the venue reports it; `client_order_id` when the caller knows it
    better than the exchange's answer (a cancel's answer may carry the cancel's own id)."""
    filled = money(order.get("filled"))
    kind = _order_type(order)
    priced = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    return VenueOrder(
        client_order_id=client_order_id or str(order.get("clientOrderId") or ""),
        venue_order_id=str(order.get("id") or ""),
        symbol=to_bifrost_symbol(str(order.get("symbol") or "")),
        side=Side.BUY if order.get("side") == "buy" else Side.SELL,
        type=kind,
        quantity=money(order.get("amount")),
        filled=filled,
        status=_status(order, filled),
        # ccxt puts a market order's average price in `price`; it had no limit.
        limit_price=optional_money(order.get("price")) if priced else None,
        stop_price=optional_money(order.get("triggerPrice") or order.get("stopPrice")),
        avg_price=optional_money(order.get("average")),
        reason=str((order.get("info") or {}).get("rejectReason") or ""),
        ts=nanoseconds(order.get("lastUpdateTimestamp") or order.get("timestamp")),
    )


def venue_fill(trade: dict[str, Any], client_order_id: str) -> VenueFill:
    """A ccxt trade of this account as a fill of order `client_order_id`."""
    fee = trade.get("fee") or {}
    return VenueFill(
        trade_id=str(trade["id"]),
        client_order_id=client_order_id,
        venue_order_id=str(trade.get("order") or ""),
        symbol=to_bifrost_symbol(str(trade.get("symbol") or "")),
        side=Side.BUY if trade.get("side") == "buy" else Side.SELL,
        quantity=money(trade.get("amount")),
        price=money(trade.get("price")),
        fee=money(fee.get("cost")),
        fee_currency=str(fee.get("currency") or ""),
        ts=nanoseconds(trade.get("timestamp")),
        liquidity="maker" if trade.get("takerOrMaker") == "maker" else "taker",
    )


def bar(row: list[Any], symbol: str, timeframe: str) -> Bar:
    """One ccxt OHLCV row [ms, open, high, low, close, volume]."""
    ms, open_, high, low, close, volume = row[:6]
    return Bar(
        symbol,
        timeframe,
        nanoseconds(ms),
        float(open_),
        float(high),
        float(low),
        float(close),
        float(volume or 0),
    )


def quote(ticker: dict[str, Any]) -> Quote | None:
    """A ccxt ticker's best bid and ask, or None when one side is missing."""
    if ticker.get("bid") is None or ticker.get("ask") is None:
        return None
    return Quote(
        to_bifrost_symbol(ticker["symbol"]),
        float(ticker["bid"]),
        float(ticker["ask"]),
        float(ticker.get("bidVolume") or 0),
        float(ticker.get("askVolume") or 0),
        nanoseconds(ticker.get("timestamp")),
    )


def market_trade(trade: dict[str, Any]) -> Trade:
    """A public trade print."""
    return Trade(
        to_bifrost_symbol(trade["symbol"]),
        float(trade["price"]),
        float(trade["amount"]),
        Side.BUY if trade.get("side") == "buy" else Side.SELL,
        str(trade.get("id") or ""),
        nanoseconds(trade.get("timestamp")),
    )


def book(orderbook: dict[str, Any], symbol: str) -> BookSnapshot:
    """The top levels of a ccxt order book."""
    bids = tuple((float(p), float(s)) for p, s, *_ in orderbook["bids"][:BOOK_LEVELS] if s)
    asks = tuple((float(p), float(s)) for p, s, *_ in orderbook["asks"][:BOOK_LEVELS] if s)
    return BookSnapshot(symbol, bids, asks, nanoseconds(orderbook.get("timestamp")))
