"""One store write at a time on a worker thread, so a daemon's loop goes on serving.

A DuckDB commit costs milliseconds whatever its size (it syncs DuckDB's own log); a
loop that fed its tables itself would stall every request of those milliseconds. The
owner hands the write over (`start`), keeps serving, and collects the outcome on its
own thread (`finish`) before it reads the tables or writes again. DuckDB releases the
GIL while it works, so the write runs beside the loop on the other core.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class BackgroundWriter:
    """A single worker thread and the write it is doing, if any."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._running: tuple[Future[Any], Callable[[Any], None], Callable[[], None]] | None = None

    @property
    def idle(self) -> bool:
        """True when no write is under way, or the one under way has ended."""
        return self._running is None or self._running[0].done()

    def start(
        self,
        write: Callable[[], Any],
        then: Callable[[Any], None],
        failed: Callable[[], None] = lambda: None,
    ) -> None:
        """Run `write` on the worker; `then(result)`, or `failed()` if it raised, runs in
        the owner's `finish`, on the owner's thread."""
        self.finish()
        self._running = (self._pool.submit(write), then, failed)

    def finish(self) -> None:
        """Wait for the write under way (if any) and run its `then`; its error is raised
        after `failed` ran."""
        if self._running is None:
            return
        future, then, failed = self._running
        self._running = None
        try:
            result = future.result()
        except BaseException:
            failed()
            raise
        then(result)

    def close(self) -> None:
        """Finish the write under way and stop the worker."""
        try:
            self.finish()
        finally:
            self._pool.shutdown(wait=True)
