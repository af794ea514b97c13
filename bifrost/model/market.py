"""Market data records: bars, quotes and trade prints. Timestamps are int ns UTC."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from bifrost.bus.schema import Schema


class Side(StrEnum):
    """Which side took liquidity (for trades) or which side an order is on."""

    BUY = "BUY"
    SELL = "SELL"


@dataclass(frozen=True, slots=True)
class Quote:
    """The best bid and offer of one symbol at one instant."""

    symbol: str
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    ts: int

    @property
    def mid(self) -> float:
        """Halfway between bid and ask."""
        return (self.bid + self.ask) / 2

    def to_body(self) -> dict[str, Any]:
        """The event body published on `quote.<SYM>`."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade print: price, size and the aggressor's side."""

    symbol: str
    price: float
    size: float
    side: Side
    trade_id: str
    ts: int

    def to_body(self) -> dict[str, Any]:
        """The event body published on `trade.<SYM>`."""
        return {
            "symbol": self.symbol,
            "price": self.price,
            "size": self.size,
            "side": self.side.value,
            "trade_id": self.trade_id,
            "ts": self.ts,
        }


@dataclass(slots=True)
class Bar:
    """One OHLCV bar; `ts` is the start of its interval (ns UTC)."""

    symbol: str
    timeframe: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def to_body(self) -> dict[str, Any]:
        """The event body published on `bar.<tf>.<SYM>`."""
        return asdict(self)


QUOTE_BODY = Schema(
    "quote",
    {"symbol": str, "bid": float, "ask": float, "bid_size": float, "ask_size": float, "ts": int},
)
TRADE_BODY = Schema(
    "trade",
    {"symbol": str, "price": float, "size": float, "side": str, "trade_id": str, "ts": int},
)
