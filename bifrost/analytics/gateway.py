"""Reports for the CLI and TUI: through the analytics daemon when it runs, else in-process.

The analytics daemon owns analytics.duckdb. When it answers, reports are built and
stored by it (and published); when it does not, the gateway gathers the same inputs
here (other services through their daemons or files), builds the report and stores it
in the file itself, so both routes leave the same records.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from bifrost.bus import methods
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig

SERVICE = "analytics"
REPORT_TIMEOUT_MS = 120_000


def analytics_store(home: Path) -> Path:
    """Where the analytics service keeps its DuckDB file."""
    return home / "analytics.duckdb"


class AnalyticsGateway:
    """Build and list reports, whichever route is open."""

    def __init__(self, config: BifrostConfig, client: BifrostClient, home: Path) -> None:
        self.config = config
        self.client = client
        self.home = home
        self.via = "daemon" if client.answers(SERVICE) else "file"

    def report(self, subject: str, benchmark: str | None = None) -> dict[str, Any]:
        """Build and store the report of a run id (or unique prefix) or "live"."""
        if self.via == "daemon":
            params = {"subject": subject, "benchmark": benchmark}
            return dict(
                self.client.call(
                    SERVICE, methods.ANALYTICS_REPORT, params, timeout_ms=REPORT_TIMEOUT_MS
                )
            )
        from bifrost.analytics.sources import ReportSources
        from bifrost.analytics.tearsheet import build_report
        from bifrost.store.database import open_store
        from bifrost.store.reports import save_report
        from bifrost.store.schema import ANALYTICS

        sources = ReportSources(self.config, self.client, self.home)
        report = build_report(sources.gather(subject, benchmark), time.time_ns())
        report["report_id"] = uuid.uuid4().hex[:12]
        with open_store(analytics_store(self.home), migrations=ANALYTICS) as connection:
            save_report(connection, report["report_id"], report)
        return report

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """Stored reports, newest first (without their bodies)."""
        if self.via == "daemon":
            return list(
                self.client.call(
                    SERVICE, methods.ANALYTICS_LIST, {"limit": limit}, idempotent=True
                )["reports"]
            )
        if not analytics_store(self.home).exists():
            return []
        from bifrost.store.database import open_store
        from bifrost.store.reports import list_reports
        from bifrost.store.schema import ANALYTICS

        with open_store(analytics_store(self.home), read_only=True, migrations=ANALYTICS) as db:
            return list_reports(db, limit)

    def show(self, report_id: str) -> dict[str, Any]:
        """One stored report; NotFound when there is none."""
        if self.via == "daemon":
            return dict(
                self.client.call(
                    SERVICE, methods.ANALYTICS_SHOW, {"report_id": report_id}, idempotent=True
                )
            )
        from bifrost.errors import NotFound
        from bifrost.store.database import open_store
        from bifrost.store.reports import load_report
        from bifrost.store.schema import ANALYTICS

        if not analytics_store(self.home).exists():
            raise NotFound(f"no report '{report_id}': no report has been stored yet")
        with open_store(analytics_store(self.home), read_only=True, migrations=ANALYTICS) as db:
            return load_report(db, report_id)
