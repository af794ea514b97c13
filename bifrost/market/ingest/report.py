"""What an import did, per file and series and in total, as frozen plain data.

The same document is returned to the caller, printed by `bifrost data import --json`
and stored as JSON in the `imports` table, so an import can be audited later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bifrost.market.ingest.validate import REASONS

MISSING_SHOWN = 10
"""How many missing session dates a report lists (the count is always exact)."""
WARNINGS_SHOWN = 200
"""How many warnings a series report lists (`warned` is always exact)."""


@dataclass(frozen=True, slots=True)
class RowWarning:
    """A kept row that looks surprising: its line, bar time, rule and the size of the move."""

    line: int
    ts: int
    rule: str
    move: float
    """Relative change of the close from the last good close (0.2 is +20 %)."""

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-ready map."""
        return {"line": self.line, "ts": self.ts, "rule": self.rule, "move": self.move}


@dataclass(frozen=True, slots=True)
class SeriesReport:
    """One series (symbol) of one file: rows read, loaded, rejected and missing."""

    file: str
    symbol: str
    timeframe: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected_by_reason: dict[str, int]
    missing_sessions: int
    missing_first: tuple[str, ...]
    first_ts: int | None
    last_ts: int | None
    newest_first: bool = False
    """The file runs backwards in time; `out_of_order` was checked in that direction."""
    warned: int = 0
    """Rows kept that a warning rule flagged (see `warnings`, which lists the first ones)."""
    warnings: tuple[RowWarning, ...] = ()

    @property
    def rows_loaded(self) -> int:
        """Rows that changed the store: new plus updated."""
        return self.inserted + self.updated

    @property
    def rejected(self) -> int:
        """Rows sent to quarantine, for any reason."""
        return sum(self.rejected_by_reason.values())

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-ready map."""
        return {
            "file": self.file,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "missing_sessions": {"count": self.missing_sessions, "first": list(self.missing_first)},
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "newest_first": self.newest_first,
            "warned": self.warned,
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass(frozen=True, slots=True)
class ImportReport:
    """One import: its id, when it started, its options and a report per (file, symbol) series."""

    import_id: str
    started_ns: int
    timeframe: str
    files: tuple[SeriesReport, ...]
    strict: bool = False
    """Warning rules quarantined their rows instead of only reporting them."""
    tz: str = "UTC"
    """The zone naive times were read in (a release re-reads quarantined rows in it)."""

    def totals(self) -> dict[str, Any]:
        """Sums over every series of the import (missing sessions as `{"count": n}`)."""
        keys = (
            "rows_read",
            "rows_loaded",
            "inserted",
            "updated",
            "unchanged",
            "rejected",
            "warned",
        )
        totals: dict[str, Any] = {key: sum(getattr(f, key) for f in self.files) for key in keys}
        totals["rejected_by_reason"] = {
            reason: sum(f.rejected_by_reason.get(reason, 0) for f in self.files)
            for reason in REASONS
        }
        totals["missing_sessions"] = {"count": sum(f.missing_sessions for f in self.files)}
        return totals

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-ready map: id, time, one entry per series, then the totals."""
        return {
            "import_id": self.import_id,
            "started_ns": self.started_ns,
            "timeframe": self.timeframe,
            "strict": self.strict,
            "tz": self.tz,
            "files": [f.to_dict() for f in self.files],
            **self.totals(),
        }
