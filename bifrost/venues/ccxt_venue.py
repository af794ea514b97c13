"""A venue on any ccxt exchange (Binance spot testnet is the tested reference).

REST goes through ccxt's sync client, one call at a time under a lock (ccxt's sync client,
its rate limiter and its last-response headers are not thread safe); streams go through
ccxt.pro on an asyncio loop of their own inside `stream_market` / `stream_orders`.
ccxt is imported when a CcxtVenue is built, so a daemon without one never pays for it.

`config.urls` moves every REST (`rest`) and websocket (`ws`) URL of the exchange to that
origin, keeping each URL's path: {"rest": "http://127.0.0.1:P", "ws": "ws://127.0.0.1:P"}
sends /api/v3/... and /ws, /ws-api/v3 to a local stub or a proxy. A stream emits each
trade id once per connection (a fill the exchange sends twice is emitted once); across
reconnects `fills_since` returns fills the stream may have shown, so the caller still
books a trade id once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from bifrost.errors import BadRequest
from bifrost.model.instrument import Instrument
from bifrost.model.market import Bar
from bifrost.model.orders import Order, OrderStatus, OrderType, TimeInForce
from bifrost.venues import ccxt_model as model
from bifrost.venues.ccxt_errors import translate
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
from bifrost.venues.errors import VenueOrderNotFound, VenueRejected, VenueUnavailable

FINAL_STATES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
STOP_POLL_S = 0.1
CACHE_POLL_S = 0.2
FILLS_PAGE = 1000
SPOT_OPTIONS: dict[str, Any] = {
    "defaultType": "spot",
    # Binance: exchangeInfo of spot only (no futures, no margin or sapi calls).
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    "adjustForTimeDifference": True,
}


def _moved(url: str, origins: dict[str, str]) -> str:
    """`url` under the configured origin of its kind (REST or websocket), path kept."""
    parts = urlsplit(url)
    kind = {"http": "rest", "https": "rest", "ws": "ws", "wss": "ws"}.get(parts.scheme)
    if kind is None or kind not in origins:
        return url
    return origins[kind].rstrip("/") + parts.path


def _move_urls(tree: dict[str, Any], origins: dict[str, str]) -> None:
    for key, value in tree.items():
        if isinstance(value, dict):
            _move_urls(value, origins)
        elif isinstance(value, str):
            tree[key] = _moved(value, origins)


class CcxtVenue:
    """A venue whose REST and websocket APIs are spoken by ccxt and ccxt.pro."""

    kind = "ccxt"

    def __init__(self, config: VenueConfig, credentials: Credentials | None) -> None:
        import ccxt  # type: ignore[import-untyped]

        self.name = config.name
        self.config = config
        self._credentials = credentials
        self._ccxt = ccxt
        self._lock = threading.Lock()
        self._client_ids: dict[str, str] = {}
        self._exchange = self._configure(getattr(ccxt, config.exchange)(self._settings()))

    def __repr__(self) -> str:
        return f"CcxtVenue({self.name!r}, exchange={self.config.exchange!r})"

    # ---- the exchange objects -----------------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": int(self.config.timeout_seconds * 1000),
            "options": {**SPOT_OPTIONS, **self.config.options},
        }
        if self._credentials is not None:
            settings["apiKey"] = self._credentials.api_key
            settings["secret"] = self._credentials.secret
            if self._credentials.passphrase:
                settings["password"] = self._credentials.passphrase
        return settings

    def _configure(self, exchange: Any) -> Any:
        exchange.number = str
        if self.config.sandbox:
            exchange.set_sandbox_mode(True)
        if self.config.urls:
            _move_urls(exchange.urls["api"], self.config.urls)
        return exchange

    def _pro_exchange(self) -> Any:
        """A ccxt.pro twin of the REST exchange (built on the stream's loop) that shares its
        markets and its measured clock difference."""
        import ccxt.pro  # type: ignore[import-untyped]

        self._markets()
        exchange = self._configure(getattr(ccxt.pro, self.config.exchange)(self._settings()))
        exchange.set_markets(self._exchange.markets, self._exchange.currencies)
        exchange.options["timeDifference"] = self._exchange.options.get("timeDifference", 0)
        return exchange

    @contextlib.contextmanager
    def _call(self, *, order_entry: bool = False, client_order_id: str = "") -> Iterator[None]:
        """One REST call: serialised, its ccxt failures turned into venue errors."""
        with self._lock:
            try:
                yield
            except self._ccxt.BaseError as exc:
                headers = self._exchange.last_response_headers
                raise translate(
                    exc,
                    self.name,
                    self._exchange.id,
                    order_entry=order_entry,
                    client_order_id=client_order_id,
                    headers=headers,
                ) from None

    def _rest(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a REST method; a clock that drifted out of the exchange's window is
        measured again and the call retried once."""
        try:
            return getattr(self._exchange, method)(*args, **kwargs)
        except self._ccxt.InvalidNonce:
            self._exchange.load_time_difference()
            return getattr(self._exchange, method)(*args, **kwargs)

    def _markets(self) -> dict[str, Any]:
        if not self._exchange.markets:
            with self._call():
                self._rest("load_markets")
        return self._exchange.markets

    def _market_symbol(self, symbol: str) -> str:
        ccxt_symbol = model.to_ccxt_symbol(symbol)
        if ccxt_symbol not in self._markets():
            raise VenueRejected(self.name, f"unknown symbol {symbol}")
        return ccxt_symbol

    # ---- data ---------------------------------------------------------------------------

    def instruments(self) -> list[Instrument]:
        """Every spot market of the exchange with its tick, lot and minimum sizes."""
        markets = self._markets()
        return [
            model.instrument(m, self.name)
            for m in markets.values()
            if m.get("spot", True) and m.get("active") is not False
        ]

    def bars(
        self, symbol: str, timeframe: str, since_ns: int, until_ns: int | None, limit: int
    ) -> list[Bar]:
        """OHLCV bars from `since_ns`, oldest first, in pages as large as the exchange
        serves, until `limit` bars, `until_ns` or the exchange's latest bar."""
        offered = self._exchange.timeframes or {}
        if offered and timeframe not in offered:
            raise BadRequest(
                f"{self.name} has no {timeframe} bars (it has: {', '.join(offered)})",
                {"venue": self.name, "timeframe": timeframe},
            )
        ccxt_symbol = self._market_symbol(symbol)
        since_ms = since_ns // model.NS_PER_MS
        bars: list[Bar] = []
        while len(bars) < limit:
            params = {"until": until_ns // model.NS_PER_MS - 1} if until_ns else {}
            with self._call():
                rows = self._rest(
                    "fetch_ohlcv", ccxt_symbol, timeframe, since_ms, limit - len(bars), params
                )
            fresh = [r for r in rows if int(r[0]) >= since_ms]
            if not fresh:
                break
            bars.extend(model.bar(r, symbol, timeframe) for r in fresh)
            since_ms = int(fresh[-1][0]) + 1
        return bars[:limit]

    def stream_market(
        self, symbols: list[str], emit: Callable[[MarketEvent], None], stop: threading.Event
    ) -> None:
        """Best bid/ask, trades and the top of the book of `symbols` until `stop`."""
        ccxt_symbols = [self._market_symbol(s) for s in symbols]

        async def quotes(exchange: Any) -> None:
            while True:
                for ticker in (await exchange.watch_bids_asks(ccxt_symbols)).values():
                    quote = model.quote(ticker)
                    if quote is not None:
                        emit(quote)

        async def trades(exchange: Any) -> None:
            while True:
                for trade in await exchange.watch_trades_for_symbols(ccxt_symbols):
                    emit(model.market_trade(trade))

        async def books(exchange: Any) -> None:
            while True:
                orderbook = await exchange.watch_order_book_for_symbols(ccxt_symbols)
                emit(model.book(orderbook, model.to_bifrost_symbol(orderbook["symbol"])))

        self._stream([quotes, trades, books], stop)

    # ---- orders -------------------------------------------------------------------------

    def stream_orders(self, emit: Callable[[OrderEvent], None], stop: threading.Event) -> None:
        """This account's order updates and fills until `stop`; a dropped connection
        raises VenueUnavailable.

        ccxt.pro keeps what arrives in caches (orders by id, trades by id) and wakes a
        watcher with the first message only, so both caches are read after every wake and
        every CACHE_POLL_S: an order is emitted when its state changed, a trade when its id
        is new. A fill the exchange sends twice is emitted once per stream connection."""
        emitted_orders: dict[str, tuple[Any, ...]] = {}
        emitted_trades: set[str] = set()

        async def orders(exchange: Any) -> None:
            async for _ in _wakes(exchange.watch_orders):
                for order in list(exchange.orders or []):
                    update = model.venue_order(order)
                    key = (update.status, update.filled, update.ts)
                    if emitted_orders.get(update.venue_order_id) != key:
                        emitted_orders[update.venue_order_id] = key
                        self._client_ids[update.venue_order_id] = update.client_order_id
                        emit(update)

        async def fills(exchange: Any) -> None:
            loop = asyncio.get_running_loop()
            async for _ in _wakes(exchange.watch_my_trades):
                for trade in list(exchange.myTrades or []):
                    if str(trade["id"]) in emitted_trades:
                        continue
                    emitted_trades.add(str(trade["id"]))
                    client_id = await loop.run_in_executor(None, self._client_id_of, trade)
                    emit(model.venue_fill(trade, client_id))

        self._stream([orders, fills], stop)

    def _client_id_of(self, trade: dict[str, Any]) -> str:
        """The client order id of a trade's order: from the trade, from an order seen
        before, or asked of the exchange."""
        info = trade.get("info") or {}
        known = trade.get("clientOrderId") or info.get("c") or info.get("clientOrderId")
        order_id = str(trade.get("order") or "")
        if known:
            self._client_ids[order_id] = str(known)
        if order_id not in self._client_ids:
            with self._call():
                order = self._rest("fetch_order", order_id, trade["symbol"])
            self._client_ids[order_id] = str(order.get("clientOrderId") or "")
        return self._client_ids[order_id]

    def submit(self, order: Order) -> VenueOrder:
        """Place `order` under its client order id; the exchange's acknowledgement."""
        if order.quantity is None:
            raise VenueRejected(self.name, "an order needs a quantity at this venue")
        symbol = self._market_symbol(order.symbol)
        limit = order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        params: dict[str, Any] = {"clientOrderId": order.client_order_id}
        if order.type in (OrderType.STOP, OrderType.STOP_LIMIT):
            params["triggerPrice"] = order.stop_price
        if limit:
            # A 24/7 market has no session: a DAY order rests until cancelled.
            tif = TimeInForce.GTC if order.tif is TimeInForce.DAY else order.tif
            params["timeInForce"] = tif.value
        side = order.side.value.lower()
        with self._call(order_entry=True, client_order_id=order.client_order_id):
            answer = self._rest(
                "create_order",
                symbol,
                "limit" if limit else "market",
                side,
                order.quantity,
                order.limit_price if limit else None,
                params,
            )
        acknowledged = model.venue_order(answer, order.client_order_id)
        self._client_ids[acknowledged.venue_order_id] = order.client_order_id
        return acknowledged

    def cancel(self, client_order_id: str, symbol: str) -> VenueOrder:
        """Cancel an open order; an order that filled (or ended) first comes back as the
        exchange has it, never as a cancel that did not happen."""
        ccxt_symbol = self._market_symbol(symbol)
        params = {"clientOrderId": client_order_id}
        try:
            with self._call(order_entry=True, client_order_id=client_order_id):
                answer = self._rest("cancel_order", client_order_id, ccxt_symbol, params)
        except (VenueRejected, VenueOrderNotFound):
            current = self.order(client_order_id, symbol)
            if current.status in FINAL_STATES:
                return current
            raise
        return model.venue_order(answer, client_order_id)

    def order(self, client_order_id: str, symbol: str) -> VenueOrder:
        """The order as the exchange has it now."""
        ccxt_symbol = self._market_symbol(symbol)
        params = {"clientOrderId": client_order_id}
        with self._call(client_order_id=client_order_id):
            answer = self._rest("fetch_order", client_order_id, ccxt_symbol, params)
        found = model.venue_order(answer, client_order_id)
        self._client_ids[found.venue_order_id] = client_order_id
        return found

    def open_orders(self, symbols: list[str]) -> list[VenueOrder]:
        """Open orders of `symbols` (of every configured symbol when none are given)."""
        found = []
        for symbol in symbols or list(self.config.symbols):
            ccxt_symbol = self._market_symbol(symbol)
            with self._call():
                answers = self._rest("fetch_open_orders", ccxt_symbol)
            for answer in answers:
                update = model.venue_order(answer)
                self._client_ids[update.venue_order_id] = update.client_order_id
                found.append(update)
        return found

    def fills_since(self, since_ns: int, symbols: list[str]) -> list[VenueFill]:
        """This account's fills at or after `since_ns`, oldest first."""
        found: list[VenueFill] = []
        for symbol in symbols or list(self.config.symbols):
            ccxt_symbol = self._market_symbol(symbol)
            since_ms = since_ns // model.NS_PER_MS
            seen: set[str] = set()
            while True:
                with self._call():
                    trades = self._rest("fetch_my_trades", ccxt_symbol, since_ms, FILLS_PAGE)
                fresh = [t for t in trades if str(t["id"]) not in seen]
                found.extend(model.venue_fill(t, self._client_id_of(t)) for t in fresh)
                seen.update(str(t["id"]) for t in fresh)
                if len(trades) < FILLS_PAGE or not fresh:
                    break
                since_ms = int(fresh[-1]["timestamp"])
        return sorted(found, key=lambda fill: (fill.ts, fill.trade_id))

    def balances(self) -> list[Balance]:
        """Non-zero cash and coin balances."""
        with self._call():
            answer = self._rest("fetch_balance")
        totals, free = answer.get("total") or {}, answer.get("free") or {}
        held = [
            Balance(asset, model.money(free.get(asset)), model.money(total))
            for asset, total in sorted(totals.items())
        ]
        return [b for b in held if b.total or b.free]

    def positions(self) -> list[VenuePosition]:
        """Coin balances as positions of the configured symbols (BTC -> BTC-USDT)."""
        totals = {b.asset: b.total for b in self.balances()}
        positions = []
        for symbol in self.config.symbols:
            base = model.to_ccxt_symbol(symbol).split("/")[0]
            quantity = totals.get(base, Decimal(0))
            if quantity and "/" in model.to_ccxt_symbol(symbol):
                positions.append(VenuePosition(symbol, quantity))
        return positions

    def close(self) -> None:
        """Let go of the REST session."""
        with self._lock:
            session = getattr(self._exchange, "session", None)
            if session is not None:
                session.close()

    # ---- streams ------------------------------------------------------------------------

    def _stream(
        self, watchers: list[Callable[[Any], Awaitable[None]]], stop: threading.Event
    ) -> None:
        """Run `watchers` on a fresh ccxt.pro exchange until `stop` is set or one fails."""
        try:
            asyncio.run(self._watch(watchers, stop))
        except Exception as exc:
            cause = self._ccxt_error_in(exc)
            if cause is None:
                raise
            raise translate(cause, self.name, self.config.exchange) from None

    def _ccxt_error_in(self, exc: BaseException | None) -> Exception | None:
        """The ccxt error `exc` is or was raised while handling: ccxt.pro binance 4.5.90
        raises a KeyError while it handles a refused user-stream subscription, and the
        refusal is that KeyError's context."""
        while exc is not None:
            if isinstance(exc, self._ccxt.BaseError):
                return exc
            exc = exc.__context__
        return None

    async def _watch(
        self, watchers: list[Callable[[Any], Awaitable[None]]], stop: threading.Event
    ) -> None:
        asyncio.get_running_loop().set_exception_handler(self._on_loop_exception)
        exchange = self._pro_exchange()
        exchange.timeout = int(self.config.timeout_seconds * 1000)
        tasks = [asyncio.ensure_future(watch(exchange)) for watch in watchers]
        stopper = asyncio.ensure_future(_stopped(stop))
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in [*tasks, stopper]:
                task.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)
            with contextlib.suppress(Exception):
                await exchange.close()
        if not stop.is_set():
            raise VenueUnavailable(self.name, "stream ended")

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """ccxt.pro leaves its connection future failed with the error a watch has already
        raised (and the session reported): that leftover is dropped rather than printed
        as plain text into the JSON log. Anything else goes to asyncio's own handler."""
        if isinstance(context.get("exception"), self._ccxt.BaseError) and isinstance(
            context.get("future"), asyncio.Future
        ):
            return
        loop.default_exception_handler(context)


async def _wakes(watch: Callable[[], Awaitable[Any]]) -> AsyncIterator[None]:
    """Yield after each answer of `watch` and at least every CACHE_POLL_S, keeping one
    watch call pending (it is never cancelled half-way, ccxt's futures stay intact)."""
    pending: asyncio.Future[Any] | None = None
    while True:
        if pending is None:
            pending = asyncio.ensure_future(watch())
        done, _ = await asyncio.wait([pending], timeout=CACHE_POLL_S)
        if pending in done:
            pending.result()
            pending = None
        yield


async def _stopped(stop: threading.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(STOP_POLL_S)
