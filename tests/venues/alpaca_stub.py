"""An Alpaca stub on loopback that speaks the wire formats alpaca-py uses, so the real
TradingClient, StockHistoricalDataClient, TradingStream and StockDataStream run against it.

Trading API (https://docs.alpaca.markets/reference): /v2 account, assets, orders (POST,
GET, GET :by_client_order_id, GET and DELETE by id), positions, account/activities/FILL;
every request must carry APCA-API-KEY-ID and APCA-API-SECRET-KEY (401 {"message":
"unauthorized."} otherwise); errors are {"code", "message"}. Market data API:
/v2/stocks/bars with page tokens. Trading stream at /stream: JSON authenticate ->
{"stream": "authorization"}, listen -> {"stream": "listening"}, then trade_updates,
sent as binary frames like the paper endpoint. Stock data stream at /v2/iex (and /v2/sip):
msgpack [{"T": "success", "msg": "connected"}], auth, subscribe -> {"T": "subscription"},
then "q" and "t" records stamped with msgpack timestamps.

Tests drive it through `AlpacaStub` (fill, reject_next, rate_limit_next, delay_next,
drop_streams, duplicate_next_fill, fill_on_cancel, clock_skew_s, set_cash, set_position,
publish_quote, publish_trade); as a process:
`python -m tests.venues.alpaca_stub --port 0 --ready-file PATH [--symbols A,B] [--auto-fill]`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgpack
from aiohttp import WSMsgType, web

from tests.venues.stub_server import StubServer, serve_until_terminated, stub_arguments

TEST_API_KEY = "stub-alpaca-key-id-0001"
TEST_SECRET = "stub-alpaca-secret-key-0001"
DEFAULT_SYMBOLS = ("AAPL", "MSFT")
START_PRICES = {"AAPL": Decimal("190.00"), "MSFT": Decimal("410.00")}
CENT = Decimal("0.01")
TIMEFRAME_NS = {
    "1Min": 60 * 10**9,
    "5Min": 300 * 10**9,
    "15Min": 900 * 10**9,
    "1Hour": 3600 * 10**9,
    "1Day": 86400 * 10**9,
}
WEBSOCKET_PATHS = ("/stream", "/v2/iex", "/v2/sip")
OPEN_STATES = ("new", "accepted", "pending_new", "partially_filled", "pending_cancel")


def rfc3339(ns: int) -> str:
    """int ns UTC as Alpaca stamps times (nanoseconds, Z)."""
    seconds, nanos = divmod(ns, 10**9)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def parse_rfc3339(text: str) -> int:
    """An RFC 3339 time (Z or an offset, up to 9 fractional digits) as int ns UTC."""
    text = text.strip().replace(" ", "+")
    zone = "+00:00"
    if text.endswith("Z"):
        text = text[:-1]
    elif len(text) > 6 and text[-6] in "+-" and text[-3] == ":":
        text, zone = text[:-6], text[-6:]
    whole, _, fraction = text.partition(".")
    seconds = int(datetime.fromisoformat(whole + zone).timestamp())
    return seconds * 10**9 + int(fraction[:9].ljust(9, "0") or 0)


def text(value: Decimal | None) -> str | None:
    """A decimal as Alpaca's string (None stays null)."""
    return None if value is None else f"{value.normalize():f}"


@dataclass
class StubOrder:
    """An order as the stub keeps it."""

    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    tif: str
    qty: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    created_ns: int
    status: str = "new"
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    updated_ns: int = 0
    filled_ns: int | None = None
    canceled_ns: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES


@dataclass
class Activity:
    """One FILL account activity."""

    id: str
    order: StubOrder
    qty: Decimal
    price: Decimal
    cum_qty: Decimal
    ts: int
    kind: str


@dataclass
class Controls:
    """What the next requests meet."""

    reject: tuple[int, str] | None = None
    rate_limit: tuple[int, float] | None = None
    delay_s: float = 0.0
    duplicate_fill: bool = False
    fill_on_cancel: set[str] = field(default_factory=set)


class ApiError(Exception):
    """An error reply in Alpaca's shape."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class AlpacaStub:
    """The stub broker: its account, orders and handlers, and the test controls."""

    def __init__(
        self,
        symbols: tuple[str, ...] = DEFAULT_SYMBOLS,
        port: int = 0,
        auto_fill: bool = False,
        api_key: str = TEST_API_KEY,
        secret: str = TEST_SECRET,
        seed: int = 11,
    ) -> None:
        self.api_key, self.secret = api_key, secret
        self.auto_fill = auto_fill
        self.clock_skew_s = 0.0
        self.bars_page_size = 1000
        self.controls = Controls()
        self.random = random.Random(seed)
        self.prices = {s: START_PRICES.get(s, Decimal("100.00")) for s in symbols}
        self.fractionable = set(symbols)
        self.cash = Decimal("100000")
        self.positions: dict[str, tuple[Decimal, Decimal]] = {}
        self.orders: dict[str, StubOrder] = {}
        self.activities: list[Activity] = []
        self._trade_sockets: set[web.WebSocketResponse] = set()
        self._data_sockets: dict[web.WebSocketResponse, dict[str, set[str]]] = {}
        self._trade_ids = 1000
        self._publisher: asyncio.Task[None] | None = None
        self._matching: set[asyncio.Task[None]] = set()
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/stream", self._trading_socket)
        app.router.add_get("/v2/iex", self._data_socket)
        app.router.add_get("/v2/sip", self._data_socket)
        app.router.add_get("/v2/account", self._account)
        app.router.add_get("/v2/assets", self._assets)
        app.router.add_post("/v2/orders", self._new_order)
        app.router.add_get("/v2/orders", self._list_orders)
        app.router.add_get("/v2/orders:by_client_order_id", self._order_by_client_id)
        app.router.add_get("/v2/orders/{order_id}", self._order_by_id)
        app.router.add_delete("/v2/orders/{order_id}", self._cancel_order)
        app.router.add_get("/v2/positions", self._positions)
        app.router.add_get("/v2/account/activities/FILL", self._fill_activities)
        app.router.add_get("/v2/stocks/bars", self._bars)
        self.server = StubServer(app, port)

    # ---- life cycle and test controls -------------------------------------------------

    def start(self) -> dict[str, str]:
        """Serve; the four URLs an AlpacaVenue takes as `urls`."""
        self.server.start()
        if self.auto_fill:
            self.server.call_soon(self._start_publisher)
        return self.urls

    def _start_publisher(self) -> None:
        self._publisher = asyncio.ensure_future(self._publish_market_data())

    def stop(self) -> None:
        """Close every connection and stop serving; safe to call twice."""
        if self.server.running:
            with contextlib.suppress(Exception):
                self.server.call(self._shut_down())
        self.server.stop()

    @property
    def urls(self) -> dict[str, str]:
        """`trading`, `data`, `trading_stream` and `data_stream` of this stub."""
        return {
            "trading": self.server.http_url,
            "data": self.server.http_url,
            "trading_stream": self.server.ws_url + "/stream",
            "data_stream": self.server.ws_url + "/v2/iex",
        }

    def now_ns(self) -> int:
        """The stub's clock: the real one off by `clock_skew_s`."""
        return time.time_ns() + int(self.clock_skew_s * 1e9)

    def fill(self, client_order_id: str, qty: str, price: str) -> str:
        """Execute `qty` of an open order at `price`; the activity id of the execution."""
        return self.server.call(self._fill_by_client_id(client_order_id, qty, price))

    async def _fill_by_client_id(self, client_order_id: str, qty: str, price: str) -> str:
        order = self._by_client_id(client_order_id)
        if order is None or not order.is_open:
            raise KeyError(f"no open order {client_order_id}")
        return await self._execute(order, Decimal(qty), Decimal(price))

    def reject_next(self, reason: str, status: int = 403) -> None:
        """The next new order is refused with `status` and Alpaca's message `reason`."""
        self.controls.reject = (status, reason)

    def rate_limit_next(self, status: int = 429, retry_after: float = 2) -> None:
        """The next request is answered 429 with Retry-After."""
        self.controls.rate_limit = (status, retry_after)

    def delay_next(self, seconds: float) -> None:
        """The next request is answered only after `seconds`."""
        self.controls.delay_s = seconds

    def duplicate_next_fill(self) -> None:
        """The next fill's trade update is sent twice."""
        self.controls.duplicate_fill = True

    def fill_on_cancel(self, client_order_id: str) -> None:
        """The order fills completely just before its cancel request arrives."""
        self.controls.fill_on_cancel.add(client_order_id)

    def drop_streams(self) -> None:
        """Cut every websocket connection, as a network failure would."""
        self.server.call(self._close_sockets())

    def set_cash(self, cash: str) -> None:
        """Set the account's cash (what a buy may spend)."""
        self.cash = Decimal(cash)

    def set_position(self, symbol: str, qty: str, avg_price: str) -> None:
        """Hold `qty` (negative: short) of `symbol` bought at `avg_price`."""
        self.positions[symbol] = (Decimal(qty), Decimal(avg_price))

    def order_status(self, client_order_id: str) -> str:
        """The stub's status of an order."""
        order = self._by_client_id(client_order_id)
        return order.status if order else "unknown"

    def trade_listeners(self) -> int:
        """How many trading streams listen to trade updates now."""
        return len(self._trade_sockets)

    def data_subscribers(self) -> int:
        """How many data streams subscribed to something now."""
        return sum(1 for subs in self._data_sockets.values() if any(subs.values()))

    def publish_quote(
        self, symbol: str, bid: float, ask: float, bid_size: int = 1, ask_size: int = 1
    ) -> int:
        """Send one quote to the data streams; its timestamp (ns, the stub's clock)."""
        return self.server.call(self._send_quote(symbol, bid, ask, bid_size, ask_size))

    def publish_trade(self, symbol: str, price: float, size: int = 1) -> int:
        """Send one trade print to the data streams; its timestamp."""
        return self.server.call(self._send_trade(symbol, price, size))

    # ---- HTTP ---------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path in WEBSOCKET_PATHS:
            return await handler(request)
        if self.controls.delay_s:
            delay, self.controls.delay_s = self.controls.delay_s, 0.0
            await asyncio.sleep(delay)
        if self.controls.rate_limit is not None:
            (status, retry_after), self.controls.rate_limit = self.controls.rate_limit, None
            return web.json_response(
                {"code": 42910000, "message": "rate limit exceeded"},
                status=status,
                headers={"Retry-After": f"{retry_after:g}"},
            )
        key = request.headers.get("APCA-API-KEY-ID")
        secret = request.headers.get("APCA-API-SECRET-KEY")
        if key != self.api_key or secret != self.secret:
            return web.json_response({"message": "unauthorized."}, status=401)
        try:
            return await handler(request)
        except ApiError as exc:
            return web.json_response({"code": exc.code, "message": exc.message}, status=exc.status)

    async def _account(self, _: web.Request) -> web.Response:
        equity = self.cash + sum(
            (q * self.prices.get(s, p) for s, (q, p) in self.positions.items()), Decimal(0)
        )
        return web.json_response(
            {
                "id": "e6fe16f3-64a4-4921-8928-cadf02f92f98",
                "account_number": "PA3STUB0001",
                "status": "ACTIVE",
                "currency": "USD",
                "cash": text(self.cash),
                "buying_power": text(self.cash * 2),
                "regt_buying_power": text(self.cash * 2),
                "non_marginable_buying_power": text(self.cash),
                "portfolio_value": text(equity),
                "equity": text(equity),
                "last_equity": text(equity),
                "pattern_day_trader": False,
                "trading_blocked": False,
                "transfers_blocked": False,
                "account_blocked": False,
                "shorting_enabled": True,
                "multiplier": "2",
                "created_at": rfc3339(self.now_ns()),
            }
        )

    async def _assets(self, request: web.Request) -> web.Response:
        assets = [self._asset(symbol) for symbol in self.prices]
        assets.append(self._asset("ZVZZT", tradable=False))
        status = request.query.get("status")
        return web.json_response([a for a in assets if status in (None, a["status"])])

    def _asset(self, symbol: str, tradable: bool = True) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)),
            "class": "us_equity",
            "exchange": "NASDAQ",
            "symbol": symbol,
            "name": f"{symbol} Inc. Common Stock",
            "status": "active",
            "tradable": tradable,
            "marginable": True,
            "shortable": True,
            "easy_to_borrow": True,
            "fractionable": symbol in self.fractionable,
            "attributes": [],
        }

    async def _new_order(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.controls.reject is not None:
            (status, reason), self.controls.reject = self.controls.reject, None
            raise ApiError(status, 40310000 if status == 403 else 42210000, reason)
        order = self._check_order(body)
        self.orders[order.id] = order
        await self._send_update("new", order)
        if self.auto_fill:
            asyncio.get_running_loop().call_later(0.01, self._match_soon, order)
        return web.json_response(self._order_body(order))

    def _check_order(self, body: dict[str, Any]) -> StubOrder:
        symbol = body.get("symbol", "")
        if symbol not in self.prices:
            raise ApiError(422, 40010001, f'asset "{symbol}" not found')
        cid = body.get("client_order_id") or str(uuid.uuid4())
        if self._by_client_id(cid) is not None:
            raise ApiError(422, 40010001, "client_order_id must be unique")
        qty = Decimal(str(body["qty"]))
        limit = _decimal(body.get("limit_price"))
        stop = _decimal(body.get("stop_price"))
        price = limit or stop or self.prices[symbol]
        if qty != qty.to_integral_value() and qty * price < 1:
            raise ApiError(403, 40310000, "cost basis must be >= 1")
        if body["side"] == "buy" and qty * price > self.cash:
            raise ApiError(403, 40310000, "insufficient buying power")
        now = self.now_ns()
        return StubOrder(
            id=str(uuid.uuid4()),
            client_order_id=cid,
            symbol=symbol,
            side=body["side"],
            type=body["type"],
            tif=body["time_in_force"],
            qty=qty,
            limit_price=limit,
            stop_price=stop,
            created_ns=now,
            updated_ns=now,
        )

    async def _list_orders(self, request: web.Request) -> web.Response:
        status = request.query.get("status", "open")
        symbols = set(filter(None, request.query.get("symbols", "").split(",")))
        limit = int(request.query.get("limit", "50"))
        rows = [
            o
            for o in sorted(self.orders.values(), key=lambda o: o.created_ns, reverse=True)
            if (status == "all" or (status == "open") == o.is_open)
            and (not symbols or o.symbol in symbols)
        ]
        return web.json_response([self._order_body(o) for o in rows[:limit]])

    async def _order_by_client_id(self, request: web.Request) -> web.Response:
        cid = request.query.get("client_order_id", "")
        order = self._by_client_id(cid)
        if order is None:
            raise ApiError(404, 40410000, f"order not found for {cid}")
        return web.json_response(self._order_body(order))

    async def _order_by_id(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            raise ApiError(404, 40410000, "order not found")
        return web.json_response(self._order_body(order))

    async def _cancel_order(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            raise ApiError(404, 40410000, "order not found")
        if order.client_order_id in self.controls.fill_on_cancel and order.is_open:
            self.controls.fill_on_cancel.discard(order.client_order_id)
            price = order.limit_price or self.prices[order.symbol]
            await self._execute(order, order.qty - order.filled, price)
        if not order.is_open:
            raise ApiError(422, 42210000, f'order is already in "{order.status}" state')
        order.status = "canceled"
        order.canceled_ns = order.updated_ns = self.now_ns()
        await self._send_update("canceled", order)
        return web.Response(status=204)

    async def _positions(self, _: web.Request) -> web.Response:
        rows = []
        for symbol, (qty, avg) in self.positions.items():
            if qty == 0:
                continue
            price = self.prices.get(symbol, avg)
            rows.append(
                {
                    "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)),
                    "symbol": symbol,
                    "exchange": "NASDAQ",
                    "asset_class": "us_equity",
                    "avg_entry_price": text(avg),
                    "qty": text(qty),
                    "qty_available": text(qty),
                    "side": "long" if qty > 0 else "short",
                    "market_value": text(qty * price),
                    "cost_basis": text(qty * avg),
                    "unrealized_pl": text(qty * (price - avg)),
                    "current_price": text(price),
                    "asset_marginable": True,
                }
            )
        return web.json_response(rows)

    async def _fill_activities(self, request: web.Request) -> web.Response:
        after = request.query.get("after")
        page_size = int(request.query.get("page_size", "100"))
        rows = sorted(self.activities, key=lambda a: (a.ts, a.id))
        if after:
            since = parse_rfc3339(after)
            rows = [a for a in rows if a.ts > since]
        if request.query.get("direction", "desc") == "desc":
            rows.reverse()
        token = request.query.get("page_token")
        if token:
            ids = [a.id for a in rows]
            rows = rows[ids.index(token) + 1 :] if token in ids else []
        return web.json_response([self._activity_body(a) for a in rows[:page_size]])

    async def _bars(self, request: web.Request) -> web.Response:
        query = request.query
        step = TIMEFRAME_NS.get(query.get("timeframe", ""))
        if step is None:
            raise ApiError(422, 42210000, "invalid timeframe")
        limit = min(int(query.get("limit") or 1000), self.bars_page_size)
        start = parse_rfc3339(query["start"]) if "start" in query else self.now_ns() - 100 * step
        end = min(parse_rfc3339(query["end"]) if "end" in query else self.now_ns(), self.now_ns())
        token = query.get("page_token")
        first = int(base64.b64decode(token)) if token else -(-start // step) * step
        out: dict[str, list[dict[str, Any]]] = {}
        next_ts = None
        for symbol in query.get("symbols", "").split(","):
            times = range(first, end + 1, step)
            out[symbol] = [self._bar(symbol, ts, step) for ts in times[:limit]]
            if len(times) > limit:
                next_ts = times[limit]
        next_token = base64.b64encode(str(next_ts).encode()).decode() if next_ts else None
        return web.json_response({"bars": out, "next_page_token": next_token})

    def _bar(self, symbol: str, ts: int, step: int) -> dict[str, Any]:
        rng = random.Random(zlib.crc32(f"{symbol}:{ts}:{step}".encode()))
        base = float(START_PRICES.get(symbol, Decimal(100)))
        open_ = round(base * (1 + rng.uniform(-0.02, 0.02)), 2)
        close = round(open_ * (1 + rng.uniform(-0.005, 0.005)), 2)
        return {
            "t": rfc3339(ts).replace(".000000000Z", "Z"),
            "o": open_,
            "h": round(max(open_, close) * 1.002, 2),
            "l": round(min(open_, close) * 0.998, 2),
            "c": close,
            "v": rng.randint(100, 10_000),
            "n": rng.randint(1, 100),
            "vw": round((open_ + close) / 2, 4),
        }

    # ---- orders and fills ---------------------------------------------------------------

    def _by_client_id(self, client_order_id: str) -> StubOrder | None:
        return next((o for o in self.orders.values() if o.client_order_id == client_order_id), None)

    async def _execute(self, order: StubOrder, qty: Decimal, price: Decimal) -> str:
        now = self.now_ns()
        order.filled += qty
        order.cost += qty * price
        order.updated_ns = now
        done = order.filled >= order.qty
        order.status = "filled" if done else "partially_filled"
        order.filled_ns = now if done else None
        signed = qty if order.side == "buy" else -qty
        held, avg = self.positions.get(order.symbol, (Decimal(0), Decimal(0)))
        total = held + signed
        if total != 0 and (held == 0 or (held > 0) == (signed > 0)):
            avg = (held * avg + signed * price) / total
        self.positions[order.symbol] = (total, avg if total else Decimal(0))
        self.cash -= signed * price
        stamp = datetime.fromtimestamp(now // 10**9, UTC).strftime("%Y%m%d%H%M%S")
        activity = Activity(
            id=f"{stamp}{now // 10**6 % 1000:03d}::{uuid.uuid4()}",
            order=order,
            qty=qty,
            price=price,
            cum_qty=order.filled,
            ts=now,
            kind=order.status.replace("partially_filled", "partial_fill").replace("filled", "fill"),
        )
        self.activities.append(activity)
        extra = {
            "execution_id": str(uuid.uuid4()),
            "price": text(price),
            "qty": text(qty),
            "position_qty": text(total),
        }
        times = 2 if self.controls.duplicate_fill else 1
        self.controls.duplicate_fill = False
        for _ in range(times):
            await self._send_update(activity.kind, order, extra)
        return activity.id

    def _match_soon(self, order: StubOrder) -> None:
        task = asyncio.ensure_future(self._match(order))
        self._matching.add(task)
        task.add_done_callback(self._matching.discard)

    async def _match(self, order: StubOrder) -> None:
        """Auto fill: a market order at the price, a limit or stop when the price crosses."""
        if not order.is_open:
            return
        price = self.prices[order.symbol]
        buy = order.side == "buy"
        if order.stop_price is not None and (
            price < order.stop_price if buy else price > order.stop_price
        ):
            return
        limit = order.limit_price
        if limit is not None and (price > limit if buy else price < limit):
            return
        await self._execute(order, order.qty - order.filled, price)

    # ---- bodies -------------------------------------------------------------------------

    def _order_body(self, order: StubOrder) -> dict[str, Any]:
        avg = (order.cost / order.filled).quantize(Decimal("0.0001")) if order.filled else None
        return {
            "id": order.id,
            "client_order_id": order.client_order_id,
            "created_at": rfc3339(order.created_ns),
            "updated_at": rfc3339(order.updated_ns),
            "submitted_at": rfc3339(order.created_ns),
            "filled_at": rfc3339(order.filled_ns) if order.filled_ns else None,
            "expired_at": None,
            "canceled_at": rfc3339(order.canceled_ns) if order.canceled_ns else None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, order.symbol)),
            "symbol": order.symbol,
            "asset_class": "us_equity",
            "notional": None,
            "qty": text(order.qty),
            "filled_qty": text(order.filled),
            "filled_avg_price": text(avg),
            "order_class": "",
            "order_type": order.type,
            "type": order.type,
            "side": order.side,
            "position_intent": "buy_to_open" if order.side == "buy" else "sell_to_close",
            "time_in_force": order.tif,
            "limit_price": text(order.limit_price),
            "stop_price": text(order.stop_price),
            "status": order.status,
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }

    def _activity_body(self, activity: Activity) -> dict[str, Any]:
        order = activity.order
        return {
            "id": activity.id,
            "activity_type": "FILL",
            "transaction_time": rfc3339(activity.ts),
            "type": activity.kind,
            "price": text(activity.price),
            "qty": text(activity.qty),
            "side": order.side,
            "symbol": order.symbol,
            "leaves_qty": text(order.qty - activity.cum_qty),
            "order_id": order.id,
            "cum_qty": text(activity.cum_qty),
            "order_status": "filled" if activity.cum_qty >= order.qty else "partially_filled",
        }

    # ---- trading stream -----------------------------------------------------------------

    async def _trading_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        try:
            async for message in socket:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                request_body = json.loads(message.data)
                action = request_body.get("action")
                if action == "authenticate":
                    data = request_body.get("data", {})
                    good = data.get("key_id") == self.api_key and (
                        data.get("secret_key") == self.secret
                    )
                    status = "authorized" if good else "unauthorized"
                    await self._send_json(
                        socket,
                        {
                            "stream": "authorization",
                            "data": {"action": "authenticate", "status": status},
                        },
                    )
                    if not good:
                        await socket.close()
                        break
                elif action == "listen":
                    streams = request_body.get("data", {}).get("streams", [])
                    await self._send_json(
                        socket, {"stream": "listening", "data": {"streams": streams}}
                    )
                    if "trade_updates" in streams:
                        self._trade_sockets.add(socket)
        finally:
            self._trade_sockets.discard(socket)
        return socket

    @staticmethod
    async def _send_json(socket: web.WebSocketResponse, body: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await socket.send_bytes(json.dumps(body).encode())

    async def _send_update(
        self, event: str, order: StubOrder, extra: dict[str, Any] | None = None
    ) -> None:
        data = {
            "event": event,
            "timestamp": rfc3339(order.updated_ns),
            "order": self._order_body(order),
            **(extra or {}),
        }
        for socket in list(self._trade_sockets):
            await self._send_json(socket, {"stream": "trade_updates", "data": data})

    # ---- data stream --------------------------------------------------------------------

    async def _data_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await self._send_packed(socket, [{"T": "success", "msg": "connected"}])
        subscriptions: dict[str, set[str]] = {"trades": set(), "quotes": set()}
        authenticated = False
        try:
            async for message in socket:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                body = msgpack.unpackb(message.data)
                if body.get("action") == "auth":
                    if body.get("key") != self.api_key or body.get("secret") != self.secret:
                        await self._send_packed(
                            socket, [{"T": "error", "code": 402, "msg": "auth failed"}]
                        )
                        await socket.close()
                        break
                    authenticated = True
                    await self._send_packed(socket, [{"T": "success", "msg": "authenticated"}])
                elif not authenticated:
                    await self._send_packed(
                        socket, [{"T": "error", "code": 401, "msg": "not authenticated"}]
                    )
                elif body.get("action") == "subscribe":
                    for channel in subscriptions:
                        subscriptions[channel].update(body.get(channel, []))
                    self._data_sockets[socket] = subscriptions
                    await self._send_packed(socket, [self._subscription(subscriptions)])
        finally:
            self._data_sockets.pop(socket, None)
        return socket

    @staticmethod
    def _subscription(subscriptions: dict[str, set[str]]) -> dict[str, Any]:
        channels = ("bars", "updatedBars", "dailyBars", "statuses", "lulds")
        return {
            "T": "subscription",
            "trades": sorted(subscriptions["trades"]),
            "quotes": sorted(subscriptions["quotes"]),
            **{channel: [] for channel in channels},
            "corrections": sorted(subscriptions["trades"]),
            "cancelErrors": sorted(subscriptions["trades"]),
        }

    @staticmethod
    async def _send_packed(socket: web.WebSocketResponse, records: list[dict[str, Any]]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await socket.send_bytes(msgpack.packb(records))

    async def _broadcast(self, channel: str, record: dict[str, Any]) -> None:
        for socket, subscriptions in list(self._data_sockets.items()):
            if record["S"] in subscriptions[channel]:
                await self._send_packed(socket, [record])

    async def _send_quote(
        self, symbol: str, bid: float, ask: float, bid_size: int, ask_size: int
    ) -> int:
        ts = self.now_ns()
        record = {
            "T": "q",
            "S": symbol,
            "bx": "V",
            "bp": bid,
            "bs": bid_size,
            "ax": "V",
            "ap": ask,
            "as": ask_size,
            "c": ["R"],
            "z": "C",
            "t": msgpack.Timestamp.from_unix_nano(ts),
        }
        await self._broadcast("quotes", record)
        return ts

    async def _send_trade(self, symbol: str, price: float, size: int) -> int:
        ts = self.now_ns()
        self._trade_ids += 1
        record = {
            "T": "t",
            "S": symbol,
            "i": self._trade_ids,
            "x": "V",
            "p": price,
            "s": size,
            "c": ["@"],
            "z": "C",
            "t": msgpack.Timestamp.from_unix_nano(ts),
        }
        await self._broadcast("trades", record)
        return ts

    async def _publish_market_data(self) -> None:
        """Auto fill: a seeded random walk, ~10 quotes and trades a second per symbol, and
        resting orders filled when the price crosses them."""
        while True:
            await asyncio.sleep(0.1)
            for symbol, price in list(self.prices.items()):
                step = Decimal(self.random.choice((-2, -1, 0, 1, 2))) * CENT
                price = max(price + step, CENT)
                self.prices[symbol] = price
                bid, ask = float(price - CENT), float(price + CENT)
                await self._send_quote(symbol, bid, ask, self.random.randint(1, 9), 3)
                await self._send_trade(symbol, float(price), self.random.randint(1, 500))
            for order in [o for o in self.orders.values() if o.is_open]:
                await self._match(order)

    async def _shut_down(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            self._publisher = None
        await self._close_sockets()

    async def _close_sockets(self) -> None:
        for socket in [*self._trade_sockets, *self._data_sockets]:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await socket.close()
        self._trade_sockets.clear()
        self._data_sockets.clear()


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def main() -> None:
    """Run the stub as a process until SIGTERM."""
    arguments = stub_arguments("An Alpaca (paper trading and stock data) stub on 127.0.0.1")
    symbols = tuple(s for s in arguments.symbols.split(",") if s) or DEFAULT_SYMBOLS
    stub = AlpacaStub(symbols, arguments.port, auto_fill=arguments.auto_fill)
    serve_until_terminated(stub.start, stub.stop, arguments.ready_file)


if __name__ == "__main__":
    main()
