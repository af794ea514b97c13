"""A folder inbox: files dropped into a folder are imported one by one and filed away.

Each settled file with a known suffix is imported on its own and then moved to `done/`
or, when its import raised a BifrostError, to `failed/`, with its report (or the error)
beside it as `<name>.report.json`. A file modified in the last SETTLE_S seconds is left
for the next sweep, so a file still being copied in is not read half-written; hidden
files (a leading dot) are never read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from bifrost.errors import BifrostError

SETTLE_S = 1.0


class FolderInbox:
    """Imports and files away the files with the given suffixes that land in one folder."""

    def __init__(
        self,
        folder: Path,
        suffixes: Collection[str],
        import_file: Callable[[Path], dict[str, Any]],
    ) -> None:
        self.folder = folder
        self.suffixes = suffixes
        self.import_file = import_file

    def ready_files(self) -> list[Path]:
        """Importable files that have not changed for SETTLE_S seconds, by name."""
        if not self.folder.is_dir():
            return []
        cutoff = time.time() - SETTLE_S
        return sorted(
            p
            for p in self.folder.iterdir()
            if p.is_file()
            and p.suffix.lower() in self.suffixes
            and not p.name.startswith(".")
            and p.stat().st_mtime <= cutoff
        )

    def sweep(self) -> dict[str, list[str]]:
        """Import every ready file; returns the names done and failed."""
        outcome: dict[str, list[str]] = {"done": [], "failed": []}
        for path in self.ready_files():
            try:
                report = self.import_file(path)
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
