"""One strategy on live events: bars in, orders out through an order port, fills back.

The runner is the strategy's context, as the backtest engine is in a backtest: the
strategy's code does not change. Bars arrive as events and grow its arrays (its
indicators are recomputed); its position is the sum of the fills carrying its
strategy id (each trade id once); orders without a size close what is held against
them (a sell a long, a buy a short), else spend `fraction` of the runner's `capital`
at the last close, in whole lots (a sell only when the strategy `allow_short`).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Protocol

import numpy as np

from bifrost.clock import Clock
from bifrost.errors import BadRequest, BifrostError
from bifrost.model.commands import SubmitOrder, new_client_order_id
from bifrost.model.market import Bar, Side
from bifrost.model.orders import Fill, Order, OrderStatus
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.context import PortfolioView
from bifrost.strategy.strategy import Strategy


class OrderPort(Protocol):
    """Where a live strategy's orders go (risk, which forwards to execution)."""

    def submit(self, spec: dict[str, Any], cid: str) -> dict[str, Any]:
        """Enter an order; returns the order as execution holds it."""

    def cancel(self, client_order_id: str, cid: str) -> dict[str, Any]:
        """Cancel an order."""


def empty_bars() -> BarArrays:
    """No bars yet."""
    return BarArrays(np.empty(0, dtype=np.int64), *(np.empty(0) for _ in range(5)))


def append_bar(bars: BarArrays, bar: dict[str, Any]) -> BarArrays:
    """`bars` with one more bar at the end."""
    ts = np.append(bars.ts, np.int64(bar["ts"]))
    values = [
        np.append(getattr(bars, k), float(bar[k]))
        for k in ("open", "high", "low", "close", "volume")
    ]
    return BarArrays(ts, *values)


class LiveRunner:
    """Runs one strategy instance on live bars; it is that strategy's context."""

    def __init__(
        self,
        strategy_id: str,
        strategy: Strategy,
        symbols: list[str],
        timeframe: str,
        orders: OrderPort,
        clock: Clock,
        capital: float = 10_000.0,
    ) -> None:
        self.strategy_id = strategy_id
        self.strategy = strategy
        strategy.strategy_id = strategy_id
        self.symbols = symbols
        self.timeframe = timeframe
        self.orders = orders
        self.clock = clock
        self.capital = capital
        self.state = "waiting"
        self.data = {s: empty_bars() for s in symbols}
        self.positions: dict[str, float] = dict.fromkeys(symbols, 0.0)
        self.cash_flow = 0.0
        self.trade_ids: set[str] = set()
        self.bars_seen = 0
        self.orders_sent = 0
        self.last_error = ""
        self._cids = itertools.count(1)

    # -- events ---------------------------------------------------------------------

    def on_bar(self, body: dict[str, Any]) -> None:
        """A live bar of one of the strategy's symbols closed."""
        symbol = body["symbol"]
        if (
            self.state == "stopped"
            or symbol not in self.data
            or body["timeframe"] != self.timeframe
        ):
            return
        self.data = {**self.data, symbol: append_bar(self.data[symbol], body)}
        self.bars_seen += 1
        if self.state == "waiting":
            self.strategy.bind(self, self.data)
            self.strategy.on_start()
            self.state = "running"
        else:
            self.strategy.extend_data(self.data)
        bar = Bar(
            symbol,
            self.timeframe,
            body["ts"],
            body["open"],
            body["high"],
            body["low"],
            body["close"],
            body["volume"],
        )
        self._guard(self.strategy.on_bar, bar)

    def on_fill(self, body: dict[str, Any]) -> None:
        """A fill: counted when it carries this strategy's id (once per trade id)."""
        if body.get("strategy_id") != self.strategy_id or body["trade_id"] in self.trade_ids:
            return
        self.trade_ids.add(body["trade_id"])
        signed = body["quantity"] if body["side"] == "BUY" else -body["quantity"]
        self.positions[body["symbol"]] = self.positions.get(body["symbol"], 0.0) + signed
        self.cash_flow -= signed * body["price"] + body.get("commission", 0.0)
        fill = Fill(
            body["client_order_id"],
            body["symbol"],
            Side(body["side"]),
            body["quantity"],
            body["price"],
            body.get("commission", 0.0),
            body["ts"],
            body["trade_id"],
            self.strategy_id,
        )
        self._guard(self.strategy.on_fill, fill)

    def _guard(self, hook: Any, argument: Any) -> None:
        """Run a strategy hook; its errors are kept (shown by `strategy list`), not raised."""
        try:
            hook(argument)
        except (BifrostError, ArithmeticError, LookupError, ValueError, TypeError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        """Stop handling events (the caller cancels the strategy's open orders)."""
        if self.state == "running":
            self._guard(lambda _: self.strategy.on_stop(), None)
        self.state = "stopped"

    # -- StrategyContext ------------------------------------------------------------

    def submit_order(self, order: Order) -> Order:
        """Size the order if needed and send it through the order port."""
        quantity = order.quantity if order.quantity is not None else self._size(order)
        if quantity <= 0:
            raise BadRequest(f"{self.strategy_id}: nothing to {order.side.value.lower()}")
        command = SubmitOrder(
            new_client_order_id("s"),
            order.symbol,
            order.side,
            float(quantity),
            order.type,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            tif=order.tif,
            strategy_id=self.strategy_id,
        )
        reply = self.orders.submit(command.to_wire(), f"{self.strategy_id}-{next(self._cids)}")
        self.orders_sent += 1
        order.client_order_id = reply["client_order_id"]
        order.quantity = reply["quantity"]
        order.status = OrderStatus(reply["status"])
        order.filled = reply["filled"]
        return order

    def _size(self, order: Order) -> float:
        """As the simulated exchange sizes it: a sell closes a long, a buy buys a short back;
        otherwise `fraction` of the capital, and a sell only when the strategy shorts."""
        held = self.positions.get(order.symbol, 0.0)
        if order.side is Side.SELL and held > 0:
            return held
        if order.side is Side.BUY and held < 0:
            return -held
        if order.side is Side.SELL and not self.strategy.allow_short:
            return 0.0
        closes = self.data[order.symbol].close
        if not len(closes):
            return 0.0
        return float(math.floor(self.capital * order.fraction / closes[-1]))

    def cancel_order(self, client_order_id: str) -> Order:
        """Cancel through the order port."""
        reply = self.orders.cancel(client_order_id, f"{self.strategy_id}-cancel")
        order = Order(
            reply["client_order_id"], reply["symbol"], Side(reply["side"]), reply["quantity"]
        )
        order.status = OrderStatus(reply["status"])
        return order

    def position(self, symbol: str) -> float:
        """Signed quantity this strategy holds."""
        return self.positions.get(symbol, 0.0)

    def portfolio(self) -> PortfolioView:
        """The strategy's own capital, cash flow and positions at the last closes."""
        value = sum(
            q * float(self.data[s].close[-1])
            for s, q in self.positions.items()
            if q and len(self.data[s].close)
        )
        cash = self.capital + self.cash_flow
        return PortfolioView(cash, cash + value, dict(self.positions))

    def now_ns(self) -> int:
        """Wall-clock time."""
        return self.clock.now_ns()

    def index(self, symbol: str) -> int:
        """Index of the latest bar of `symbol`."""
        return len(self.data[symbol]) - 1

    def summary(self) -> dict[str, Any]:
        """State, positions and P&L (cash flow plus positions at the last closes)."""
        view = self.portfolio() if self.bars_seen else None
        return {
            "id": self.strategy_id,
            "name": self.strategy.name or type(self.strategy).__name__,
            "symbols": self.symbols,
            "timeframe": self.timeframe,
            "params": self.strategy.params(),
            "state": self.state,
            "positions": {s: q for s, q in self.positions.items() if q},
            "pnl": (view.equity - self.capital) if view else 0.0,
            "bars": self.bars_seen,
            "orders": self.orders_sent,
            "last_error": self.last_error,
        }
