"""A loopback config whose synthetic feed also publishes an L2 book (microstructure tests)."""

from __future__ import annotations

from pathlib import Path

from bifrost.local_config import TEST_FEED, write_local_config

BOOK_LEVELS = 5
BOOK_FEED = TEST_FEED.replace("[feed.prices]", f"book_levels = {BOOK_LEVELS}\n\n[feed.prices]")


def write_book_config(
    directory: Path, services: tuple[str, ...] = ("data", "microstructure")
) -> Path:
    """`services` on free loopback ports; the feed publishes a 5-level book."""
    return write_local_config(directory, services, feed=BOOK_FEED)
