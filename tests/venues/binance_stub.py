"""A Binance spot stub on loopback that speaks the REST, market-stream and ws-api wire
formats ccxt's binance and ccxt.pro binance use, so the real client code runs against it.

REST (https://developers.binance.com/docs/binance-spot-api-docs/rest-api): /api/v3 time,
ping, exchangeInfo, klines, depth, order (POST/GET/DELETE), openOrders, myTrades, account;
signed requests are checked like Binance checks them (X-MBX-APIKEY, HMAC-SHA256 of the
query and body, timestamp within recvWindow of the stub's own clock). Market streams: /ws
(ccxt appends /<stream index>) with SUBSCRIBE of <sym>@bookTicker, <sym>@trade and
<sym>@depth@100ms. User data: the ws-api at /ws-api/v3 with
userDataStream.subscribe.signature, then executionReport events wrapped in
{"subscriptionId", "event"}, the way ccxt 4.5 follows a spot account.

Tests drive it through `BinanceStub` (fill, reject_next, rate_limit_next, drop_streams,
duplicate_next_fill, clock_skew_s, set_balance, delist, invert_kline); as a process:
`python -m tests.venues.binance_stub --port 0 --ready-file PATH [--symbols A,B] [--auto-fill]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import math
import random
import time
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.venues.stub_server import StubServer, serve_until_terminated, stub_arguments

TEST_API_KEY = "stub-binance-api-key-0001"
TEST_SECRET = "stub-binance-secret-0001"
DEFAULT_SYMBOLS = ("BTC-USDT", "ETH-USDT")
START_PRICES = {"BTC": Decimal("30000.00"), "ETH": Decimal("2000.00")}
FEE_RATE = Decimal("0.001")
MINUTE_MS = 60_000
INTERVAL_MS = {
    **{f"{n}m": n * MINUTE_MS for n in (1, 3, 5, 15, 30)},
    **{f"{n}h": n * 60 * MINUTE_MS for n in (1, 2, 4, 6, 8, 12)},
    **{f"{n}d": n * 1440 * MINUTE_MS for n in (1, 3)},
    "1w": 7 * 1440 * MINUTE_MS,
}
"""Binance's kline intervals (all but 1s and 1M)."""

INSUFFICIENT = "Account has insufficient balance for requested action."
UNKNOWN_ORDER = "Unknown order sent."
NO_SUCH_ORDER = "Order does not exist."


@dataclass
class Market:
    """One spot symbol with Binance's filters."""

    base: str
    quote: str
    tick: Decimal = Decimal("0.01")
    step: Decimal = Decimal("0.00001")
    min_notional: Decimal = Decimal("5")
    trading: bool = True
    price: Decimal = Decimal("100.00")
    book_id: int = 1
    sent_levels: tuple[set[str], set[str]] = field(default_factory=lambda: (set(), set()))
    """Bid and ask prices the last depth update left in the book."""

    @property
    def id(self) -> str:
        return self.base + self.quote


@dataclass
class StubOrder:
    """An order as the stub's matching engine keeps it."""

    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    tif: str
    quantity: Decimal
    price: Decimal
    stop_price: Decimal
    created_ms: int
    status: str = "NEW"
    executed: Decimal = Decimal(0)
    quote: Decimal = Decimal(0)
    updated_ms: int = 0
    triggered: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")


@dataclass
class StubTrade:
    """One execution of an order."""

    trade_id: int
    order: StubOrder
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    maker: bool


@dataclass
class Controls:
    """What the next requests meet: scenario switches set by a test."""

    reject_reason: str = ""
    rate_limit: tuple[int, float] | None = None
    duplicate_fill: bool = False
    inverted_klines: set[int] = field(default_factory=set)
    """Open times (ms) of the klines served with high and low swapped."""


class ApiError(Exception):
    """A Binance error answer: HTTP status, code and msg."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def text(value: Decimal) -> str:
    """A decimal as Binance prints it: eight places."""
    return f"{value:.8f}"


@dataclass
class Account:
    """Balances as free and locked amounts per asset."""

    free: dict[str, Decimal] = field(default_factory=dict)
    locked: dict[str, Decimal] = field(default_factory=dict)

    def move(self, asset: str, free: Decimal = Decimal(0), locked: Decimal = Decimal(0)) -> None:
        self.free[asset] = self.free.get(asset, Decimal(0)) + free
        self.locked[asset] = self.locked.get(asset, Decimal(0)) + locked


class BinanceStub:
    """The stub exchange: its state, its HTTP and websocket handlers and test controls."""

    def __init__(
        self,
        symbols: tuple[str, ...] = DEFAULT_SYMBOLS,
        port: int = 0,
        auto_fill: bool = False,
        api_key: str = TEST_API_KEY,
        secret: str = TEST_SECRET,
        seed: int = 7,
    ) -> None:
        self.api_key, self.secret = api_key, secret
        self.auto_fill = auto_fill
        self.clock_skew_s = 0.0
        self.controls = Controls()
        self.random = random.Random(seed)
        self.markets: dict[str, Market] = {}
        for symbol in symbols:
            base, quote = symbol.split("-")
            self.markets[base + quote] = Market(
                base, quote, price=START_PRICES.get(base, Decimal(100))
            )
        self.account = Account()
        for asset, amount in (("USDT", "100000"), ("BTC", "1"), ("ETH", "10")):
            self.account.move(asset, Decimal(amount))
        self.orders: dict[int, StubOrder] = {}
        self.trades: list[StubTrade] = []
        self.requests: list[str] = []
        self._order_ids = itertools.count(1001)
        self._trade_ids = itertools.count(50001)
        self._market_sockets: dict[web.WebSocketResponse, set[str]] = {}
        self._user_sockets: set[web.WebSocketResponse] = set()
        self._publisher: asyncio.Task[None] | None = None
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/ws", self._market_socket)
        app.router.add_get("/ws/{stream}", self._market_socket)
        app.router.add_get("/ws-api/v3", self._user_socket)
        app.router.add_route("*", "/api/v3/{path}", self._rest)
        self.server = StubServer(app, port)

    # ---- life cycle and test controls -------------------------------------------------

    def start(self) -> dict[str, str]:
        """Serve; the base URLs (`rest`, `ws`) a CcxtVenue takes as `urls`."""
        self.server.start()
        self.server.call(self._start_publisher())
        return self.urls

    async def _start_publisher(self) -> None:
        if self.auto_fill:
            self._publisher = asyncio.ensure_future(self._publish_market_data())

    def stop(self) -> None:
        """Close every connection and stop serving; safe to call twice."""
        if self.server.running:
            with contextlib.suppress(Exception):
                self.server.call(self._close_sockets())
        self.server.stop()

    @property
    def urls(self) -> dict[str, str]:
        """The origins every REST and websocket URL of the exchange is moved to."""
        return {"rest": self.server.http_url, "ws": self.server.ws_url}

    def now_ms(self) -> int:
        """The stub's clock: the real one off by `clock_skew_s`."""
        return int((time.time() + self.clock_skew_s) * 1000)

    def fill(self, client_order_id: str, qty: str, price: str) -> int:
        """Execute `qty` of an open order at `price`; the trade id."""
        return self.server.call(
            self._fill_by_client_id(client_order_id, Decimal(qty), Decimal(price))
        )

    async def _fill_by_client_id(self, client_order_id: str, qty: Decimal, price: Decimal) -> int:
        order = self._find(client_order_id, None)
        if order is None or not order.is_open:
            raise KeyError(f"no open order {client_order_id}")
        return await self._execute(order, qty, price, maker=order.type != "MARKET")

    def reject_next(self, reason: str) -> None:
        """The next new order is refused with Binance's -2010 and `reason`."""
        self.controls.reject_reason = reason

    def rate_limit_next(self, status: int = 429, retry_after: float = 2) -> None:
        """The next request is answered `status` (429 or 418) with Retry-After."""
        self.controls.rate_limit = (status, retry_after)

    def duplicate_next_fill(self) -> None:
        """The next execution report of a trade is sent twice."""
        self.controls.duplicate_fill = True

    def drop_streams(self) -> None:
        """Cut every websocket connection, as a network failure would."""
        self.server.call(self._close_sockets())

    def set_balance(self, asset: str, free: str) -> None:
        """Set an asset's free balance (nothing locked)."""
        self.account.free[asset] = Decimal(free)
        self.account.locked[asset] = Decimal(0)

    def delist(self, symbol: str) -> None:
        """Stop trading a Bifrost symbol: new orders meet -1121 Invalid symbol."""
        self.markets[symbol.replace("-", "")].trading = False

    def invert_kline(self, open_ms: int) -> None:
        """Serve the kline opening at `open_ms` with its high below its low: a provably
        invalid bar."""
        self.controls.inverted_klines.add(open_ms)

    def order_status(self, client_order_id: str) -> str:
        """The stub's status of an order."""
        order = self._find(client_order_id, None)
        return order.status if order else "UNKNOWN"

    def user_streams(self) -> int:
        """How many user data streams are subscribed now."""
        return len(self._user_sockets)

    # ---- HTTP ---------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        if self.controls.rate_limit is not None:
            status, retry_after = self.controls.rate_limit
            self.controls.rate_limit = None
            body = {"code": -1003, "msg": "Too many requests; current limit is 6000 weight."}
            headers = {"Retry-After": f"{retry_after:g}"}
            return web.json_response(body, status=status, headers=headers)
        try:
            return await handler(request)
        except ApiError as error:
            return web.json_response({"code": error.code, "msg": error.msg}, status=error.status)

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path, method = request.match_info["path"], request.method
        public = {
            ("GET", "ping"): lambda _: {},
            ("GET", "time"): lambda _: {"serverTime": self.now_ms()},
            ("GET", "exchangeInfo"): self._exchange_info,
            ("GET", "klines"): self._klines,
            ("GET", "depth"): self._depth,
        }
        signed = {
            ("POST", "order"): self._new_order,
            ("GET", "order"): self._query_order,
            ("DELETE", "order"): self._cancel_order,
            ("GET", "openOrders"): self._open_orders,
            ("GET", "myTrades"): self._my_trades,
            ("GET", "account"): self._account,
        }
        if (method, path) in public:
            return web.json_response(public[(method, path)](dict(request.query)))
        if (method, path) not in signed:
            raise ApiError(404, -1100, f"Illegal characters found in parameter 'path': {path}")
        body = await request.text()
        params = self._check_signed(request, body)
        result = signed[(method, path)](params)
        if asyncio.iscoroutine(result):
            result = await result
        return web.json_response(result)

    def _check_signed(self, request: web.Request, body: str) -> dict[str, str]:
        key = request.headers.get("X-MBX-APIKEY")
        if not key:
            raise ApiError(401, -2014, "API-key format invalid.")
        if key != self.api_key:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        total = request.query_string + body
        payload, _, signature = total.rpartition("&signature=")
        params = dict(parse_qsl(payload, keep_blank_values=True))
        self._check_signature(payload, signature, params)
        return params

    def _check_signature(self, payload: str, signature: str, params: dict[str, str]) -> None:
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError(400, -1022, "Signature for this request is not valid.")
        timestamp = int(params.get("timestamp", "0"))
        window = int(params.get("recvWindow", "5000"))
        server_time = self.now_ms()
        if timestamp > server_time + 1000 or server_time - timestamp > window:
            raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")

    def _exchange_info(self, _: dict[str, str]) -> dict[str, Any]:
        return {
            "timezone": "UTC",
            "serverTime": self.now_ms(),
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": [self._symbol_info(m) for m in self.markets.values()],
        }

    @staticmethod
    def _symbol_info(market: Market) -> dict[str, Any]:
        return {
            "symbol": market.id,
            "status": "TRADING" if market.trading else "BREAK",
            "baseAsset": market.base,
            "baseAssetPrecision": 8,
            "quoteAsset": market.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": text(market.tick),
                    "maxPrice": "1000000.00000000",
                    "tickSize": text(market.tick),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": text(market.step),
                    "maxQty": "9000.00000000",
                    "stepSize": text(market.step),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": text(market.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"],
        }

    def _market(self, symbol_id: str | None) -> Market:
        market = self.markets.get(symbol_id or "")
        if market is None:
            raise ApiError(400, -1121, "Invalid symbol.")
        return market

    def _klines(self, params: dict[str, str]) -> list[list[Any]]:
        market = self._market(params.get("symbol"))
        interval = INTERVAL_MS[params["interval"]]
        limit = min(int(params.get("limit", "500")), 1000)
        now = self.now_ms()
        end = min(int(params.get("endTime", now)), now)
        start = int(params.get("startTime", end - limit * interval))
        first = -(-start // interval) * interval
        rows = []
        for open_ms in range(first, end + 1, interval):
            if len(rows) == limit or open_ms > now:
                break
            row = self._kline(market, open_ms, interval)
            if open_ms in self.controls.inverted_klines:
                row[2], row[3] = row[3], row[2]
            rows.append(row)
        return rows

    @staticmethod
    def _kline(market: Market, open_ms: int, interval: int) -> list[Any]:
        bar = random.Random(zlib.crc32(f"{market.id}{open_ms}".encode()))
        middle = float(market.price) * (1 + 0.02 * math.sin(open_ms / 3.6e6))
        open_, close = middle * bar.uniform(0.998, 1.002), middle * bar.uniform(0.998, 1.002)
        high, low = max(open_, close) * 1.001, min(open_, close) * 0.999
        prices = [f"{p:.2f}" for p in (open_, high, low, close)]
        volume = f"{bar.uniform(1, 50):.5f}"
        return [open_ms, *prices, volume, open_ms + interval - 1, "0", 10, "0", "0", "0"]

    def _book(self, market: Market) -> tuple[list[list[str]], list[list[str]]]:
        bids = [
            [text(market.price - market.tick * (i + 1)), text(Decimal(i + 1))] for i in range(5)
        ]
        asks = [
            [text(market.price + market.tick * (i + 1)), text(Decimal(i + 1))] for i in range(5)
        ]
        return bids, asks

    def _depth(self, params: dict[str, str]) -> dict[str, Any]:
        market = self._market(params.get("symbol"))
        bids, asks = self._book(market)
        return {"lastUpdateId": market.book_id, "bids": bids, "asks": asks}

    # ---- orders -------------------------------------------------------------------------

    async def _new_order(self, params: dict[str, str]) -> dict[str, Any]:
        market = self._market(params.get("symbol"))
        if self.controls.reject_reason:
            reason, self.controls.reject_reason = self.controls.reject_reason, ""
            raise ApiError(400, -2010, reason)
        if not market.trading:
            raise ApiError(400, -1121, "Invalid symbol.")
        client_order_id = params.get("newClientOrderId") or f"stub-{next(self._order_ids)}"
        if any(o.client_order_id == client_order_id and o.is_open for o in self.orders.values()):
            raise ApiError(400, -2010, "Duplicate order sent.")
        order = StubOrder(
            order_id=next(self._order_ids),
            client_order_id=client_order_id,
            symbol=market.id,
            side=params["side"],
            type=params["type"],
            tif=params.get("timeInForce", "GTC"),
            quantity=Decimal(params["quantity"]),
            price=Decimal(params.get("price", "0")),
            stop_price=Decimal(params.get("stopPrice", "0")),
            created_ms=self.now_ms(),
        )
        self._check_filters(market, order)
        self._lock(market, order)
        self.orders[order.order_id] = order
        await self._report(order, "NEW")
        if self.auto_fill:
            await self._match(market, order)
        return self._order_body(order, fills=True)

    def _check_filters(self, market: Market, order: StubOrder) -> None:
        if order.quantity < market.step or order.quantity % market.step:
            raise ApiError(400, -1013, "Filter failure: LOT_SIZE")
        if order.price and order.price % market.tick:
            raise ApiError(400, -1013, "Filter failure: PRICE_FILTER")
        if order.quantity * (order.price or market.price) < market.min_notional:
            raise ApiError(400, -1013, "Filter failure: NOTIONAL")

    def _lock(self, market: Market, order: StubOrder) -> None:
        if order.side == "BUY":
            asset, amount = market.quote, order.quantity * (order.price or market.price)
        else:
            asset, amount = market.base, order.quantity
        if self.account.free.get(asset, Decimal(0)) < amount:
            raise ApiError(400, -2010, INSUFFICIENT)
        self.account.move(asset, -amount, amount)

    def _unlock_rest(self, market: Market, order: StubOrder) -> None:
        remaining = order.quantity - order.executed
        if order.side == "BUY":
            amount = remaining * (order.price or market.price)
            self.account.move(market.quote, amount, -amount)
        else:
            self.account.move(market.base, remaining, -remaining)

    async def _execute(self, order: StubOrder, qty: Decimal, price: Decimal, maker: bool) -> int:
        market = self.markets[order.symbol]
        qty = min(qty, order.quantity - order.executed)
        cost = qty * price
        if order.side == "BUY":
            locked = qty * (order.price or market.price)
            self.account.move(market.quote, locked - cost, -locked)
            fee, fee_asset = qty * FEE_RATE, market.base
            self.account.move(market.base, qty - fee)
        else:
            self.account.move(market.base, locked=-qty)
            fee, fee_asset = cost * FEE_RATE, market.quote
            self.account.move(market.quote, cost - fee)
        order.executed += qty
        order.quote += cost
        order.status = "FILLED" if order.executed == order.quantity else "PARTIALLY_FILLED"
        trade = StubTrade(
            next(self._trade_ids), order, price, qty, fee, fee_asset, self.now_ms(), maker
        )
        self.trades.append(trade)
        duplicate, self.controls.duplicate_fill = self.controls.duplicate_fill, False
        for _ in range(2 if duplicate else 1):
            await self._report(order, "TRADE", trade)
        return trade.trade_id

    def _find(self, client_order_id: str | None, order_id: str | None) -> StubOrder | None:
        if order_id:
            return self.orders.get(int(order_id))
        matches = [o for o in self.orders.values() if o.client_order_id == client_order_id]
        return matches[-1] if matches else None

    def _query_order(self, params: dict[str, str]) -> dict[str, Any]:
        self._market(params.get("symbol"))
        order = self._find(params.get("origClientOrderId"), params.get("orderId"))
        if order is None:
            raise ApiError(400, -2013, NO_SUCH_ORDER)
        return self._order_body(order)

    async def _cancel_order(self, params: dict[str, str]) -> dict[str, Any]:
        market = self._market(params.get("symbol"))
        order = self._find(params.get("origClientOrderId"), params.get("orderId"))
        if order is None or not order.is_open:
            raise ApiError(400, -2011, UNKNOWN_ORDER)
        self._unlock_rest(market, order)
        order.status = "CANCELED"
        await self._report(order, "CANCELED")
        body = self._order_body(order)
        body["origClientOrderId"] = order.client_order_id
        body["clientOrderId"] = params.get("newClientOrderId", f"cancel-{order.order_id}")
        return body

    def _open_orders(self, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = params.get("symbol")
        return [
            self._order_body(o)
            for o in self.orders.values()
            if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def _my_trades(self, params: dict[str, str]) -> list[dict[str, Any]]:
        self._market(params.get("symbol"))
        start = int(params.get("startTime", "0"))
        end = int(params.get("endTime", str(2**62)))
        limit = min(int(params.get("limit", "500")), 1000)
        chosen = [
            t
            for t in self.trades
            if t.order.symbol == params["symbol"] and start <= t.time_ms <= end
        ]
        return [self._trade_body(t) for t in chosen[:limit]]

    def _account(self, _: dict[str, str]) -> dict[str, Any]:
        assets = sorted(set(self.account.free) | set(self.account.locked))
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "updateTime": self.now_ms(),
            "accountType": "SPOT",
            "balances": [
                {
                    "asset": a,
                    "free": text(self.account.free.get(a, Decimal(0))),
                    "locked": text(self.account.locked.get(a, Decimal(0))),
                }
                for a in assets
            ],
            "permissions": ["SPOT"],
        }

    def _order_body(self, order: StubOrder, fills: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "symbol": order.symbol,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "price": text(order.price),
            "origQty": text(order.quantity),
            "executedQty": text(order.executed),
            "cummulativeQuoteQty": text(order.quote),
            "status": order.status,
            "timeInForce": order.tif,
            "type": order.type,
            "side": order.side,
            "stopPrice": text(order.stop_price),
            "time": order.created_ms,
            "updateTime": order.updated_ms or order.created_ms,
            "transactTime": order.updated_ms or order.created_ms,
            "workingTime": order.created_ms,
            "isWorking": True,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if fills:
            body["fills"] = [
                {
                    "price": text(t.price),
                    "qty": text(t.qty),
                    "commission": text(t.commission),
                    "commissionAsset": t.commission_asset,
                    "tradeId": t.trade_id,
                }
                for t in self.trades
                if t.order is order
            ]
        return body

    @staticmethod
    def _trade_body(trade: StubTrade) -> dict[str, Any]:
        return {
            "symbol": trade.order.symbol,
            "id": trade.trade_id,
            "orderId": trade.order.order_id,
            "orderListId": -1,
            "price": text(trade.price),
            "qty": text(trade.qty),
            "quoteQty": text(trade.price * trade.qty),
            "commission": text(trade.commission),
            "commissionAsset": trade.commission_asset,
            "time": trade.time_ms,
            "isBuyer": trade.order.side == "BUY",
            "isMaker": trade.maker,
            "isBestMatch": True,
        }

    # ---- websockets ---------------------------------------------------------------------

    async def _market_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        streams: set[str] = set()
        self._market_sockets[socket] = streams
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                command = json.loads(message.data)
                if command.get("method") == "SUBSCRIBE":
                    streams.update(command.get("params", []))
                elif command.get("method") == "UNSUBSCRIBE":
                    streams.difference_update(command.get("params", []))
                await socket.send_json({"result": None, "id": command.get("id")})
        finally:
            self._market_sockets.pop(socket, None)
        return socket

    async def _user_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    await socket.send_json(self._ws_api_answer(socket, json.loads(message.data)))
        finally:
            self._user_sockets.discard(socket)
        return socket

    def _ws_api_answer(self, socket: web.WebSocketResponse, request: dict[str, Any]) -> Any:
        request_id = request.get("id")
        if request.get("method") != "userDataStream.subscribe.signature":
            error = {"code": -1100, "msg": f"Unsupported method {request.get('method')}"}
            return {"id": request_id, "status": 400, "error": error}
        params = dict(request.get("params") or {})
        signature = str(params.pop("signature", ""))
        try:
            if params.get("apiKey") != self.api_key:
                raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
            payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
            self._check_signature(payload, signature, {k: str(v) for k, v in params.items()})
        except ApiError as error:
            body = {"code": error.code, "msg": error.msg}
            return {"id": request_id, "status": error.status, "error": body}
        self._user_sockets.add(socket)
        return {"id": request_id, "status": 200, "result": {"subscriptionId": 0}}

    async def _report(
        self, order: StubOrder, execution: str, trade: StubTrade | None = None
    ) -> None:
        order.updated_ms = trade.time_ms if trade else self.now_ms()
        canceled = execution == "CANCELED"
        event = {
            "e": "executionReport",
            "E": self.now_ms(),
            "s": order.symbol,
            "c": f"cancel-{order.order_id}" if canceled else order.client_order_id,
            "S": order.side,
            "o": order.type,
            "f": order.tif,
            "q": text(order.quantity),
            "p": text(order.price),
            "P": text(order.stop_price),
            "F": "0.00000000",
            "g": -1,
            "C": order.client_order_id if canceled else "",
            "x": execution,
            "X": order.status,
            "r": "NONE",
            "i": order.order_id,
            "l": text(trade.qty) if trade else "0.00000000",
            "z": text(order.executed),
            "L": text(trade.price) if trade else "0.00000000",
            "n": text(trade.commission) if trade else "0",
            "N": trade.commission_asset if trade else None,
            "T": order.updated_ms,
            "t": trade.trade_id if trade else -1,
            "I": 1,
            "w": order.is_open,
            "m": trade.maker if trade else False,
            "M": False,
            "O": order.created_ms,
            "Z": text(order.quote),
            "Y": text(trade.qty * trade.price) if trade else "0.00000000",
            "Q": "0.00000000",
            "W": order.created_ms,
            "V": "EXPIRE_MAKER",
        }
        for socket in list(self._user_sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await socket.send_json({"subscriptionId": 0, "event": event})

    async def _close_sockets(self) -> None:
        sockets = list(self._market_sockets) + list(self._user_sockets)
        self._user_sockets.clear()
        for socket in sockets:
            with contextlib.suppress(Exception):
                await socket.close()

    # ---- auto fill and market data ------------------------------------------------------

    async def _match(self, market: Market, order: StubOrder) -> None:
        bid, ask = market.price - market.tick, market.price + market.tick
        buy = order.side == "BUY"
        if order.type in ("STOP_LOSS", "STOP_LOSS_LIMIT") and not order.triggered:
            touched = market.price >= order.stop_price if buy else market.price <= order.stop_price
            if not touched:
                return
            order.triggered = True
        if order.type in ("MARKET", "STOP_LOSS"):
            await self._execute(order, order.quantity, ask if buy else bid, maker=False)
        elif (buy and ask <= order.price) or (not buy and bid >= order.price):
            await self._execute(order, order.quantity, order.price, maker=True)

    async def _publish_market_data(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            for market in self.markets.values():
                step = Decimal(self.random.choice((-2, -1, 0, 1, 2))) * market.tick
                market.price = max(market.price + step, market.tick * 10)
                market.book_id += 1
                for order in [
                    o for o in self.orders.values() if o.is_open and o.symbol == market.id
                ]:
                    await self._match(market, order)
                await self._send_market(market)

    async def _send_market(self, market: Market) -> None:
        lower, now = market.id.lower(), self.now_ms()
        bids, asks = self._book(market)
        ticker = {
            "u": market.book_id,
            "s": market.id,
            "b": bids[0][0],
            "B": bids[0][1],
            "a": asks[0][0],
            "A": asks[0][1],
        }
        buyer_maker = self.random.random() < 0.5
        trade = {
            "e": "trade",
            "E": now,
            "s": market.id,
            "t": next(self._trade_ids),
            "p": text(market.price),
            "q": "0.01000000",
            "T": now,
            "m": buyer_maker,
            "M": True,
        }
        depth = {
            "e": "depthUpdate",
            "E": now,
            "s": market.id,
            "U": market.book_id,
            "u": market.book_id,
            "b": self._depth_changes(bids, market.sent_levels[0]),
            "a": self._depth_changes(asks, market.sent_levels[1]),
        }
        market.sent_levels = ({p for p, _ in bids}, {p for p, _ in asks})
        messages = {
            f"{lower}@bookTicker": ticker,
            f"{lower}@trade": trade,
            f"{lower}@depth@100ms": depth,
        }
        for socket, streams in list(self._market_sockets.items()):
            for stream, message in messages.items():
                if stream in streams:
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await socket.send_json(message)

    @staticmethod
    def _depth_changes(levels: list[list[str]], before: set[str]) -> list[list[str]]:
        """The new levels, and size 0 for the prices that left the book."""
        gone = before - {price for price, _ in levels}
        return [[price, text(Decimal(0))] for price in sorted(gone)] + levels

    def publish_market_data(self) -> None:
        """Send one round of quotes, trades and book updates (tests without auto fill)."""
        self.server.call(self._publish_once())

    async def _publish_once(self) -> None:
        for market in self.markets.values():
            market.book_id += 1
            await self._send_market(market)


def main() -> None:
    """Run the stub as a process until SIGTERM."""
    arguments = stub_arguments("A Binance spot stub on 127.0.0.1")
    symbols = tuple(s for s in arguments.symbols.split(",") if s) or DEFAULT_SYMBOLS
    stub = BinanceStub(symbols, arguments.port, auto_fill=arguments.auto_fill)
    serve_until_terminated(stub.start, stub.stop, arguments.ready_file)


if __name__ == "__main__":
    main()
