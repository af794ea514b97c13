"""Live microstructure of many symbols: books from `book.` events, flow from quotes and trades.

`MicroEngine` folds the data service's events in (the daemon hands them over; a
test can feed it directly) and answers the book and the metrics of a symbol at any
moment. Quotes give the mids (and the touch when there is no L2 book); trades give
prices, sizes and aggressor signs. Each symbol keeps a bounded number of recent
rows, so memory stays flat however long it runs.
"""

from __future__ import annotations

from typing import Any

from bifrost.bus import topics
from bifrost.errors import BadRequest, NotFound
from bifrost.micro.follower import BookFollower, FetchSnapshot
from bifrost.micro.metrics import FlowWindow, Levels, MicroSettings, compute_metrics
from bifrost.micro.rolling import RollingColumns
from bifrost.model.instrument import Instrument
from bifrost.model.market import QUOTE_BODY, TRADE_BODY

ROWS_KEPT = 50_000
"""Mids and trades kept per symbol (the time window usually ends sooner)."""
MAX_LEVELS = 1000


class SymbolFlow:
    """One symbol's recent mids and trades and its last quote."""

    def __init__(self, capacity: int = ROWS_KEPT) -> None:
        self.mids = RollingColumns(("mid",), capacity)
        self.trades = RollingColumns(("price", "size", "sign"), capacity)
        self.quote: dict[str, Any] | None = None
        self.last_ts = 0

    def window(self, start_ns: int) -> FlowWindow:
        """The mids and trades from `start_ns` on."""
        quote_ts, mids = self.mids.since(start_ns)
        trade_ts, trades = self.trades.since(start_ns)
        return FlowWindow(
            quote_ts, mids["mid"], trade_ts, trades["price"], trades["size"], trades["sign"]
        )


class MicroEngine:
    """Books and flow windows per symbol, and the metrics computed from them."""

    def __init__(
        self,
        symbols: list[str],
        fetch_snapshot: FetchSnapshot,
        settings: MicroSettings | None = None,
    ) -> None:
        self.settings = settings or MicroSettings()
        self.symbols = list(dict.fromkeys(symbols))
        self.books = BookFollower(fetch_snapshot, lambda s: Instrument.default_for(s).tick_size)
        self.flows: dict[str, SymbolFlow] = {}
        self.changed: set[str] = set()

    # -- events -----------------------------------------------------------------------

    def on_event(self, topic: str, type_: str, seq: int, body: Any) -> None:
        """Fold one `book.`, `quote.` or `trade.` event in; BadRequest if it is malformed."""
        kind = topics.kind_of(topic)
        if kind == topics.BOOK:
            symbol = self.books.on_event(topic, type_, seq, body)
            if symbol is not None:
                self._known(symbol)
                self.changed.add(symbol)
            return
        if kind == topics.QUOTE:
            self.on_quote(QUOTE_BODY.check(body, f"{topic} body"))
        elif kind == topics.TRADE:
            self.on_trade(TRADE_BODY.check(body, f"{topic} body"))

    def on_quote(self, quote: dict[str, Any]) -> None:
        """A checked quote body."""
        bid, ask = float(quote["bid"]), float(quote["ask"])
        if not (0 < bid <= ask):
            raise BadRequest(f"quote {quote['symbol']}: bid {bid} / ask {ask} is not a market")
        flow = self._flow(quote["symbol"])
        flow.mids.append(quote["ts"], (bid + ask) / 2)
        flow.quote = quote
        flow.last_ts = max(flow.last_ts, quote["ts"])
        self.changed.add(quote["symbol"])

    def on_trade(self, trade: dict[str, Any]) -> None:
        """A checked trade body."""
        price, size = float(trade["price"]), float(trade["size"])
        if not (price > 0 and size > 0) or trade["side"] not in ("BUY", "SELL"):
            raise BadRequest(f"trade {trade['symbol']}: price, size or side is not valid")
        flow = self._flow(trade["symbol"])
        flow.trades.append(trade["ts"], price, size, 1.0 if trade["side"] == "BUY" else -1.0)
        flow.last_ts = max(flow.last_ts, trade["ts"])
        self.changed.add(trade["symbol"])

    def _flow(self, symbol: str) -> SymbolFlow:
        flow = self.flows.get(symbol)
        if flow is None:
            flow = self.flows[symbol] = SymbolFlow()
            self._known(symbol)
        return flow

    def _known(self, symbol: str) -> None:
        if symbol not in self.symbols:
            self.symbols.append(symbol)

    # -- questions --------------------------------------------------------------------

    def check_symbol(self, symbol: str) -> None:
        """NotFound unless the symbol is followed (configured or seen on the bus)."""
        if symbol not in self.symbols:
            raise unfollowed(symbol, self.symbols)

    def touch(self, symbol: str, levels: int) -> tuple[Levels, Levels, int, str]:
        """(bids, asks, ts, source): the L2 book when there is one, else the last quote."""
        book = self.books.books.get(symbol)
        if book is not None and any(book.level_counts()):
            bids, asks = book.depth(levels)
            return bids, asks, book.ts, "book"
        quote = self._flow(symbol).quote
        if quote is None:
            return [], [], 0, "none"
        bids = [(float(quote["bid"]), float(quote["bid_size"]))]
        asks = [(float(quote["ask"]), float(quote["ask_size"]))]
        return bids, asks, int(quote["ts"]), "quote"

    def book(self, symbol: str, levels: int = 10) -> dict[str, Any]:
        """The best `levels` of a symbol's book as a plain map."""
        self.check_symbol(symbol)
        if not 1 <= levels <= MAX_LEVELS:
            raise BadRequest(f"levels must be between 1 and {MAX_LEVELS}, not {levels}")
        bids, asks, ts, source = self.touch(symbol, levels)
        return book_document(symbol, bids, asks, ts, source, self.books.seqs.get(symbol, 0))

    def metrics(self, symbol: str, now_ns: int) -> dict[str, Any]:
        """Every measure of a symbol over the window ending at its latest event."""
        self.check_symbol(symbol)
        flow = self._flow(symbol)
        bids, asks, ts, source = self.touch(symbol, self.settings.depth_levels)
        end = max(flow.last_ts, ts) or now_ns
        start = end - int(self.settings.window_seconds * 1e9)
        result = compute_metrics(symbol, bids, asks, flow.window(start), self.settings, end)
        return {**result, "source": "live", "book": source}

    def take_changed(self) -> list[str]:
        """The symbols with new events since the last call, in follow order."""
        changed, self.changed = self.changed, set()
        return [s for s in self.symbols if s in changed]


def unfollowed(symbol: str, followed: list[str]) -> NotFound:
    """The error for a symbol the microstructure service does not follow."""
    return NotFound(
        f"microstructure follows no symbol '{symbol}' "
        f"(it follows: {', '.join(followed) or 'none yet'})"
    )


def book_document(
    symbol: str, bids: Levels, asks: Levels, ts: int, source: str, seq: int = 0
) -> dict[str, Any]:
    """A book as the CLI, the TUI and `micro.book` show it."""
    best_bid = bids[0][0] if bids else None
    best_ask = asks[0][0] if asks else None
    both = best_bid is not None and best_ask is not None
    return {
        "symbol": symbol,
        "ts": ts,
        "seq": seq,
        "source": source,
        "bids": [[p, s] for p, s in bids],
        "asks": [[p, s] for p, s in asks],
        "best_bid": best_bid,
        "best_ask": best_ask,
        "spread": round(best_ask - best_bid, 10) if both else None,  # type: ignore[operator]
        "mid": (best_bid + best_ask) / 2 if both else None,  # type: ignore[operator]
    }
