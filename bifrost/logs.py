"""Structured logs: one JSON object per line on stderr (journald keeps them as they are).

Every line carries `ts`, `level`, `service`, `host`, `event` and, when there is one,
the `cid` that ties the steps of one request together across services.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class JsonLogger:
    """Writes events as JSON lines; cheap when a level is filtered out."""

    def __init__(
        self, service: str, host: str, level: str = "info", stream: TextIO | None = None
    ) -> None:
        self.service = service
        self.host = host
        self.threshold = LEVELS[level]
        self.stream = stream or sys.stderr

    def log(self, level: str, event: str, cid: str = "", **fields: Any) -> None:
        """Write one line if `level` passes the threshold."""
        if LEVELS[level] < self.threshold:
            return
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
            "level": level,
            "service": self.service,
            "host": self.host,
            "event": event,
        }
        if cid:
            record["cid"] = cid
        record.update(fields)
        self.stream.write(json.dumps(record, default=str) + "\n")
        self.stream.flush()

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
