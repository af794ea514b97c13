"""Durable items on their way to a DuckDB table: fed now, or on a worker thread.

A DuckDB commit costs milliseconds whatever its size (it syncs DuckDB's own log); a
loop that fed its tables itself would stall every request of those milliseconds. The
owner adds what its write-ahead log made durable, hands a feed to the worker on a
timer (`feed_soon`) and keeps serving; before it reads the table it feeds the rest
itself (`feed_now`), after the feed under way finished. A failed feed puts its items
back in front, to go with the next one (they are durable in the log meanwhile).
DuckDB releases the GIL while it works, so a feed runs beside the loop on the other
core. Only the owner's thread adds, feeds and learns the outcome (`written`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import duckdb

Item = TypeVar("Item")
Write = Callable[[duckdb.DuckDBPyConnection, list[Item]], Any]
"""Writes the items in one transaction; returns what `written` is then told."""


class StoreFeed(Generic[Item]):
    """The items waiting for the table and the one feed under way, if any."""

    def __init__(self, name: str, write: Write[Item], written: Callable[[Any], None]) -> None:
        self._write = write
        self._written = written
        self._waiting: list[Item] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._running: tuple[Future[Any], list[Item]] | None = None

    @property
    def waiting(self) -> int:
        """Items not in the table yet, nor in a feed under way."""
        return len(self._waiting)

    @property
    def feeding(self) -> bool:
        """True while a feed is under way on the worker thread."""
        return self._running is not None and not self._running[0].done()

    def add(self, items: list[Item]) -> None:
        """Items now durable elsewhere, to reach the table with the next feed."""
        self._waiting.extend(items)

    def feed_now(self, connection: duckdb.DuckDBPyConnection) -> int:
        """Finish the feed under way, then write what waits; returns how many items."""
        self._finish()
        items, self._waiting = self._waiting, []
        if items:
            try:
                result = self._write(connection, items)
            except BaseException:
                self._waiting = items + self._waiting
                raise
            self._written(result)
        return len(items)

    def feed_soon(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Hand what waits to the worker (on a cursor of `connection`), unless a feed
        is still under way."""
        if self.feeding:
            return
        self._finish()
        items, self._waiting = self._waiting, []
        if items:
            cursor = connection.cursor()
            self._running = (self._pool.submit(self._write, cursor, items), items)

    def _finish(self) -> None:
        """Wait for the feed under way (if any) and tell the owner; its error is raised
        with its items back in front."""
        if self._running is None:
            return
        future, items = self._running
        self._running = None
        try:
            result = future.result()
        except BaseException:
            self._waiting = items + self._waiting
            raise
        self._written(result)

    def close(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Feed everything and stop the worker."""
        try:
            self.feed_now(connection)
        finally:
            self._pool.shutdown(wait=True)
