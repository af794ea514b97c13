"""The news inbox: JSON-lines and CSV files dropped into a folder are imported by a job.

As with the market data inbox, each file is imported on its own (one transaction) and
moved to `done/` or, when it could not be read at all, to `failed/`, with its report
beside it as `<name>.report.json`. A file modified in the last second is left for the
next sweep, so a file still being copied in is not read half-written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bifrost.errors import BifrostError
from bifrost.news.files import SUFFIXES

SETTLE_S = 1.0


class NewsInbox:
    """Imports and files away the news files that land in one folder."""

    def __init__(self, folder: Path, importer: Callable[[Path], dict[str, Any]]) -> None:
        self.folder = folder
        self.importer = importer

    def ready_files(self) -> list[Path]:
        """News files that have not changed for SETTLE_S seconds, by name."""
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

    def sweep(self) -> dict[str, list[str]]:
        """Import every ready file; returns the names done and failed."""
        outcome: dict[str, list[str]] = {"done": [], "failed": []}
        for path in self.ready_files():
            try:
                report = self.importer(path)
                target = self.folder / "done"
            except BifrostError as exc:
                report = {"error": exc.to_wire()}
                target = self.folder / "failed"
            target.mkdir(parents=True, exist_ok=True)
            moved = target / path.name
            path.replace(moved)
            moved.with_name(moved.name + ".report.json").write_text(json.dumps(report, indent=2))
            outcome[target.name].append(path.name)
        return outcome
