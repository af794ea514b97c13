"""L2 books kept in step with the `book.<SYM>` stream, healed through the Clone pattern.

The stream carries `book_delta` events. The topic's snapshot value (what the
publisher's `snapshot` RPC returns) is the whole book at the same seq, of type `book`;
the bus's Subscriber delivers it (as a recovered event) when it sees a gap. A
follower that starts mid-stream, or sees a seq it cannot continue from, asks for that
snapshot itself through `fetch_snapshot`, restores the book, and applies only deltas
newer than the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bifrost.bus import topics
from bifrost.errors import BadRequest
from bifrost.micro.book import DEFAULT_CAPACITY, OrderBook
from bifrost.model.market import BookDelta, BookSnapshot

BOOK_TYPE = "book"
"""Event type of a whole book (the `book.<SYM>` snapshot value)."""
DELTA_TYPE = "book_delta"
"""Event type of the changes of one instant."""

SnapshotEntry = dict[str, Any]
"""One topic of a `snapshot` reply: {seq, ts, type, body}."""
FetchSnapshot = Callable[[str], SnapshotEntry | None]
"""Topic -> the publisher's current snapshot entry of it (None when it has none)."""


def book_symbol(topic: str) -> str:
    """The symbol of a `book.<SYM>` topic."""
    kind, _, symbol = topic.partition(".")
    if kind != topics.BOOK or not symbol:
        raise BadRequest(f"'{topic}' is not a book topic")
    return symbol


class BookFollower:
    """Per symbol, an OrderBook and the seq of the last event folded into it."""

    def __init__(
        self,
        fetch_snapshot: FetchSnapshot,
        tick_for: Callable[[str], float] = lambda symbol: 0.01,
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self.fetch_snapshot = fetch_snapshot
        self.tick_for = tick_for
        self.capacity = capacity
        self.books: dict[str, OrderBook] = {}
        self.seqs: dict[str, int] = {}
        self.resyncs = 0
        self.stale = 0

    def on_event(self, topic: str, type_: str, seq: int, body: Any) -> str | None:
        """Fold one `book.` event in; returns the symbol whose book changed (or None).

        BadRequest for a malformed event; the book is left as it was.
        """
        symbol = book_symbol(topic)
        if type_ == BOOK_TYPE:
            snapshot = BookSnapshot.from_body(body)
            if seq <= self.seqs.get(symbol, 0):
                self.stale += 1
                return None
            self._book(symbol).restore(snapshot)
            self.seqs[symbol] = seq
            return symbol
        if type_ != DELTA_TYPE:
            raise BadRequest(f"{topic}: unknown book event type '{type_}'")
        delta = BookDelta.from_body(body)
        last = self.seqs.get(symbol)
        if last is not None and seq <= last and seq != 1:  # seq 1: the publisher restarted
            self.stale += 1  # already in the book (it came with a snapshot)
            return None
        if last is None or seq != last + 1:
            if not self.resync(topic):
                return None
            if seq <= self.seqs[symbol]:
                return symbol  # the snapshot already holds this delta
        self._book(symbol).apply_delta(delta)
        self.seqs[symbol] = seq
        return symbol

    def resync(self, topic: str) -> bool:
        """Rebuild one book from the publisher's snapshot; False when it has none."""
        entry = self.fetch_snapshot(topic)
        if entry is None or entry.get("type") != BOOK_TYPE:
            return False
        symbol = book_symbol(topic)
        self._book(symbol).restore(BookSnapshot.from_body(entry.get("body")))
        self.seqs[symbol] = int(entry["seq"])
        self.resyncs += 1
        return True

    def _book(self, symbol: str) -> OrderBook:
        book = self.books.get(symbol)
        if book is None:
            book = self.books[symbol] = OrderBook(symbol, self.tick_for(symbol), self.capacity)
        return book


def snapshot_entry(reply: dict[str, Any], topic: str) -> SnapshotEntry | None:
    """The entry of exactly `topic` in a `snapshot` reply (a prefix also matches longer ones)."""
    entries = reply.get("topics") if isinstance(reply, dict) else None
    if not isinstance(entries, dict):
        raise BadRequest("snapshot reply has no 'topics' map")
    entry = entries.get(topic)
    return entry if isinstance(entry, dict) else None
