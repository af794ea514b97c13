"""A seeded synthetic market: geometric Brownian motion mid prices with quoted spreads.

Each step moves every symbol's mid by one GBM increment over `1/quotes_per_second`
seconds of trading time, quotes a spread of about `spread_bps` (at least one tick,
sometimes a tick wider), and with probability `trade_ratio` prints a trade at the
bid or the ask. The same seed gives the same sequence of prices, sizes and trades;
only the timestamps come from the caller's clock.

A symbol starts from its entry in `start_prices` (the data service passes each symbol's
last stored close, so live prices go on from the history), else from `[feed.prices]`,
else from DEFAULT_START_PRICE.

With `book_levels` > 0 each step also changes an L2 book per symbol: `book_levels`
levels a tick apart on each side, the touch being the step's quote (price and size).
A deeper level keeps its size while it stays in the book and is refreshed now and
then; the step's BookDelta lists the levels that went (size 0) and then the levels
that changed. The book draws from its own random stream, so the quotes and trades
are the same with the book on or off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from bifrost.feed.config import FeedConfig
from bifrost.model.market import BookDelta, BookSide, BookSnapshot, Quote, Side, Trade

TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600
DEFAULT_START_PRICE = 100.0
TICK = 0.01
BOOK_REFRESH = 0.1
"""Chance that a deeper book level gets a new size in a step."""


class SyntheticFeed:
    """Generates quotes and trades step by step, paced by the caller's clock."""

    def __init__(
        self, config: FeedConfig, start_ns: int, start_prices: Mapping[str, float] | None = None
    ) -> None:
        self.symbols = list(config.symbols)
        self.step_ns = int(1e9 / config.quotes_per_second)
        self._next_ns = start_ns
        self._rng = np.random.default_rng(config.seed)
        prices = {**config.prices, **(start_prices or {})}
        self._mids = np.array([prices.get(s, DEFAULT_START_PRICE) for s in self.symbols])
        dt = 1.0 / config.quotes_per_second / TRADING_SECONDS_PER_YEAR
        self._drift = -0.5 * config.annual_volatility**2 * dt
        self._shock = config.annual_volatility * math.sqrt(dt)
        self._half_spread_bps = config.spread_bps / 2e4
        self._trade_ratio = config.trade_ratio
        self._lots = np.array([0.1 if "-" in s else 100.0 for s in self.symbols])
        self._trade_counts = [0] * len(self.symbols)
        self.book_levels = config.book_levels
        self._book_rng = np.random.default_rng([config.seed, 2])
        self._books: list[dict[BookSide, dict[float, float]]] = [
            {BookSide.BID: {}, BookSide.ASK: {}} for _ in self.symbols
        ]
        self.quotes = 0
        self.trades = 0

    def due(self, now_ns: int) -> bool:
        """True when at least one step is due at `now_ns`."""
        return now_ns >= self._next_ns

    def seconds_to_next(self, now_ns: int) -> float:
        """How long until the next step is due (0 when one is due now)."""
        return max(0.0, (self._next_ns - now_ns) / 1e9)

    def advance(self, now_ns: int, max_steps: int = 1000) -> list[Quote | Trade | BookDelta]:
        """All steps due by `now_ns` (at most `max_steps`; a stalled caller skips ahead)."""
        events: list[Quote | Trade | BookDelta] = []
        steps = 0
        while self._next_ns <= now_ns and steps < max_steps:
            events.extend(self.step(self._next_ns))
            self._next_ns += self.step_ns
            steps += 1
        if self._next_ns <= now_ns:
            self._next_ns = now_ns + self.step_ns
        return events

    def step(self, ts: int) -> list[Quote | Trade | BookDelta]:
        """One step of every symbol at time `ts`."""
        n = len(self.symbols)
        rng = self._rng
        self._mids *= np.exp(self._drift + self._shock * rng.standard_normal(n))
        half = np.maximum(TICK, np.round(self._mids * self._half_spread_bps / TICK) * TICK)
        half += TICK * (rng.random(n) < 0.2)
        bid_sizes = rng.integers(1, 20, n) * self._lots
        ask_sizes = rng.integers(1, 20, n) * self._lots
        prints = rng.random(n) < self._trade_ratio
        buys = rng.random(n) < 0.5
        out: list[Quote | Trade | BookDelta] = []
        for i, symbol in enumerate(self.symbols):
            mid = round(self._mids[i] / TICK) * TICK
            bid = round(mid - half[i], 2)
            ask = round(mid + half[i], 2)
            out.append(Quote(symbol, bid, ask, float(bid_sizes[i]), float(ask_sizes[i]), ts))
            self.quotes += 1
            if self.book_levels:
                touch = {BookSide.BID: (bid, bid_sizes[i]), BookSide.ASK: (ask, ask_sizes[i])}
                out.append(BookDelta(symbol, self._move_book(i, touch), ts))
            if prints[i]:
                self._trade_counts[i] += 1
                side = Side.BUY if buys[i] else Side.SELL
                size = float(min(bid_sizes[i], ask_sizes[i]))
                price = ask if buys[i] else bid
                trade_id = f"{symbol}-{self._trade_counts[i]}"
                out.append(Trade(symbol, price, size, side, trade_id, ts))
                self.trades += 1
        return out

    def _move_book(
        self, i: int, touch: dict[BookSide, tuple[float, float]]
    ) -> tuple[tuple[BookSide, float, float], ...]:
        """Move symbol i's book to the new touch; the changes, removals first."""
        levels = self.book_levels
        refresh = self._book_rng.random((2, levels)) < BOOK_REFRESH
        sizes = self._book_rng.integers(1, 50, (2, levels)) * self._lots[i]
        removed: list[tuple[BookSide, float, float]] = []
        changed: list[tuple[BookSide, float, float]] = []
        for row, (side, step) in enumerate(((BookSide.BID, -TICK), (BookSide.ASK, TICK))):
            old = self._books[i][side]
            top, top_size = touch[side]
            new: dict[float, float] = {}
            for k in range(levels):
                price = round(float(top) + k * step, 2)
                if price <= 0:
                    break
                kept = old.get(price)
                size = top_size if k == 0 else sizes[row, k]
                if k and kept is not None and not refresh[row, k]:
                    size = kept
                new[price] = float(size)
            removed += [(side, p, 0.0) for p in old if p not in new]
            changed += [(side, p, s) for p, s in new.items() if old.get(p) != s]
            self._books[i][side] = new
        return tuple(removed + changed)

    def book(self, symbol: str, ts: int = 0) -> BookSnapshot:
        """The whole current book of one symbol (best levels first)."""
        book = self._books[self.symbols.index(symbol)]
        return BookSnapshot(
            symbol,
            tuple(book[BookSide.BID].items()),
            tuple(book[BookSide.ASK].items()),
            ts,
        )
