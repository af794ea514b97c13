"""A day of compliance activity from the audit trail: counts by kind, records, rule hits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from bifrost.compliance.audit import records_between
from bifrost.compliance.daytrades import DAY_NS
from bifrost.errors import BadRequest

MAX_RECORDS = 2_000
"""Records listed in one report; counts and hits always cover the whole day."""


def parse_day(text: str) -> dt.date:
    """A YYYY-MM-DD date, or BadRequest naming the text."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"'{text}' is not a date (YYYY-MM-DD)") from None


def day_report(db: duckdb.DuckDBPyConnection, day: dt.date) -> dict[str, Any]:
    """The UTC day's records, their counts by kind, and the rule hits among them."""
    start = (day - dt.date(1970, 1, 1)).days * DAY_NS
    records = [r.to_dict() for r in records_between(db, start, start + DAY_NS)]
    counts: dict[str, int] = {}
    for record in records:
        counts[record["kind"]] = counts.get(record["kind"], 0) + 1
    return {
        "date": day.isoformat(),
        "counts": counts,
        "hits": [hit for r in records if (hit := rule_hit(r))],
        "records": records[:MAX_RECORDS],
        "truncated": len(records) > MAX_RECORDS,
    }


def rule_hit(record: dict[str, Any]) -> dict[str, Any] | None:
    """A rejection or watch hit, from a `decision` record (None for anything else)."""
    if record["kind"] != "decision":
        return None
    body = record["body"]
    if body["outcome"] == "allowed" and not body.get("hits"):
        return None
    order = body.get("order") or {}
    return {
        "record_id": record["record_id"],
        "ts_ns": record["ts_ns"],
        "rule": body.get("rule") or ",".join(body.get("hits") or []),
        "outcome": body["outcome"],
        "symbol": order.get("symbol"),
        "side": order.get("side"),
        "quantity": order.get("quantity"),
        "message": body.get("message", ""),
        "cid": record["cid"],
    }
