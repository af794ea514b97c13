"""Following one order across services: its journal in execution and every log line with its cid.

The correlation id given at entry travels with the order through risk, execution,
the broker and portfolio, in their RPC calls, events and JSON logs. A trace starts
from a client order id (its cid is in the journal) or from the cid itself.

Each running service, on whichever host, answers `logs.trace` with the lines it
remembers for the cid; a service that is not running is read from this machine's
log files (`HOME/logs/<service>.log`, written under `bifrost up`).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bifrost.bus import methods
from bifrost.client import BifrostClient
from bifrost.errors import NotFound

HIDDEN = {"ts", "at_ns", "level", "service", "host", "event", "cid"}
HOP_ORDER = {"strategy": 0, "risk": 1, "compliance": 2, "execution": 3, "portfolio": 4}
"""The path of an order: hops stamped in the same microsecond sort in this order."""


def trace_hops(client: BifrostClient, home: Path, ident: str) -> list[dict[str, Any]]:
    """Every hop (journal entries and log lines) of the order or cid `ident`, oldest first."""
    journal: list[dict[str, Any]] = []
    cid = ident
    if client.answers("execution"):
        journal = client.call("execution", methods.ORDER_EVENTS, {"client_order_id": ident})[
            "events"
        ]
        if journal:
            cid = journal[0]["cid"] or ident
        journal = client.call("execution", methods.ORDER_EVENTS, {"cid": cid})["events"] or journal
    hops = [
        {
            "ts_ns": e["ts_ns"],
            "service": "execution",
            "event": f"journal.{e['status'].lower()}",
            "detail": f"{e['client_order_id']} filled {e['filled']:g} @ {e['avg_price']:g}",
        }
        for e in journal
    ]
    answered = set()
    for service in client.config.services:
        if client.answers(service):
            records = client.call(service, methods.LOGS_TRACE, {"cid": cid})["records"]
            hops += [_hop(record, service) for record in records]
            answered.add(service)
    hops += [h for h in log_hops(home / "logs", cid) if h["service"] not in answered]
    if not hops:
        raise NotFound(f"nothing recorded for '{ident}' (an order's client id or a cid)")
    return sorted(hops, key=lambda h: (h["ts_ns"], HOP_ORDER.get(h["service"], len(HOP_ORDER))))


def log_hops(folder: Path, cid: str) -> list[dict[str, Any]]:
    """Log lines of every service log in `folder` that carry `cid`."""
    hops = []
    needle = f'"cid": "{cid}"'
    for path in sorted(folder.glob("*.log")) if folder.is_dir() else []:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if needle not in line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                hops.append(_hop(record, path.stem))
    return hops


def _hop(record: dict[str, Any], service: str) -> dict[str, Any]:
    detail = " ".join(f"{k}={v}" for k, v in record.items() if k not in HIDDEN)
    return {
        # `at_ns`: when the event happened, for a line written after it (bifrost.logs)
        "ts_ns": record["at_ns"] if "at_ns" in record else _ns(record["ts"]),
        "service": record.get("service", service),
        "host": record.get("host", ""),
        "event": record.get("event", ""),
        "detail": detail,
    }


def _ns(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000
