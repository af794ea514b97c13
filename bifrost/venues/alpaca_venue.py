"""Alpaca (US equities, paper endpoint by default) as a Bifrost venue, through alpaca-py.

The REST clients run with `raw_data=True` (money is read from Alpaca's strings by
bifrost.venues.alpaca_wire), a timeout of `config.timeout_seconds` on every request
(alpaca-py sets none), and without alpaca-py's own 429 retry: it sleeps a fixed 3 s and
ignores Retry-After, so a 429 is surfaced at once as VenueRateLimited carrying the
venue's Retry-After and the session waits and retries. The websockets are read by
bifrost.venues.alpaca_streams, which reports a drop instead of reconnecting silently.

Equities only: symbols are Alpaca's tickers as they are (`AAPL`, `BRK.B`).
Error messages are built from Alpaca's status and `message` alone, so the key headers
(APCA-API-KEY-ID, APCA-API-SECRET-KEY) never reach a log line or an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from alpaca.common.exceptions import APIError
from alpaca.data.enums import DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass as AlpacaAssetClass
from alpaca.trading.enums import AssetStatus, OrderSide, QueryOrderStatus
from alpaca.trading.enums import TimeInForce as AlpacaTimeInForce
from alpaca.trading.requests import (
    GetAssetsRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    OrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
)
from alpaca.trading.stream import TradingStream
from requests.adapters import HTTPAdapter

from bifrost.errors import BadRequest
from bifrost.model.instrument import AssetClass, Instrument
from bifrost.model.market import Bar, Side
from bifrost.model.orders import Order, OrderStatus, OrderType, TimeInForce
from bifrost.venues import alpaca_wire as wire
from bifrost.venues.alpaca_streams import MarketRecords, read_one_connection, websocket_params
from bifrost.venues.config import VenueConfig
from bifrost.venues.contract import (
    Balance,
    MarketEvent,
    OrderEvent,
    VenueFill,
    VenueOrder,
    VenuePosition,
)
from bifrost.venues.credentials import Credentials
from bifrost.venues.errors import (
    VenueOrderNotFound,
    VenueRateLimited,
    VenueRejected,
    VenueUnavailable,
)

T = TypeVar("T")

TIMEFRAMES = {
    "1m": TimeFrame(1, TimeFrameUnit.Minute),
    "5m": TimeFrame(5, TimeFrameUnit.Minute),
    "15m": TimeFrame(15, TimeFrameUnit.Minute),
    "1h": TimeFrame(1, TimeFrameUnit.Hour),
    "1d": TimeFrame(1, TimeFrameUnit.Day),
}
_TIME_IN_FORCE = {
    TimeInForce.DAY: AlpacaTimeInForce.DAY,
    TimeInForce.GTC: AlpacaTimeInForce.GTC,
    TimeInForce.IOC: AlpacaTimeInForce.IOC,
    TimeInForce.FOK: AlpacaTimeInForce.FOK,
}
DEFAULT_RETRY_AFTER_S = 1.0
ACTIVITY_PAGE_SIZE = 100
OPEN_ORDERS_LIMIT = 500
"""Alpaca's largest page of orders."""
CANCEL_SETTLE_S = 1.0
"""How long cancel() waits for a `pending_cancel` order to reach its end."""
FRACTIONAL_LOT = 1e-9
"""Alpaca takes fractional shares to 9 decimals, for at least $1 of value."""
KEY_REFUSALS = ("unauthorized", "forbidden", "request is not authorized")
"""Alpaca's words for a key it does not accept (401, or 403 without an order reason)."""


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request of a session the venue's timeout (alpaca-py passes none)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        return super().send(request, **kwargs)


def _bounded(client: Any, timeout_s: float) -> Any:
    """An alpaca-py REST client with a timeout on every request and no retry of its own.

    Neither is a constructor argument of TradingClient, so the client's session and retry
    count (RESTClient attributes) are set here.
    """
    adapter = _TimeoutAdapter(timeout_s)
    client._session.mount("http://", adapter)
    client._session.mount("https://", adapter)
    client._retry = 0
    return client


class AlpacaVenue:
    """Orders, fills, balances and market data of one Alpaca account (see the module)."""

    kind = "alpaca"

    def __init__(self, config: VenueConfig, credentials: Credentials | None) -> None:
        self.name = config.name
        self.config = config
        self._credentials = credentials
        self._feed = DataFeed(config.options.get("feed", "iex"))
        self._client_ids: dict[str, str] = {}
        """Alpaca order id -> client order id, for fill activities (which carry no client id)."""
        self._trading_client: Any = None
        self._data_client: Any = None
        if credentials is not None:
            self._trading_client = _bounded(
                TradingClient(
                    credentials.api_key,
                    credentials.secret,
                    paper=config.sandbox,
                    raw_data=True,
                    url_override=config.urls.get("trading"),
                ),
                config.timeout_seconds,
            )
            self._data_client = _bounded(
                StockHistoricalDataClient(
                    credentials.api_key,
                    credentials.secret,
                    raw_data=True,
                    url_override=config.urls.get("data"),
                ),
                config.timeout_seconds,
            )

    def _keys(self) -> Credentials:
        """The stored API key; Alpaca wants one for market data too."""
        if self._credentials is None:
            raise VenueUnavailable(
                self.name,
                f"no API key (Alpaca needs one for data too): "
                f"store one with `bifrost venues login {self.name}`",
            )
        return self._credentials

    @property
    def _trading(self) -> Any:
        self._keys()
        return self._trading_client

    @property
    def _data(self) -> Any:
        self._keys()
        return self._data_client

    def __repr__(self) -> str:
        return f"AlpacaVenue(name={self.name!r}, sandbox={self.config.sandbox})"

    # ---------------------------------------------------------------- requests

    def _call(self, what: str, request: Callable[[], T], client_order_id: str = "") -> T:
        """Run one alpaca-py request, its failure as a venue error (see `_api_error`)."""
        try:
            return request()
        except APIError as exc:
            raise self._api_error(exc, what, client_order_id) from None
        except requests.Timeout:
            raise VenueUnavailable(
                self.name, f"{what}: no answer within {self.config.timeout_seconds:g} s"
            ) from None
        except requests.RequestException as exc:
            raise VenueUnavailable(
                self.name, f"{what}: cannot reach {self._host(exc)} ({type(exc).__name__})"
            ) from None

    def _host(self, exc: requests.RequestException) -> str:
        url = exc.request.url if exc.request is not None else ""
        return urlsplit(str(url)).netloc or "the venue"

    def _api_error(self, exc: APIError, what: str, client_order_id: str) -> Exception:
        status = exc.status_code or 0
        message = _message(exc)
        if status == 429:
            return VenueRateLimited(self.name, _retry_after(exc), message)
        if status == 401 or (status == 403 and message.lower().rstrip(".") in KEY_REFUSALS):
            return VenueUnavailable(self.name, f"API key refused: {message}")
        if status == 404 and client_order_id:
            return VenueOrderNotFound(self.name, client_order_id)
        if 400 <= status < 500:
            return VenueRejected(self.name, message, {"status": status, "request": what})
        return VenueUnavailable(self.name, f"{what}: HTTP {status} {message}".rstrip())

    # ---------------------------------------------------------------- data

    def instruments(self) -> list[Instrument]:
        """Active, tradable US equities (those of `config.symbols` when it names any)."""
        request = GetAssetsRequest(
            status=AssetStatus.ACTIVE, asset_class=AlpacaAssetClass.US_EQUITY
        )
        assets = self._call("list assets", lambda: self._trading.get_all_assets(request))
        wanted = set(self.config.symbols)
        out = []
        for asset in assets:
            if not asset.get("tradable") or (wanted and asset["symbol"] not in wanted):
                continue
            try:
                out.append(self._instrument(asset))
            except BadRequest:
                continue  # a ticker Bifrost cannot name (none of config.symbols)
        return out

    def _instrument(self, asset: dict[str, Any]) -> Instrument:
        fractional = bool(asset.get("fractionable"))
        return Instrument(
            symbol=asset["symbol"],
            venue=self.name,
            asset_class=AssetClass.EQUITY,
            currency="USD",
            tick_size=0.01,
            lot_size=FRACTIONAL_LOT if fractional else 1.0,
            calendar="XNYS",
            min_quantity=FRACTIONAL_LOT if fractional else 1.0,
            min_notional=1.0 if fractional else 0.0,
        )

    def bars(
        self, symbol: str, timeframe: str, since_ns: int, until_ns: int | None, limit: int
    ) -> list[Bar]:
        """Bars from the historical bars endpoint; alpaca-py follows its page tokens."""
        if timeframe not in TIMEFRAMES:
            raise BadRequest(f"timeframe {timeframe} is not one of {', '.join(TIMEFRAMES)}")
        request = StockBarsRequest(
            symbol_or_symbols=symbol,
            timeframe=TIMEFRAMES[timeframe],
            start=_datetime(since_ns),
            end=_datetime(until_ns - 1) if until_ns is not None else None,
            limit=limit,
            feed=self._feed,
        )
        raw = self._call("read bars", lambda: self._data.get_stock_bars(request))
        bars = [wire.bar(symbol, timeframe, row) for row in raw.get(symbol, [])]
        return [b for b in bars if b.ts >= since_ns and (until_ns is None or b.ts < until_ns)][
            :limit
        ]

    def stream_market(
        self, symbols: list[str], emit: Callable[[MarketEvent], None], stop: threading.Event
    ) -> None:
        """Quotes and trades (Alpaca has no L2 book for stocks) until `stop` is set."""
        stream = StockDataStream(
            self._keys().api_key,
            self._keys().secret,
            raw_data=True,
            feed=self._feed,
            url_override=self.config.urls.get("data_stream"),
            websocket_params=websocket_params(self.config.timeout_seconds),
        )
        records = MarketRecords()

        async def on_quote(raw: Any) -> None:
            emit(records.quote(raw))

        async def on_trade(raw: Any) -> None:
            emit(records.trade(raw))

        stream.subscribe_quotes(on_quote, *symbols)
        stream.subscribe_trades(on_trade, *symbols)

        async def open_stream() -> None:
            await stream._start_ws()
            await stream._send_subscribe_msg()

        self._read(stream, "market data stream", open_stream, stop)

    def _read(self, stream: Any, what: str, open_stream: Any, stop: threading.Event) -> None:
        asyncio.run(
            read_one_connection(
                self.name, what, stream, open_stream, self.config.timeout_seconds, stop
            )
        )

    # ---------------------------------------------------------------- orders

    def stream_orders(self, emit: Callable[[OrderEvent], None], stop: threading.Event) -> None:
        """Every trade update as a VenueOrder, with a VenueFill before it for each fill.

        A fill sent twice is emitted twice with the same trade id: the caller books a
        trade id once.
        """
        stream = TradingStream(
            self._keys().api_key,
            self._keys().secret,
            paper=self.config.sandbox,
            raw_data=True,
            # Annotated str, defaults to None: None picks the paper or live endpoint.
            url_override=self.config.urls.get("trading_stream"),  # type: ignore[arg-type]
            websocket_params=websocket_params(self.config.timeout_seconds),
        )

        async def on_update(message: dict[str, Any]) -> None:
            for event in wire.trade_update_events(message["data"]):
                if isinstance(event, VenueOrder):
                    self._client_ids[event.venue_order_id] = event.client_order_id
                emit(event)

        stream.subscribe_trade_updates(on_update)
        self._read(stream, "trade update stream", stream._start_ws, stop)

    def submit(self, order: Order) -> VenueOrder:
        """Send `order` under its client order id; a retry of one Alpaca already has returns
        that order."""
        request = self._order_request(order)
        cid = order.client_order_id
        try:
            raw = self._call("submit order", lambda: self._trading.submit_order(request))
        except VenueRejected as exc:
            if "client_order_id must be unique" not in exc.reason:
                raise
            return self.order(cid, order.symbol)
        return self._known(wire.venue_order(raw))

    def _order_request(self, order: Order) -> OrderRequest:
        if order.quantity is None:
            raise VenueRejected(self.name, "an order at Alpaca needs a quantity")
        fields: dict[str, Any] = {
            "symbol": order.symbol,
            "qty": order.quantity,
            "side": OrderSide.BUY if order.side is Side.BUY else OrderSide.SELL,
            "time_in_force": _TIME_IN_FORCE[order.tif],
            "client_order_id": order.client_order_id,
        }
        if order.type is OrderType.MARKET:
            return MarketOrderRequest(**fields)
        if order.type is OrderType.LIMIT:
            return LimitOrderRequest(limit_price=order.limit_price, **fields)
        if order.type is OrderType.STOP:
            return StopOrderRequest(stop_price=order.stop_price, **fields)
        return StopLimitOrderRequest(
            limit_price=order.limit_price, stop_price=order.stop_price, **fields
        )

    def cancel(self, client_order_id: str, symbol: str) -> VenueOrder:
        """Cancel by Alpaca's order id; the order as it stands afterwards. Alpaca answers 422
        for an order that ended first (it filled just before the cancel): that order is
        reported as it is, FILLED, never as cancelled."""
        current = self.order(client_order_id, symbol)
        if current.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
            return current
        # A 422 says the order is not cancelable any more: read what it became instead.
        with contextlib.suppress(VenueRejected):
            self._call(
                "cancel order",
                lambda: self._trading.cancel_order_by_id(current.venue_order_id),
                client_order_id,
            )
        deadline = time.monotonic() + CANCEL_SETTLE_S
        while True:
            raw = self._raw_order(client_order_id)
            if raw.get("status") != "pending_cancel" or time.monotonic() > deadline:
                return self._known(wire.venue_order(raw))
            time.sleep(0.05)

    def order(self, client_order_id: str, symbol: str) -> VenueOrder:
        """The order Alpaca has under `client_order_id`."""
        return self._known(wire.venue_order(self._raw_order(client_order_id)))

    def _raw_order(self, client_order_id: str) -> dict[str, Any]:
        return self._call(
            "read order",
            lambda: self._trading.get_order_by_client_id(client_order_id),
            client_order_id,
        )

    def _known(self, order: VenueOrder) -> VenueOrder:
        self._client_ids[order.venue_order_id] = order.client_order_id
        return order

    def open_orders(self, symbols: list[str]) -> list[VenueOrder]:
        """Open orders of this account (up to Alpaca's page of 500), of `symbols` if given."""
        request = GetOrdersRequest(
            status=QueryOrderStatus.OPEN, limit=OPEN_ORDERS_LIMIT, symbols=symbols or None
        )
        raw = self._call("list open orders", lambda: self._trading.get_orders(request))
        return [self._known(wire.venue_order(row)) for row in raw]

    def fills_since(self, since_ns: int, symbols: list[str]) -> list[VenueFill]:
        """FILL account activities at or after `since_ns`, oldest first, all pages."""
        params: dict[str, Any] = {
            "after": wire.format_ts(since_ns - 1),
            "direction": "asc",
            "page_size": ACTIVITY_PAGE_SIZE,
        }
        fills: list[VenueFill] = []
        while True:
            page = self._call(
                "read fills", lambda: self._trading.get("/account/activities/FILL", params)
            )
            for activity in page:
                if symbols and activity["symbol"] not in symbols:
                    continue
                fill = wire.activity_fill(activity, self._client_id(activity["order_id"]))
                if fill.ts >= since_ns:
                    fills.append(fill)
            if len(page) < ACTIVITY_PAGE_SIZE:
                return sorted(fills, key=lambda f: f.ts)
            params["page_token"] = page[-1]["id"]

    def _client_id(self, venue_order_id: str) -> str:
        if venue_order_id not in self._client_ids:
            raw = self._call("read order", lambda: self._trading.get_order_by_id(venue_order_id))
            self._known(wire.venue_order(raw))
        return self._client_ids[venue_order_id]

    def balances(self) -> list[Balance]:
        """The account's cash (Alpaca's buying power is margin, not held money)."""
        account = self._call("read account", self._trading.get_account)
        cash = Decimal(str(account["cash"]))
        return [Balance(account.get("currency") or "USD", cash, cash)] if cash else []

    def positions(self) -> list[VenuePosition]:
        """Open positions, short ones negative."""
        raw = self._call("read positions", self._trading.get_all_positions)
        out = []
        for row in raw:
            quantity = Decimal(str(row["qty"]))
            if row.get("side") == "short" and quantity > 0:
                quantity = -quantity
            out.append(
                VenuePosition(
                    row["symbol"], quantity, wire.decimal_or_none(row.get("avg_entry_price"))
                )
            )
        return out

    def close(self) -> None:
        """Close the HTTP sessions (streams close when their `stop` is set)."""
        for client in (self._trading_client, self._data_client):
            if client is not None:
                client._session.close()


def _message(exc: APIError) -> str:
    """Alpaca's `message` of an error reply (its body when that is not JSON)."""
    try:
        body = json.loads(str(exc))
    except ValueError:
        return str(exc)[:200].strip()
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)[:200]


def _retry_after(exc: APIError) -> float:
    response = exc.response
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(float(value), 0.0) if value else DEFAULT_RETRY_AFTER_S
    except ValueError:
        return DEFAULT_RETRY_AFTER_S


def _datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)
