"""What the dashboard shows, folded from bus events: plain state, no widgets.

A worker thread applies events here under a lock; the screen takes a snapshot at
most ~20 times a second and paints it, so a burst of quotes costs one repaint.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_HEADLINES = 100
STALE_AFTER_S = 3.0
"""A symbol without a quote for this long is shown as stale (greyed)."""


@dataclass
class QuoteRow:
    """One watchlist line."""

    symbol: str
    bid: float = 0.0
    ask: float = 0.0
    last: float | None = None
    first_mid: float | None = None
    volume: float = 0.0
    direction: int = 0
    updated: float = 0.0

    @property
    def mid(self) -> float:
        """Halfway between bid and ask."""
        return (self.bid + self.ask) / 2

    @property
    def change_pct(self) -> float:
        """Change of the mid since the first quote seen, in percent."""
        return (self.mid / self.first_mid - 1) * 100 if self.first_mid else 0.0


@dataclass
class Desk:
    """Quotes, orders, fills, account, alerts and service health for the dashboard."""

    symbols: list[str]
    quotes: dict[str, QuoteRow] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    fills: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))
    alerts: deque[str] = field(default_factory=lambda: deque(maxlen=100))
    account: dict[str, Any] = field(default_factory=dict)
    health: dict[str, str] = field(default_factory=dict)
    headlines: list[dict[str, Any]] = field(default_factory=list)
    """Newest news first, one row per (article, symbol)."""
    sentiment: dict[str, float] = field(default_factory=dict)
    """Latest rolling news sentiment by symbol."""
    ticks: dict[str, float] = field(default_factory=dict)
    """Tick size by symbol, from the data service's instruments (prices print on it)."""
    trading: str = ""
    """Risk's trading state (ACTIVE, REDUCING, HALTED); empty until risk is heard from."""
    version: int = 0
    bad_events: int = 0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    """Monotonic seconds: when a quote arrived and whether it is stale now."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        for symbol in self.symbols:
            self.quotes.setdefault(symbol, QuoteRow(symbol))

    def apply(self, topic: str, body: Any, now: float | None = None, ts_ns: int = 0) -> None:
        """Fold one event in; a malformed one is counted and skipped, never raised.

        `now` is when it arrived (the desk's clock when absent); `ts_ns` is when it was
        published (the envelope's `ts`), which an alert line shows.
        """
        now = self.clock() if now is None else now
        kind = topic.partition(".")[0]
        handler = {
            "quote": self._quote,
            "trade": self._trade,
            "order": self._order,
            "fill": self._fill,
            "pnl": self._pnl,
            "alert": self._alert,
            "news": self._news,
        }.get(kind)
        if handler is None:
            return
        with self.lock:
            try:
                handler(body, now, ts_ns)
            except (KeyError, TypeError, ValueError, AttributeError):
                self.bad_events += 1
                return
            self.version += 1

    def _quote(self, body: dict[str, Any], now: float, ts_ns: int) -> None:
        row = self.quotes.get(body["symbol"])
        if row is None:
            return
        old = row.mid
        row.bid, row.ask, row.updated = float(body["bid"]), float(body["ask"]), now
        if row.first_mid is None:
            row.first_mid = row.mid
        elif old:
            row.direction = (row.mid > old) - (row.mid < old)

    def _trade(self, body: dict[str, Any], now: float, ts_ns: int) -> None:
        row = self.quotes.get(body["symbol"])
        if row is not None:
            row.last = float(body["price"])
            row.volume += float(body["size"])

    def _order(self, body: dict[str, Any], now: float, ts_ns: int) -> None:
        self.orders[body["client_order_id"]] = dict(body)

    def _fill(self, body: dict[str, Any], now: float, ts_ns: int) -> None:
        self.fills.appendleft(dict(body))

    def _pnl(self, body: dict[str, Any], now: float, ts_ns: int) -> None:
        self.account = dict(body)

    def _alert(self, body: dict[str, Any], now: float, ts_ns: int) -> None:
        from bifrost.clock import format_instant

        if body.get("kind") == "state":
            self.trading = str(body["state"])
        elif body.get("kind") == "halted":
            self.trading = "HALTED"
        text = body.get("message") or body.get("reason") or body.get("kind", "alert")
        when = format_instant(ts_ns or time.time_ns())[-8:]  # UTC, as the fills show it
        self.alerts.appendleft(f"{when} {body.get('kind', '')}: {text}")

    def _news(self, body: dict[str, Any], now: float, ts_ns: int) -> None:
        rolling = body.get("rolling")
        if rolling is not None:
            self.sentiment[body["symbol"]] = float(rolling)
        key = (body["article_id"], body["symbol"])
        if any((h["article_id"], h["symbol"]) == key for h in self.headlines):
            return  # a reload repeats what events already brought
        row = {k: body.get(k) for k in ("article_id", "symbol", "ts", "title", "source")}
        self.headlines.append({**row, "score": float(body["score"]), "rolling": rolling})
        self.headlines.sort(key=lambda h: h["ts"], reverse=True)
        del self.headlines[MAX_HEADLINES:]

    def set_sentiment(self, sentiment: dict[str, float]) -> None:
        """Replace the rolling news sentiment of some symbols (after a reload)."""
        with self.lock:
            self.sentiment.update(sentiment)
            self.version += 1

    def set_instruments(self, rows: list[dict[str, Any]]) -> None:
        """Keep each stored instrument's tick size (after the data service comes up)."""
        with self.lock:
            self.ticks.update({row["symbol"]: float(row["tick_size"]) for row in rows})
            self.version += 1

    def tick_size(self, symbol: str) -> float:
        """The symbol's tick size: the stored instrument's, else the default instrument's."""
        tick = self.ticks.get(symbol)
        if tick is None:
            from bifrost.model.instrument import Instrument

            tick = self.ticks[symbol] = Instrument.default_for(symbol).tick_size
        return tick

    def set_trading(self, state: str) -> None:
        """Risk's trading state as its `health` tells it (alerts tell it sooner)."""
        with self.lock:
            if state != self.trading:
                self.trading = state
                self.version += 1

    def set_health(self, health: dict[str, str]) -> None:
        """Replace the service health strip (service -> ready/degraded/down)."""
        with self.lock:
            self.health = dict(health)
            self.version += 1

    def open_orders(self) -> list[dict[str, Any]]:
        """Orders that can still fill, newest first."""
        with self.lock:
            rows = [
                o
                for o in self.orders.values()
                if o["status"] in ("SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED")
            ]
        return sorted(rows, key=lambda o: o.get("created_ts", 0), reverse=True)

    def stale(self, symbol: str, now: float | None = None) -> bool:
        """True when the symbol's last quote is old (or there never was one)."""
        now = self.clock() if now is None else now
        row = self.quotes[symbol]
        return not row.updated or now - row.updated > STALE_AFTER_S
