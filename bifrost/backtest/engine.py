"""The event-driven backtest: a Strategy run bar by bar through the SimulatedExchange.

Per timestamp of the merged timeline (all symbols aligned by time), for each symbol
with a bar at that time, in symbol order:
1. resting orders placed before this bar fill against it (`process_bar`);
2. the strategy's `on_bar` sees the closed bar and may place orders;
3. in "close" fill mode, MARKET orders placed in step 2 fill at this bar's close.
Then equity is marked at the closes. After the last bar, open orders are cancelled
and, with `close_at_end`, open positions are sold (or bought back) at the last close.
The clock is simulated: it reads each bar's time, so the strategy's "now" is the bar.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bifrost.backtest.stats import TradeArrays, compute_stats
from bifrost.errors import BadRequest
from bifrost.model.market import Bar, Side
from bifrost.model.orders import Fill, Order, OrderType
from bifrost.sim.account import SimAccount, TradeRecord
from bifrost.sim.costs import CommissionModel, FixedBpsSlippage, PercentCommission
from bifrost.sim.exchange import BarPrices, SimulatedExchange
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.context import PortfolioView
from bifrost.strategy.strategy import Strategy

FILL_MODES = ("next-open", "close")


class BacktestClock:
    """The simulated time of a backtest: the time of the event being handled.

    The one-symbol loop sets `now` directly, a store per bar instead of a call, having
    checked once that its bars never go back in time; the merged loops advance it.
    """

    __slots__ = ("now",)

    def __init__(self, start_ns: int) -> None:
        self.now = start_ns

    def now_ns(self) -> int:
        """The simulated current time."""
        return self.now

    def advance_to(self, ts_ns: int) -> None:
        """Move time forward to `ts_ns`; time never runs backwards."""
        if ts_ns < self.now:
            raise ValueError(f"clock cannot go back from {self.now} to {ts_ns}")
        self.now = ts_ns

    def check_forward(self, ts: np.ndarray) -> None:
        """Raise as `advance_to` would when the times `ts`, taken in order, go back."""
        back = np.flatnonzero(np.diff(ts) < 0)
        if len(back):
            self.advance_to(int(ts[back[0]]))
            self.advance_to(int(ts[back[0] + 1]))


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """Money, costs and conventions of a backtest (both engines use the same)."""

    cash: float = 100_000.0
    commission: CommissionModel = field(default_factory=PercentCommission)
    slippage_bps: float = 0.0
    fill: str = "next-open"
    """When MARKET orders fill: the next bar's open, or the signal bar's close."""
    close_at_end: bool = True
    """Close positions still open after the last bar at its close (counted as trades)."""
    max_participation: float | None = None
    timeframe: str = "1d"
    periods_per_year: float | None = None
    """Bars per year that annualise volatility and Sharpe; None infers it from the spacing
    of the bars (stats.infer_periods_per_year)."""

    def __post_init__(self) -> None:
        if self.fill not in FILL_MODES:
            raise BadRequest(f"fill '{self.fill}' must be next-open or close")
        if not self.cash > 0:
            raise BadRequest("cash must be positive")
        if self.slippage_bps < 0:
            raise BadRequest("slippage must not be negative")


@dataclass
class BacktestResult:
    """What a backtest produced: the marked equity curve, trades, fills, orders, stats.

    The round trips are kept as columns (`trade_columns`), which is what statistics and
    storage read; `trades` builds the TradeRecord objects on first use only, since a long
    run can make tens of thousands of them.
    """

    symbols: list[str]
    ts: np.ndarray
    equity: np.ndarray
    exposure: np.ndarray
    trade_columns: TradeArrays
    fills: list[Fill]
    orders: list[Order]
    positions: dict[str, float]
    benchmark_close: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)
    _records: list[TradeRecord] | None = field(default=None, repr=False, compare=False)

    @property
    def trades(self) -> list[TradeRecord]:
        """The round trips as objects (built from the columns on first use)."""
        if self._records is None:
            self._records = trade_records(self.trade_columns)
        return self._records

    def trade_arrays(self) -> TradeArrays:
        """The round trips as columns (for statistics and storage)."""
        return self.trade_columns

    def compute_stats(self, periods_per_year: float | None = None) -> dict[str, Any]:
        """Fill in and return the statistics (annualised with `periods_per_year` bars)."""
        self.stats = compute_stats(
            self.ts,
            self.equity,
            self.trade_columns,
            self.exposure,
            self.benchmark_close,
            periods_per_year,
        )
        return self.stats


def trade_arrays(trades: list[TradeRecord]) -> TradeArrays:
    """Round trips as the columns the statistics take."""
    if not trades:
        return TradeArrays.empty()
    return TradeArrays(
        np.array([t.entry_ts for t in trades], dtype=np.int64),
        np.array([t.exit_ts for t in trades], dtype=np.int64),
        np.array([t.pnl for t in trades]),
        np.array([t.return_pct for t in trades]),
        np.array([t.size for t in trades], dtype=np.float64),
        np.array([t.entry_price for t in trades]),
        np.array([t.exit_price for t in trades]),
        np.array([t.symbol for t in trades], dtype=object),
        np.array([t.commission for t in trades], dtype=np.float64),
    )


def trade_records(columns: TradeArrays) -> list[TradeRecord]:
    """The columns as TradeRecord objects (tolist gives the same Python numbers as int()
    and float() of each element, in bulk)."""
    sizes = columns.size.tolist()
    return [
        TradeRecord(symbol, entry, exit_, size, 1 if size > 0 else -1, ep, xp, pnl, fee)
        for symbol, entry, exit_, size, ep, xp, pnl, fee in zip(
            columns.symbol.tolist(),
            columns.entry_ts.tolist(),
            columns.exit_ts.tolist(),
            sizes,
            columns.entry_price.tolist(),
            columns.exit_price.tolist(),
            columns.pnl.tolist(),
            columns.commission.tolist(),
            strict=True,
        )
    ]


class EventEngine:
    """Runs one strategy over bar arrays; it is the strategy's context while it runs."""

    def __init__(self, data: dict[str, BarArrays], config: BacktestConfig) -> None:
        if not data or any(len(bars) == 0 for bars in data.values()):
            raise BadRequest("a backtest needs bars for every symbol")
        self.data = dict(sorted(data.items()))
        self.config = config
        self.clock = BacktestClock(min(int(b.ts[0]) for b in self.data.values()))
        self.account = SimAccount(config.cash, config.commission)
        self.exchange = SimulatedExchange(
            self.account,
            slippage=FixedBpsSlippage(config.slippage_bps),
            fill_at_close=config.fill == "close",
            max_participation=config.max_participation,
        )
        # Each symbol's current bar index as a one-element list: data views and
        # indicators hold the list and read `cursor[0]` on every access, with no call.
        self._cursors = {s: [-1] for s in self.data}
        self._marks = {s: float(b.close[0]) for s, b in self.data.items()}
        self.strategy: Strategy | None = None

    # -- StrategyContext ------------------------------------------------------------------

    def submit_order(self, order: Order) -> Order:
        """Place an order now (it fills by the exchange's rules)."""
        if order.symbol not in self.data:
            raise BadRequest(f"no data for {order.symbol} in this backtest")
        return self.exchange.submit(order, self.clock.now)

    def cancel_order(self, client_order_id: str) -> Order:
        """Cancel an open order."""
        return self.exchange.cancel(client_order_id)

    def position(self, symbol: str) -> float:
        """Signed quantity held."""
        return self.account.positions.get(symbol, 0.0)

    def portfolio(self) -> PortfolioView:
        """Cash, equity at the latest closes, positions."""
        equity = self.account.equity(self._marks)
        return PortfolioView(self.account.cash, equity, dict(self.account.positions))

    def now_ns(self) -> int:
        """The time of the bar being handled."""
        return self.clock.now

    def index(self, symbol: str) -> int:
        """Index of the bar of `symbol` being handled (or the latest seen)."""
        return self._cursors[symbol][0]

    def cursor(self, symbol: str) -> list[int]:
        """`index(symbol)` as a one-element list the engine updates in place."""
        return self._cursors[symbol]

    # -- the run ----------------------------------------------------------------------

    def run(self, strategy: Strategy) -> BacktestResult:
        """Run `strategy` over every bar; returns the result with statistics."""
        self.strategy = strategy
        seconds = type(strategy).timer_seconds
        self._timer_ns = int(seconds * 1e9) if seconds else 0
        self._next_timer = -1 if seconds else 2**63 - 1
        strategy.bind(self, self.data)
        self.exchange.allow_short = strategy.allow_short
        # Hooks the strategy leaves as Strategy's no-ops are not called (3 calls an order).
        kind = type(strategy)
        self.exchange.on_fill = None if kind.on_fill is Strategy.on_fill else strategy.on_fill
        self.exchange.on_order = None if kind.on_order is Strategy.on_order else strategy.on_order
        strategy.on_start()
        times, equity, exposure = self._loop(strategy)
        strategy.on_stop()
        self._finish(times)
        equity[-1] = self.account.equity(self._marks)
        first = next(iter(self.data.values()))
        records = list(self.account.trades)
        result = BacktestResult(
            list(self.data),
            times,
            equity,
            exposure,
            trade_arrays(records),
            list(self.account.fills),
            list(self.exchange.orders.values()),
            {s: q for s, q in self.account.positions.items() if q},
            first.close,
            _records=records,
        )
        result.compute_stats(self.config.periods_per_year)
        return result

    def _loop(self, strategy: Strategy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(self.data) == 1:
            return self._loop_single(strategy)
        return self._loop_many(strategy)

    def _loop_single(self, strategy: Strategy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The hot path for one symbol: plain lists, no merging."""
        ((symbol, bars),) = self.data.items()
        ts, o, h, lo, c, v = (
            bars.ts.tolist(),
            bars.open.tolist(),
            bars.high.tolist(),
            bars.low.tolist(),
            bars.close.tolist(),
            bars.volume.tolist(),
        )
        n = len(ts)
        # Lists take a Python float or bool in a third of the time a numpy array does.
        equity: list[float] = []
        exposure: list[bool] = []
        mark, expose = equity.append, exposure.append
        exchange, account, clock = self.exchange, self.account, self.clock
        books = exchange.books
        fill_at_close = exchange.fill_at_close
        on_bar = strategy.on_bar
        timeframe = self.config.timeframe
        cursor, marks = self._cursors[symbol], self._marks
        positions, next_timer = account.positions, self._next_timer
        clock.check_forward(bars.ts)
        for k in range(n):
            t = ts[k]
            clock.now = t
            if t >= next_timer:
                self._timer(strategy, t)
                next_timer = self._next_timer
            cursor[0] = k
            marks[symbol] = c[k]
            if books.get(symbol):
                exchange.process_bar(symbol, BarPrices(t, o[k], h[k], lo[k], c[k], v[k]))
            on_bar(Bar(symbol, timeframe, t, o[k], h[k], lo[k], c[k], v[k]))
            if fill_at_close and books.get(symbol):
                exchange.process_close(symbol, BarPrices(t, o[k], h[k], lo[k], c[k], v[k]))
            held = positions.get(symbol, 0.0)
            mark(account.cash + held * c[k])
            expose(held != 0.0)
        return bars.ts.copy(), np.array(equity), np.array(exposure, dtype=np.bool_)

    def _loop_many(self, strategy: Strategy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Several symbols merged on time; equity marked once per timestamp."""
        return self._merged_loop(strategy, self._bar)

    def _merged_loop(
        self, strategy: Strategy, handle: Callable[[Strategy, str, int], None]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every event of every symbol in time order through `handle`; marks per timestamp."""
        merged = heapq.merge(
            # Lists, not generators: a lazy generator would bind `s` to the last symbol.
            *([(int(t), s, k) for k, t in enumerate(b.ts)] for s, b in self.data.items())
        )
        times: list[int] = []
        equity: list[float] = []
        exposure: list[bool] = []
        for t, symbol, k in merged:
            if times and t != times[-1]:
                self._mark(times, equity, exposure)
            if not times or t != times[-1]:
                times.append(t)
                self.clock.advance_to(t)
                self._timer(strategy, t)
            handle(strategy, symbol, k)
        self._mark(times, equity, exposure)
        return (
            np.array(times, dtype=np.int64),
            np.array(equity),
            np.array(exposure, dtype=np.bool_),
        )

    def _bar(self, strategy: Strategy, symbol: str, k: int) -> None:
        bars = self.data[symbol]
        prices = BarPrices(
            int(bars.ts[k]),
            float(bars.open[k]),
            float(bars.high[k]),
            float(bars.low[k]),
            float(bars.close[k]),
            float(bars.volume[k]),
        )
        self._cursors[symbol][0] = k
        self._marks[symbol] = prices.close
        self.exchange.process_bar(symbol, prices)
        strategy.on_bar(
            Bar(
                symbol,
                self.config.timeframe,
                prices.ts,
                prices.open,
                prices.high,
                prices.low,
                prices.close,
                prices.volume,
            )
        )
        self.exchange.process_close(symbol, prices)

    def _timer(self, strategy: Strategy, t: int) -> None:
        """Call `on_timer` when simulated time crosses the strategy's timer interval."""
        if t < self._next_timer:
            return
        interval = self._timer_ns
        if self._next_timer >= 0:  # the first crossing only starts the count
            strategy.on_timer(t)
        self._next_timer = t - t % interval + interval

    def _mark(self, times: list[int], equity: list[float], exposure: list[bool]) -> None:
        if len(equity) < len(times):
            equity.append(self.account.equity(self._marks))
            exposure.append(any(q != 0 for q in self.account.positions.values()))

    def _finish(self, times: np.ndarray) -> None:
        """Cancel open orders; close what is still held at the last closes."""
        self.exchange.cancel_all("backtest ended")
        if not self.config.close_at_end:
            return
        end = int(times[-1])
        for symbol, quantity in list(self.account.positions.items()):
            if not quantity:
                continue
            side = Side.SELL if quantity > 0 else Side.BUY
            order = Order(
                f"close-{symbol}",
                symbol,
                side,
                abs(quantity),
                OrderType.MARKET,
                strategy_id="backtest",
            )
            price = self.exchange.slippage.adjust(side, self._marks[symbol])
            self.exchange.execute_now(order, price, end)


def run_backtest(
    strategy: Strategy, data: dict[str, BarArrays], config: BacktestConfig | None = None
) -> BacktestResult:
    """Run `strategy` event by event over `data`."""
    return EventEngine(data, config or BacktestConfig()).run(strategy)
