"""Reports of analytics.duckdb: stored as JSON, listed newest first, loaded by id."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.errors import NotFound
from bifrost.store.database import open_store
from bifrost.store.reports import list_reports, load_report, save_report
from bifrost.store.schema import ANALYTICS


def test_reports_round_trip_newest_first(tmp_path: Path) -> None:
    with open_store(tmp_path / "analytics.duckdb", migrations=ANALYTICS) as db:
        for n, subject in enumerate(("live", "run1")):
            report = {"kind": "run" if n else "live", "subject": subject, "created_ns": n}
            save_report(db, f"r{n}", {**report, "summary": {"sharpe": None}})
        assert [r["report_id"] for r in list_reports(db)] == ["r1", "r0"]
        assert load_report(db, "r0")["summary"] == {"sharpe": None}
        with pytest.raises(NotFound, match="no report 'r9'"):
            load_report(db, "r9")
