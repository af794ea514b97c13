"""Structured logs: one JSON object per line on stderr (journald keeps them as they are).

Every line carries `ts`, `level`, `service`, `host`, `event` and, when there is one,
the `cid` that ties the steps of one request together across services. The last
lines that carry a cid are also kept in memory, so a daemon can answer `logs.trace`
for a cid wherever its log ends up (a file, journald, another host). A line written
after the event it reports (once a decision is durable and answered, say) carries
`at_ns`, the event's own time, which `bifrost trace` orders it by.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
RECENT_WITH_CID = 20_000
"""How many recent lines with a cid a logger remembers for tracing."""


class JsonLogger:
    """Writes events as JSON lines; cheap when a level is filtered out."""

    def __init__(
        self, service: str, host: str, level: str = "info", stream: TextIO | None = None
    ) -> None:
        self.service = service
        self.host = host
        self.threshold = LEVELS[level]
        self.stream = stream or sys.stderr
        self.recent: deque[tuple[str, dict[str, Any]]] = deque(maxlen=RECENT_WITH_CID)
        """(cid, record) of the last lines that carry a cid; formatted only when traced."""

    def log(self, level: str, event: str, cid: str = "", **fields: Any) -> None:
        """Write one line if `level` passes the threshold; remember it if it carries a cid.

        A line with a cid is remembered whatever the threshold, so `bifrost trace` shows
        every hop (risk passed, compliance allowed) on a desk that logs warnings only.
        """
        written = LEVELS[level] >= self.threshold
        if not (written or cid):
            return
        record = {
            "ts": time.time_ns(),
            "level": level,
            "service": self.service,
            "host": self.host,
            "event": event,
        }
        if cid:
            record["cid"] = cid
        record.update(fields)
        if cid:  # kept as data: a line is formatted only when it is written or traced
            self.recent.append((cid, record))
        if written:
            self.stream.write(_line(record) + "\n")
            self.stream.flush()

    def with_cid(self, cid: str) -> list[dict[str, Any]]:
        """The remembered lines that carry `cid`, oldest first."""
        return [json.loads(_line(record)) for owner, record in list(self.recent) if owner == cid]

    def debug(self, event: str, cid: str = "", **fields: Any) -> None:
        """Log at debug level."""
        self.log("debug", event, cid, **fields)

    def info(self, event: str, cid: str = "", **fields: Any) -> None:
        """Log at info level."""
        self.log("info", event, cid, **fields)

    def warning(self, event: str, cid: str = "", **fields: Any) -> None:
        """Log at warning level."""
        self.log("warning", event, cid, **fields)

    def error(self, event: str, cid: str = "", **fields: Any) -> None:
        """Log at error level."""
        self.log("error", event, cid, **fields)


def _line(record: dict[str, Any]) -> str:
    """One JSON log line: the record with its ns timestamp as ISO-8601 UTC text."""
    stamp = datetime.fromtimestamp(record["ts"] / 1e9, UTC).isoformat(timespec="microseconds")
    return json.dumps({**record, "ts": stamp}, default=str)
