"""The inbox: files dropped into `<home>/inbox/` are imported by a scheduled job.

It is a bifrost.inbox.FolderInbox: each file is imported on its own (one transaction)
and then moved to `done/` or, when the import failed as a whole, to `failed/`, with its
report beside it as `<name>.report.json`. A file named `SYMBOL.csv` holds daily bars of
SYMBOL; `SYMBOL.TIMEFRAME.csv` (e.g. `AAPL.1m.csv`) names the timeframe too. A file
modified in the last second is left for the next sweep, so a file still being copied in
is not read half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bifrost.errors import BifrostError
from bifrost.inbox import FolderInbox
from bifrost.market.timeframes import timeframe_ns

SUFFIXES = (".csv", ".parquet", ".pq")


class Inbox(FolderInbox):
    """Imports and files away the market data files that land in one folder."""

    def __init__(self, folder: Path, importer: Callable[..., dict[str, Any]]) -> None:
        super().__init__(folder, SUFFIXES, lambda path: importer([path], **options_for(path)))


def options_for(path: Path) -> dict[str, Any]:
    """Symbol and timeframe from a file name like `AAPL.csv` or `AAPL.1m.csv`."""
    symbol, _, timeframe = path.name[: -len(path.suffix)].partition(".")
    try:
        timeframe_ns(timeframe or "1d")
    except BifrostError:
        return {"symbol": path.stem.upper(), "timeframe": "1d"}
    return {"symbol": symbol.upper(), "timeframe": timeframe or "1d"}
