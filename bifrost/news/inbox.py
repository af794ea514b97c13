"""The news inbox: JSON-lines and CSV files dropped into a folder are imported by a job.

As with the market data inbox (both are a bifrost.inbox.FolderInbox), each file is
imported on its own (one transaction) and moved to `done/` or, when it could not be
read at all, to `failed/`, with its report beside it as `<name>.report.json`. A file
modified in the last second is left for the next sweep, so a file still being copied in
is not read half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bifrost.inbox import FolderInbox
from bifrost.news.files import SUFFIXES


class NewsInbox(FolderInbox):
    """Imports and files away the news files that land in one folder."""

    def __init__(self, folder: Path, importer: Callable[[Path], dict[str, Any]]) -> None:
        super().__init__(folder, SUFFIXES, importer)
