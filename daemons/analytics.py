"""The analytics service: builds tearsheets of runs and of the live account, keeps them."""

from __future__ import annotations

import uuid
from typing import Any

from bifrost.analytics.sources import ReportSources
from bifrost.analytics.tearsheet import build_report
from bifrost.bus import methods, topics
from bifrost.bus.rpc import CallContext, Method
from bifrost.bus.schema import Optional, Schema
from bifrost.daemon import Daemon
from bifrost.store.reports import list_reports, load_report, save_report
from bifrost.store.schema import ANALYTICS

REPORT = Schema("analytics.report params", {"subject": str, "benchmark": Optional(str)})
LIST = Schema("analytics.list params", {"limit": Optional(int)})
SHOW = Schema("analytics.show params", {"report_id": str})


class AnalyticsDaemon(Daemon):
    """Reads other services (their RPC, else their files), stores reports, publishes them."""

    store_file = "analytics.duckdb"
    store_schema = ANALYTICS

    def setup(self) -> None:
        self.reports_built = 0
        for method in (
            Method(methods.ANALYTICS_REPORT, self.report, REPORT, idempotent=False),
            Method(methods.ANALYTICS_LIST, self.list_reports, LIST),
            Method(methods.ANALYTICS_SHOW, self.show_report, SHOW),
        ):
            self.add_method(method)

    def report(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`analytics.report`: build, store and publish the report of a run id or "live"."""
        sources = ReportSources(self.config, self.bus, self.home, self.clock)
        report = build_report(
            sources.gather(params["subject"], params.get("benchmark")), self.clock.now_ns()
        )
        report_id = uuid.uuid4().hex[:12]
        report["report_id"] = report_id
        save_report(self.db, report_id, report)
        self.reports_built += 1
        assert self.publisher is not None
        body = {
            "report_id": report_id,
            "kind": report["kind"],
            "subject": report["subject"],
            "summary": report["summary"],
        }
        self.publisher.publish(topics.report(report["subject"]), "report", body, ctx.cid)
        self.log.info("analytics.report", ctx.cid, report=report_id, subject=report["subject"])
        return report

    def list_reports(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`analytics.list`: stored reports, newest first."""
        return {"reports": list_reports(self.db, params.get("limit") or 50)}

    def show_report(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`analytics.show`: one stored report."""
        return load_report(self.db, params["report_id"])

    def details(self) -> dict[str, Any]:
        """Reports built since start, shown by `health`."""
        return {"reports_built": self.reports_built}
