"""A simulated exchange: the order book of one account, filled against bars or quotes.

The backtester feeds it bars; the paper broker will feed it live quotes. Rules:

Bars (buy side shown; sells mirror it):
- An order takes part from the first bar after the one it was placed in
  ("next-open" mode). In "close" mode a MARKET order placed while a bar is handled
  fills at that bar's close instead.
- MARKET fills at the open. LIMIT fills at the open when the open is at or below
  the limit (a gap through it), else at the limit when the low reaches it. STOP
  fills at the open when the open is at or above the stop, else at the stop when
  the high reaches it. STOP_LIMIT: once the stop is touched the order rests as its
  limit; on the bar that touched it, it fills only when the open gapped through
  the stop and the open also satisfies the limit (the path inside a bar is unknown).
- Slippage applies to MARKET and STOP fills, never to limit prices.
- An order without a quantity is sized when it fills: a buy while short buys the
  whole short back, else it spends `fraction` of the cash in whole lots at the fill
  price (commission included); a sell while long sells the whole long position,
  else (flat or short) it sells short `fraction` of the cash's worth, sized as a buy,
  when the exchange allows shorting (`allow_short`, the strategy's flag in a
  backtest) and fills nothing (the order is canceled) when it does not.
- With `max_participation`, one bar fills at most that share of its volume; the
  rest stays open (GTC) or ends (IOC cancels the rest, FOK needs all or nothing).
- DAY orders expire at the end of the (UTC) day of the first bar they could fill in.
- Bracket: the take-profit and stop-loss legs wait for the entry to fill, take its
  filled quantity and are one-cancels-other. OCO: a fill of one cancels its sibling.

Quotes: MARKET buys fill at the ask up to the ask size (partial fills), sells at
the bid; LIMIT buys fill at the ask when the ask is at or below the limit; STOP
orders trigger on the quote's mid.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

from bifrost.errors import BadRequest, NotFound
from bifrost.model.market import Quote, Side
from bifrost.model.orders import Fill, Order, OrderStatus, OrderType, TimeInForce
from bifrost.sim.account import SimAccount
from bifrost.sim.costs import FixedBpsSlippage, whole_lots

DAY_NS = 86_400_000_000_000


class BarPrices(NamedTuple):
    """The prices of one bar the exchange fills against (a tuple: the backtest makes one
    on every bar with resting orders, and a tuple is built in C)."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class SimulatedExchange:
    """Holds open orders of one account and fills them by the rules above."""

    def __init__(
        self,
        account: SimAccount,
        *,
        slippage: FixedBpsSlippage | None = None,
        fill_at_close: bool = False,
        max_participation: float | None = None,
        lot_size: Callable[[str], float] = lambda symbol: 1.0,
        trade_id_prefix: str = "sim",
        allow_short: bool = False,
    ) -> None:
        if max_participation is not None and not 0 < max_participation <= 1:
            raise BadRequest("max_participation must be in (0, 1]")
        self.account = account
        self.slippage = slippage or FixedBpsSlippage(0.0)
        self.fill_at_close = fill_at_close
        self.max_participation = max_participation
        self.lot_size = lot_size
        self.allow_short = allow_short
        self.orders: dict[str, Order] = {}
        self.books: dict[str, list[Order]] = {}
        """Resting orders by symbol (a missing or empty list: none). The backtest loop
        reads it every bar; only the exchange changes it."""
        self._waiting_legs: dict[str, list[Order]] = {}
        self._first_day: dict[str, int] = {}
        self._trade_ids = itertools.count(1)
        self.trade_id_prefix = trade_id_prefix
        self.on_fill: Callable[[Fill], None] | None = None
        self.on_order: Callable[[Order], None] | None = None

    # -- order entry --------------------------------------------------------------------

    def submit(self, order: Order, ts: int) -> Order:
        """Accept an order (or reject it with a reason); it rests until it can fill."""
        if order.client_order_id in self.orders:
            raise BadRequest(f"order id {order.client_order_id} is already used")
        order.created_ts = ts
        self.orders[order.client_order_id] = order
        order.move_to(OrderStatus.SUBMITTED)
        self._notify(order)
        order.move_to(OrderStatus.ACCEPTED)
        self._notify(order)
        if order.parent_id is not None:
            self._waiting_legs.setdefault(order.parent_id, []).append(order)
        else:
            self.books.setdefault(order.symbol, []).append(order)
        return order

    def adopt(self, order: Order) -> Order:
        """Take an order that is already open elsewhere (recovery) without new transitions."""
        if not order.is_open:
            raise BadRequest(f"order {order.client_order_id} is {order.status}, not open")
        self.orders[order.client_order_id] = order
        self.books.setdefault(order.symbol, []).append(order)
        return order

    def submit_bracket(
        self, entry: Order, take_profit: float, stop_loss: float, ts: int
    ) -> tuple[Order, Order, Order]:
        """An entry plus a take-profit limit and a stop-loss stop, OCO with each other."""
        exit_side = Side.SELL if entry.side is Side.BUY else Side.BUY
        base = entry.client_order_id
        profit = Order(
            f"{base}-tp",
            entry.symbol,
            exit_side,
            entry.quantity,
            OrderType.LIMIT,
            limit_price=take_profit,
            parent_id=base,
            oco_id=f"{base}-sl",
            strategy_id=entry.strategy_id,
        )
        loss = Order(
            f"{base}-sl",
            entry.symbol,
            exit_side,
            entry.quantity,
            OrderType.STOP,
            stop_price=stop_loss,
            parent_id=base,
            oco_id=f"{base}-tp",
            strategy_id=entry.strategy_id,
        )
        self.submit(entry, ts)
        self.submit(profit, ts)
        self.submit(loss, ts)
        return entry, profit, loss

    def cancel(self, client_order_id: str, reason: str = "canceled") -> Order:
        """Cancel an open order (NotFound when there is no such order)."""
        order = self.orders.get(client_order_id)
        if order is None:
            raise NotFound(f"no order {client_order_id}")
        if order.is_open:
            self._end(order, OrderStatus.CANCELED, reason)
        return order

    def has_open_orders(self, symbol: str) -> bool:
        """True when `symbol` has resting orders (cheap: checked every bar)."""
        return bool(self.books.get(symbol))

    def execute_now(self, order: Order, price: float, ts: int) -> Order:
        """Submit an order and fill it at once at `price` (end-of-backtest liquidation)."""
        self.submit(order, ts)
        self._fill(order, price, ts, None)
        self._prune(order.symbol)
        return order

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders that can still fill."""
        books = [self.books.get(symbol, [])] if symbol else list(self.books.values())
        return [o for book in books for o in book if o.is_open]

    # -- bars ---------------------------------------------------------------------------

    def process_bar(self, symbol: str, bar: BarPrices) -> None:
        """Fill resting orders of `symbol` that were placed before this bar."""
        book = self.books.get(symbol)
        if not book:
            return
        for order in list(book):
            if order.created_ts >= bar.ts or not order.is_open:
                continue
            if self._expired(order, bar.ts):
                continue
            price = self._bar_price(order, bar)
            if price is not None:
                self._fill(order, price, bar.ts, self._bar_cap(symbol, bar))
            if order.is_open and order.tif in (TimeInForce.IOC, TimeInForce.FOK):
                self._end(order, OrderStatus.CANCELED, f"{order.tif}: not filled at once")
        self._prune(symbol)

    def process_close(self, symbol: str, bar: BarPrices) -> None:
        """In close mode: fill MARKET orders placed while this bar was handled, at its close."""
        if not self.fill_at_close:
            return
        for order in list(self.books.get(symbol, [])):
            if order.is_open and order.type is OrderType.MARKET and order.created_ts == bar.ts:
                price = self.slippage.adjust(order.side, bar.close)
                self._fill(order, price, bar.ts, self._bar_cap(symbol, bar))
        self._prune(symbol)

    def _bar_price(self, order: Order, bar: BarPrices) -> float | None:
        buy = order.side is Side.BUY
        if order.type is OrderType.MARKET:
            return self.slippage.adjust(order.side, bar.open)
        if order.type is OrderType.LIMIT or (
            order.type is OrderType.STOP_LIMIT and order.triggered
        ):
            return _limit_price(buy, order.limit_price, bar)  # type: ignore[arg-type]
        stop = order.stop_price
        assert stop is not None
        gapped = bar.open >= stop if buy else bar.open <= stop
        touched = bar.high >= stop if buy else bar.low <= stop
        if order.type is OrderType.STOP:
            if gapped or touched:
                return self.slippage.adjust(order.side, bar.open if gapped else stop)
            return None
        if gapped or touched:  # STOP_LIMIT: now rests as a limit
            order.triggered = True
            if gapped:
                limit = order.limit_price
                assert limit is not None
                ok = bar.open <= limit if buy else bar.open >= limit
                return bar.open if ok else None
        return None

    def _bar_cap(self, symbol: str, bar: BarPrices) -> float | None:
        if self.max_participation is None:
            return None
        return whole_lots(bar.volume * self.max_participation, self.lot_size(symbol))

    def _expired(self, order: Order, ts: int) -> bool:
        if order.tif is not TimeInForce.DAY:
            return False
        day = ts // DAY_NS
        first = self._first_day.setdefault(order.client_order_id, day)
        if day > first:
            self._end(order, OrderStatus.EXPIRED, "DAY order: its trading day ended")
            return True
        return False

    # -- quotes -------------------------------------------------------------------------

    def process_quote(self, quote: Quote) -> None:
        """Fill resting orders of the quote's symbol against its bid and ask."""
        for order in list(self.books.get(quote.symbol, [])):
            if not order.is_open or order.created_ts > quote.ts:
                continue
            if self._expired(order, quote.ts):
                continue
            price, available = self._quote_price(order, quote)
            if price is not None:
                self._fill(order, price, quote.ts, available)
            if order.is_open and order.tif in (TimeInForce.IOC, TimeInForce.FOK):
                self._end(order, OrderStatus.CANCELED, f"{order.tif}: not filled at once")
        self._prune(quote.symbol)

    def _quote_price(self, order: Order, quote: Quote) -> tuple[float | None, float]:
        buy = order.side is Side.BUY
        touch, size = (quote.ask, quote.ask_size) if buy else (quote.bid, quote.bid_size)
        if order.type in (OrderType.STOP, OrderType.STOP_LIMIT) and not order.triggered:
            stop = order.stop_price
            assert stop is not None
            if not (quote.mid >= stop if buy else quote.mid <= stop):
                return None, 0.0
            order.triggered = True
        if order.type is OrderType.MARKET or order.type is OrderType.STOP:
            return self.slippage.adjust(order.side, touch), size
        limit = order.limit_price
        assert limit is not None
        crosses = touch <= limit if buy else touch >= limit
        return (touch if crosses else None), size

    # -- fills ----------------------------------------------------------------------------

    def _fill(self, order: Order, price: float, ts: int, cap: float | None) -> None:
        lot = self.lot_size(order.symbol)
        quantity = self._size(order, price, lot)
        if quantity <= 0:
            self._end(order, OrderStatus.CANCELED, self._nothing_to_fill(order))
            return
        if order.quantity is None:
            order.quantity = quantity
        remaining = order.quantity - order.filled
        take = remaining if cap is None else min(remaining, cap)
        if take <= 0 or (order.tif is TimeInForce.FOK and take < remaining):
            return
        commission = self.account.commission_model.commission(take, price)
        fill = Fill(
            order.client_order_id,
            order.symbol,
            order.side,
            take,
            price,
            commission,
            ts,
            f"{self.trade_id_prefix}-{next(self._trade_ids)}",
            order.strategy_id,
        )
        order.avg_price = (order.avg_price * order.filled + price * take) / (order.filled + take)
        order.filled += take
        done = order.filled >= order.quantity - 1e-12
        order.move_to(OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED)
        self.account.apply(fill)
        if self.on_fill is not None:
            self.on_fill(fill)
        self._notify(order)
        if order.oco_id:
            sibling = self.orders.get(order.oco_id)
            if sibling is not None and sibling.is_open:
                self._end(sibling, OrderStatus.CANCELED, f"OCO: {order.client_order_id} filled")
        if done:
            self._release_legs(order)

    def _size(self, order: Order, price: float, lot: float) -> float:
        if order.quantity is not None:
            return order.quantity
        held = self.account.position(order.symbol)
        if order.side is Side.BUY:
            return -held if held < 0 else self.account.affordable(price, order.fraction, lot)
        if held > 0:
            return held
        return self.account.affordable(price, order.fraction, lot) if self.allow_short else 0.0

    def _nothing_to_fill(self, order: Order) -> str:
        held = self.account.position(order.symbol)
        if order.side is Side.SELL and held <= 0 and not self.allow_short:
            return "nothing to fill: no long position to sell and shorting is not allowed"
        return "nothing to fill: no cash or no position"

    def _release_legs(self, parent: Order) -> None:
        for leg in self._waiting_legs.pop(parent.client_order_id, []):
            if leg.is_open:
                leg.quantity = parent.filled
                leg.created_ts = parent.created_ts
                self.books.setdefault(leg.symbol, []).append(leg)

    def _end(self, order: Order, status: OrderStatus, reason: str) -> None:
        order.move_to(status, reason)
        self._notify(order)
        if order.filled > 0:  # a partly filled entry: its legs protect the filled part
            self._release_legs(order)
            return
        for leg in self._waiting_legs.pop(order.client_order_id, []):
            if leg.is_open:
                self._end(leg, OrderStatus.CANCELED, f"parent {order.client_order_id} ended")

    def _notify(self, order: Order) -> None:
        if self.on_order is not None:
            self.on_order(order)

    def _prune(self, symbol: str) -> None:
        book = self.books.get(symbol)
        if book:
            self.books[symbol] = [o for o in book if o.is_open]

    def cancel_all(self, reason: str) -> None:
        """Cancel every open order (end of a backtest, kill switch)."""
        for book in self.books.values():
            for order in book:
                if order.is_open:
                    self._end(order, OrderStatus.CANCELED, reason)
        self.books.clear()


def _limit_price(buy: bool, limit: float, bar: BarPrices) -> float | None:
    if buy:
        if bar.open <= limit:
            return bar.open
        return limit if bar.low <= limit else None
    if bar.open >= limit:
        return bar.open
    return limit if bar.high >= limit else None
