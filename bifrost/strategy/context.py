"""What an engine (backtest or live runner) gives a strategy, and the view the strategy
gets of it.

`StrategyContext` is the protocol an engine implements: order entry, positions, the
clock and the current bar index. The engine holds every bar of the run, the exchange
and the account; handing it to the strategy as a public attribute would let
`self.context.data` read bars after the current one. `ContextView` forwards the six
calls of the protocol and keeps the engine in a private slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bifrost.model.orders import Order


@dataclass(frozen=True, slots=True)
class PortfolioView:
    """What the strategy may know of its account right now."""

    cash: float
    equity: float
    positions: dict[str, float]


class StrategyContext(Protocol):
    """What an engine gives a strategy: order entry, positions, time and data."""

    def submit_order(self, order: Order) -> Order:
        """Send an order to the exchange or broker."""

    def cancel_order(self, client_order_id: str) -> Order:
        """Cancel an open order."""

    def position(self, symbol: str) -> float:
        """Signed quantity held."""

    def portfolio(self) -> PortfolioView:
        """Cash, equity and positions now."""

    def now_ns(self) -> int:
        """The engine's clock."""

    def index(self, symbol: str) -> int:
        """Index of the bar of `symbol` being handled (or the latest seen)."""


class ContextView:
    """Order entry, positions, the clock and the current bar index of a running engine."""

    __slots__ = ("_engine",)

    def __init__(self, engine: StrategyContext) -> None:
        self._engine = engine

    def submit_order(self, order: Order) -> Order:
        """Send an order to the exchange or broker."""
        return self._engine.submit_order(order)

    def cancel_order(self, client_order_id: str) -> Order:
        """Cancel an open order."""
        return self._engine.cancel_order(client_order_id)

    def position(self, symbol: str) -> float:
        """Signed quantity held."""
        return self._engine.position(symbol)

    def portfolio(self) -> PortfolioView:
        """Cash, equity and positions now."""
        return self._engine.portfolio()

    def now_ns(self) -> int:
        """The engine's clock."""
        return self._engine.now_ns()

    def index(self, symbol: str) -> int:
        """Index of the bar of `symbol` being handled (or the latest seen)."""
        return self._engine.index(symbol)
