"""The inbox: files dropped into `<home>/inbox/` are imported by a scheduled job.

Each file is imported on its own (one transaction) and then moved to `done/` or,
when the import failed as a whole, to `failed/`, with its report beside it as
`<name>.report.json`. A file named `SYMBOL.csv` holds daily bars of SYMBOL;
`SYMBOL.TIMEFRAME.csv` (e.g. `AAPL.1m.csv`) names the timeframe too. A file
modified in the last second is left for the next sweep, so a file still being
copied in is not read half-written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bifrost.errors import BifrostError
from bifrost.market.timeframes import timeframe_ns

SUFFIXES = (".csv", ".parquet", ".pq")
SETTLE_S = 1.0


class Inbox:
    """Imports and files away what lands in one folder."""

    def __init__(self, folder: Path, importer: Callable[..., dict[str, Any]]) -> None:
        self.folder = folder
        self.importer = importer
        self.done = folder / "done"
        self.failed = folder / "failed"

    def ready_files(self) -> list[Path]:
        """Importable files that have not changed for SETTLE_S seconds, by name."""
        if not self.folder.is_dir():
            return []
        cutoff = time.time() - SETTLE_S
        return sorted(
            p
            for p in self.folder.iterdir()
            if p.is_file()
            and p.suffix.lower() in SUFFIXES
            and not p.name.startswith(".")
            and p.stat().st_mtime <= cutoff
        )

    def sweep(self) -> dict[str, Any]:
        """Import every ready file; returns what happened to each."""
        outcome: dict[str, Any] = {"done": [], "failed": []}
        for path in self.ready_files():
            try:
                report = self.importer([path], **options_for(path))
                target = self.done
            except BifrostError as exc:
                report = {"error": exc.to_wire()}
                target = self.failed
            target.mkdir(parents=True, exist_ok=True)
            moved = target / path.name
            path.replace(moved)
            moved.with_name(moved.name + ".report.json").write_text(json.dumps(report, indent=2))
            outcome[target.name].append(path.name)
        return outcome


def options_for(path: Path) -> dict[str, Any]:
    """Symbol and timeframe from a file name like `AAPL.csv` or `AAPL.1m.csv`."""
    symbol, _, timeframe = path.name[: -len(path.suffix)].partition(".")
    try:
        timeframe_ns(timeframe or "1d")
    except BifrostError:
        return {"symbol": path.stem.upper(), "timeframe": "1d"}
    return {"symbol": symbol.upper(), "timeframe": timeframe or "1d"}
