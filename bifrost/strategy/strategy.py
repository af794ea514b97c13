"""The one strategy API for backtest, paper and live (DESIGN section 6).

A strategy declares its parameters as annotated class attributes with defaults
(`fast: int = 10`); `Strategy(**params)` checks names and types. The engine that
runs it (backtest or live) binds a `StrategyContext`; the strategy then trades
through `buy`, `sell`, `submit` and `cancel`, reads `position(symbol)`,
`portfolio` and the news `sentiment(symbol)`, and uses indicators computed over its
data with `self.I(...)`. Nothing a strategy can reach shows what comes after the bar
being handled: `self.data[symbol]` is a BarView whose series end at that bar
(`close[-1]` is its close), indicators are read the same way, `self.context` forwards
the context calls alone, and `self.news` answers for times up to now only.
"""

from __future__ import annotations

import inspect
import itertools
import math
import typing
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from bifrost.errors import BadRequest, InvalidParameter
from bifrost.model.market import Bar, Quote, Side, Trade
from bifrost.model.orders import Fill, Order, OrderType, TimeInForce
from bifrost.sim.constraints import Constraint, first_broken
from bifrost.sim.past_data import (
    BarView,
    NewsUpToNow,
    PastSeries,
    check_causal,
    whole_series,
)
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.context import ContextView, PortfolioView, StrategyContext
from bifrost.strategy.indicator import Indicator
from bifrost.strategy.sentiment import NoNews, SentimentSource

PARAM_TYPES = (int, float, str, bool)


class Strategy:
    """Base class of every strategy; override the `on_*` hooks you need."""

    name: ClassVar[str] = ""
    """Registry name (`sma_cross`); defaults to the class name."""
    timer_seconds: ClassVar[float | None] = None
    """When set, `on_timer` runs each time this much (simulated or real) time has passed."""

    constraints: ClassVar[tuple[Constraint, ...]] = ()
    """Rules the parameter values must keep (bifrost.sim.constraints)."""
    allow_short: bool = False
    """When true, a sell with no size while flat opens a short (sized as a buy would be)
    and a buy with no size while short buys it back; when false such a sell fills
    nothing (the order is canceled). Declare it as a parameter to let users choose."""

    def __init__(self, **params: Any) -> None:
        checked = self.checked_params(params)
        for key in params:
            setattr(self, key, checked[key])
        self.symbols: list[str] = []
        self.data: dict[str, BarView] = {}
        """Each symbol's bars up to the current bar (`close[-1]` is the current close)."""
        self.strategy_id = self.name or type(self).__name__
        self._context: StrategyContext | None = None
        self._position: Callable[[str], float] = lambda symbol: self._engine().position(symbol)
        self._context_view: ContextView | None = None
        self._news: SentimentSource = NoNews()
        self._order_ids = itertools.count(1)
        self._recipes: list[tuple[list[Indicator], Callable[..., Any], tuple, dict]] = []

    @classmethod
    def parameters(cls) -> dict[str, tuple[type, Any]]:
        """Every parameter with its type and default, from the annotated class attributes."""
        out: dict[str, tuple[type, Any]] = {}
        for klass in reversed(cls.__mro__):
            if klass in (Strategy, object):
                continue
            hints = typing.get_type_hints(klass)
            for key in inspect.get_annotations(klass):
                kind = hints[key]
                if kind in PARAM_TYPES and hasattr(klass, key):
                    # the default as `cls` sees it: a subclass may override it unannotated
                    out[key] = (kind, getattr(cls, key))
        return out

    @classmethod
    def checked_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Every parameter's value (given, else its default) as its declared type, checked
        against `constraints`; InvalidParameter names the first one that makes no sense."""
        spec = cls.parameters()
        values = {key: default for key, (_, default) in spec.items()}
        for key, value in params.items():
            if key not in spec:
                known = ", ".join(spec) or "none"
                raise InvalidParameter(key, f"{cls.__name__} has no parameter '{key}' ({known})")
            values[key] = coerce_param(key, value, spec[key][0])
        broken = first_broken(cls.constraints, values)
        if broken is not None:
            rule, message = broken
            raise InvalidParameter(
                rule.parameter, f"{cls.name or cls.__name__}: {message}", rule.rule
            )
        return values

    def params(self) -> dict[str, Any]:
        """The parameter values of this instance."""
        return {key: getattr(self, key) for key in self.parameters()}

    def bind(self, context: StrategyContext, data: dict[str, BarArrays]) -> None:
        """Attach the engine's context and the strategy's data (called by the engine).

        The strategy keeps views of `data` that end at the bar `context.index` names.
        """
        self._context = context
        self._context_view = ContextView(context)
        self._position = context.position
        self.data = {
            s: BarView(bars, s, context.index, self._cursor(s)) for s, bars in data.items()
        }
        self.symbols = list(data)

    @property
    def news(self) -> SentimentSource:
        """Where `sentiment` reads from, answering for times up to now only."""
        return NewsUpToNow(self._news, self.context.now_ns)

    @news.setter
    def news(self, source: SentimentSource) -> None:
        """Set by the engine running the strategy."""
        self._news = source

    # -- hooks (override) -----------------------------------------------------------

    def on_start(self) -> None:
        """Before the first bar: compute indicators here with `self.I`."""

    def on_bar(self, bar: Bar) -> None:
        """A bar of one of the strategy's symbols closed."""

    def on_quote(self, quote: Quote) -> None:
        """A quote arrived (live and tick backtests)."""

    def on_trade(self, trade: Trade) -> None:
        """A trade print arrived (live and tick backtests)."""

    def on_fill(self, fill: Fill) -> None:
        """One of the strategy's orders filled (partly)."""

    def on_order(self, order: Order) -> None:
        """One of the strategy's orders changed state."""

    def on_timer(self, ts: int) -> None:
        """A timer the engine runs fired."""

    def on_stop(self) -> None:
        """After the last bar."""

    # -- actions --------------------------------------------------------------------

    @property
    def context(self) -> StrategyContext:
        """The engine's context calls (ContextView); only there while the strategy runs."""
        if self._context_view is None:
            raise RuntimeError("the strategy is not running: bind() was not called")
        return self._context_view

    def _engine(self) -> StrategyContext:
        """The engine itself, for the strategy's own methods (skips the view's call)."""
        if self._context is None:
            raise RuntimeError("the strategy is not running: bind() was not called")
        return self._context

    def I(  # noqa: E743 - the conventional name for "make an indicator"
        self, func: Callable[..., Any], *args: Any, symbol: str | None = None, **kwargs: Any
    ) -> Indicator:
        """Compute `func(*args)` over the whole series once; read it bar by bar.

        Data views among the arguments reach `func` as whole arrays; `func` must be
        causal (its value at a bar from that bar and earlier ones), else LookAhead.
        """
        name = getattr(func, "__name__", "indicator")
        owner = self._indicator_symbol(symbol, args, kwargs)
        result = self._whole(func, args, kwargs)
        check_causal(name, func, args, kwargs, result)
        made = Indicator(name, np.asarray(result), owner, self._engine().index, self._cursor(owner))
        self._recipes.append(([made], func, args, kwargs))
        return made

    def I_many(
        self, func: Callable[..., Any], *args: Any, symbol: str | None = None, **kwargs: Any
    ) -> tuple[Indicator, ...]:
        """`I` for a function returning several arrays (MACD, Bollinger bands)."""
        name = getattr(func, "__name__", "indicator")
        owner = self._indicator_symbol(symbol, args, kwargs)
        result = tuple(self._whole(func, args, kwargs))
        check_causal(name, func, args, kwargs, result)
        index, cursor = self._engine().index, self._cursor(owner)
        made = tuple(Indicator(name, np.asarray(r), owner, index, cursor) for r in result)
        self._recipes.append((list(made), func, args, kwargs))
        return made

    def _cursor(self, symbol: str) -> list[int] | None:
        """The engine's cursor of `symbol` (its bar index as a one-element list), when the
        engine keeps one (the backtests do; a live runner counts its bars instead)."""
        cursor = getattr(self._engine(), "cursor", None)
        return cursor(symbol) if cursor is not None else None

    @staticmethod
    def _whole(func: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
        """`func` over the whole series behind the data views among its arguments."""
        return func(*map(whole_series, args), **{k: whole_series(v) for k, v in kwargs.items()})

    def _indicator_symbol(self, symbol: str | None, args: tuple, kwargs: dict[str, Any]) -> str:
        """Whose bars an indicator follows: `symbol`, else that of its data arguments.

        Read at another symbol's bar index, a series would show bars that symbol has not
        reached yet when their timelines differ, so a mismatch is refused.
        """
        owners = [a.symbol for a in (*args, *kwargs.values()) if isinstance(a, PastSeries)]
        if symbol is not None and owners and symbol not in owners:
            raise BadRequest(
                f"indicator over {owners[0]}'s bars cannot follow {symbol}'s bars: "
                f"pass symbol={owners[0]!r}"
            )
        return symbol or (owners[0] if owners else self.symbols[0])

    def extend_data(self, data: dict[str, BarArrays]) -> None:
        """Swap in longer bar arrays (live bars arrived) and recompute every indicator.

        The data views follow the new arrays, so `self.I(sma, self.data[s].close, 10)`
        follows the growing series.
        """
        for symbol, bars in data.items():
            self.data[symbol].set_bars(bars)
        for made, func, args, kwargs in self._recipes:
            result = self._whole(func, args, kwargs)
            series = result if isinstance(result, tuple) else (result,)
            for indicator, values in zip(made, series, strict=True):
                indicator.set_values(np.asarray(values))

    def buy(self, symbol: str | None = None, size: float | None = None, **options: Any) -> Order:
        """Buy `size` (default: `fraction` of the cash, in whole lots, when it fills)."""
        return self._order(Side.BUY, symbol, size, **options)

    def sell(self, symbol: str | None = None, size: float | None = None, **options: Any) -> Order:
        """Sell `size` (default: the whole long position, when it fills)."""
        return self._order(Side.SELL, symbol, size, **options)

    def _order(
        self,
        side: Side,
        symbol: str | None,
        size: float | None,
        *,
        limit: float | None = None,
        stop: float | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        fraction: float = 1.0,
    ) -> Order:
        kind = OrderType.for_prices(limit, stop)
        order = Order(
            f"{self.strategy_id}-{next(self._order_ids)}",
            symbol or self.symbols[0],
            side,
            size,
            kind,
            limit_price=limit,
            stop_price=stop,
            tif=tif,
            strategy_id=self.strategy_id,
            fraction=fraction,
        )
        return self._engine().submit_order(order)

    def submit(self, order: Order) -> Order:
        """Send a fully specified order."""
        return self._engine().submit_order(order)

    def cancel(self, client_order_id: str) -> Order:
        """Cancel one of the strategy's open orders."""
        return self._engine().cancel_order(client_order_id)

    def order_target_percent(self, symbol: str, percent: float, lot: float = 1.0) -> Order | None:
        """Trade `symbol` towards `percent` of equity at the last close (whole lots).

        Sizing helper: 0.25 holds a quarter of the equity in the symbol, 0 closes it.
        Returns the order sent, or None when the position is already on target.
        """
        close = self.data[symbol].close[-1]
        target = math.floor(self.portfolio.equity * percent / close / lot + 1e-9) * lot
        change = target - self.position(symbol)
        if abs(change) < lot:
            return None
        side = Side.BUY if change > 0 else Side.SELL
        return self._order(side, symbol, abs(change))

    def position(self, symbol: str | None = None) -> float:
        """Signed quantity held of `symbol` (default: the first symbol)."""
        # Most strategies ask every bar: the engine's own call, bound once in `bind`.
        return self._position(symbol or self.symbols[0])

    def sentiment(self, symbol: str | None = None) -> float:
        """Rolling news sentiment of `symbol` in [-1, 1], as known when the current bar
        closed (live: now); 0.0 when nothing has been said about it."""
        return self._news.score(symbol or self.symbols[0], self._engine().now_ns())

    @property
    def portfolio(self) -> PortfolioView:
        """Cash, equity and positions now."""
        return self._engine().portfolio()


def coerce_param(key: str, value: Any, kind: type) -> Any:
    """A parameter value as its declared type (CLI values arrive as text)."""
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    try:
        if kind is bool:
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if kind is int:
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        return kind(value)
    except (TypeError, ValueError):
        raise InvalidParameter(
            key, f"parameter {key}={value!r} is not a valid {kind.__name__}", kind.__name__
        ) from None

