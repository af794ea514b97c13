"""Market data records: bars, quotes and trade prints. Timestamps are int ns UTC."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from bifrost.bus.schema import ListOf, Schema
from bifrost.errors import BadRequest


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


class BookSide(StrEnum):
    """The side of an order book a price level rests on."""

    BID = "bid"
    ASK = "ask"


MAX_BOOK_CHANGES = 10_000
"""Most level changes one `book.` event may carry."""


def _level_number(value: Any, what: str, *, positive: bool) -> float:
    """A finite price (> 0) or size (>= 0) from a message; BadRequest names what is wrong."""
    if type(value) not in (int, float) or not math.isfinite(value):
        raise BadRequest(f"{what}: expected a finite number, got {value!r}")
    if (value <= 0) if positive else (value < 0):
        raise BadRequest(f"{what}: {value!r} must be {'positive' if positive else '>= 0'}")
    return float(value)


@dataclass(frozen=True, slots=True)
class BookDelta:
    """Changes to one symbol's L2 book at one instant: (side, price, size) per level.

    A size of 0 removes the level. Removals come first, so a consumer applying the
    changes in order never sees a crossed book in between.
    """

    symbol: str
    changes: tuple[tuple[BookSide, float, float], ...]
    ts: int

    def to_body(self) -> dict[str, Any]:
        """The event body published on `book.<SYM>` (type `book_delta`)."""
        return {
            "symbol": self.symbol,
            "ts": self.ts,
            "changes": [[side.value, price, size] for side, price, size in self.changes],
        }

    @classmethod
    def from_body(cls, body: Any) -> BookDelta:
        """Check and read an event body; BadRequest names the first bad field."""
        BOOK_DELTA_BODY.check(body)
        changes = body["changes"]
        if len(changes) > MAX_BOOK_CHANGES:
            raise BadRequest(f"book delta: more than {MAX_BOOK_CHANGES} changes")
        out = []
        for i, change in enumerate(changes):
            where = f"book delta {body['symbol']} change {i}"
            if type(change) is not list or len(change) != 3:
                raise BadRequest(f"{where}: expected [side, price, size], got {change!r}")
            side, price, size = change
            if side not in ("bid", "ask"):
                raise BadRequest(f"{where}: side {side!r} is not 'bid' or 'ask'")
            out.append(
                (
                    BookSide(side),
                    _level_number(price, f"{where} price", positive=True),
                    _level_number(size, f"{where} size", positive=False),
                )
            )
        return cls(body["symbol"], tuple(out), body["ts"])


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """One symbol's whole L2 book: (price, size) levels, best first on each side."""

    symbol: str
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]
    ts: int

    def to_body(self) -> dict[str, Any]:
        """The body of a `book` event (the `book.<SYM>` topic's snapshot value)."""
        return {
            "symbol": self.symbol,
            "ts": self.ts,
            "bids": [[p, s] for p, s in self.bids],
            "asks": [[p, s] for p, s in self.asks],
        }

    @classmethod
    def from_body(cls, body: Any) -> BookSnapshot:
        """Check and read a `book` body; BadRequest names the first bad level."""
        BOOK_SNAPSHOT_BODY.check(body)
        sides = []
        for name in ("bids", "asks"):
            levels = []
            for i, level in enumerate(body[name]):
                where = f"book {body['symbol']} {name}[{i}]"
                if type(level) is not list or len(level) != 2:
                    raise BadRequest(f"{where}: expected [price, size], got {level!r}")
                levels.append(
                    (
                        _level_number(level[0], f"{where} price", positive=True),
                        _level_number(level[1], f"{where} size", positive=True),
                    )
                )
            sides.append(tuple(levels))
        return cls(body["symbol"], sides[0], sides[1], body["ts"])


QUOTE_BODY = Schema(
    "quote",
    {"symbol": str, "bid": float, "ask": float, "bid_size": float, "ask_size": float, "ts": int},
)
TRADE_BODY = Schema(
    "trade",
    {"symbol": str, "price": float, "size": float, "side": str, "trade_id": str, "ts": int},
)
BOOK_DELTA_BODY = Schema(
    "book delta", {"symbol": str, "ts": int, "changes": ListOf(list, max_items=MAX_BOOK_CHANGES)}
)
BOOK_SNAPSHOT_BODY = Schema(
    "book", {"symbol": str, "ts": int, "bids": ListOf(list), "asks": ListOf(list)}
)
