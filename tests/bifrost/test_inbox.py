"""The folder inbox: settled files are imported one by one and filed in done/ or failed/."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from bifrost.errors import BadRequest
from bifrost.inbox import SETTLE_S, FolderInbox


def settled(path: Path, text: str) -> Path:
    path.write_text(text)
    old = time.time() - SETTLE_S - 5
    os.utime(path, (old, old))
    return path


def importer(path: Path) -> dict[str, Any]:
    if "bad" in path.read_text():
        raise BadRequest(f"cannot read {path.name}")
    return {"rows": len(path.read_text().splitlines())}


def test_sweep_files_good_and_bad_files_with_their_reports(tmp_path: Path) -> None:
    settled(tmp_path / "a.csv", "1\n2\n")
    settled(tmp_path / "b.CSV", "bad\n")
    settled(tmp_path / ".hidden.csv", "1\n")
    settled(tmp_path / "notes.txt", "1\n")
    (tmp_path / "fresh.csv").write_text("1\n")  # still being copied in
    inbox = FolderInbox(tmp_path, (".csv",), importer)
    assert inbox.sweep() == {"done": ["a.csv"], "failed": ["b.CSV"]}
    assert json.loads((tmp_path / "done" / "a.csv.report.json").read_text()) == {"rows": 2}
    failed = json.loads((tmp_path / "failed" / "b.CSV.report.json").read_text())
    assert failed["error"]["message"] == "cannot read b.CSV"
    left = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert left == [".hidden.csv", "fresh.csv", "notes.txt"]


def test_a_missing_folder_has_nothing_ready(tmp_path: Path) -> None:
    inbox = FolderInbox(tmp_path / "absent", (".csv",), importer)
    assert inbox.ready_files() == []
    assert inbox.sweep() == {"done": [], "failed": []}
