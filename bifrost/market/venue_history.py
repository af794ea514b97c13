"""History from a venue: paged bar downloads that resume where the store ends.

`fetch_history` asks the venue for pages of bars from the first missing instant on:
before the stored series (when `since` is earlier than its first bar) and after it (from
the bar after its last one). Each page is written to a Parquet file and handed to
`store_page`, which imports it through the same validation and quarantine as `bifrost
data import` (so a fetched bar that is provably invalid is quarantined with its
reason, and a surprising one is kept and reported). A second run over the same range
asks only for what is missing; an interrupted run keeps every page it stored.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from bifrost.market.timeframes import timeframe_ns
from bifrost.model.market import Bar
from bifrost.venues.contract import Venue

PAGE_BARS = 1000
"""Bars asked for per request (venues cap a page at 500 to 1,000)."""

StorePage = Callable[[Path, str, str], dict[str, Any]]
"""(parquet file, symbol, timeframe) -> the import report of that page."""
Progress = Callable[[str, int, int], None]
"""(symbol, nanoseconds covered so far, nanoseconds to cover)."""


@dataclass(slots=True)
class FetchReport:
    """What one symbol's fetch asked for and stored."""

    symbol: str
    timeframe: str
    ranges: list[tuple[int, int]] = field(default_factory=list)
    """The missing [start, end) ranges that were asked for."""
    pages: int = 0
    bars_received: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    warnings: int = 0
    import_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "ranges": [list(r) for r in self.ranges],
            "pages": self.pages,
            "bars_received": self.bars_received,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "warnings": self.warnings,
            "import_ids": self.import_ids,
        }


def missing_ranges(
    since_ns: int, until_ns: int, stored: tuple[int, int] | None, step_ns: int
) -> list[tuple[int, int]]:
    """The parts of [since, until) the stored series (first, last bar) does not cover."""
    if stored is None:
        return [(since_ns, until_ns)] if since_ns < until_ns else []
    first, last = stored
    ranges = []
    if since_ns < first:
        ranges.append((since_ns, min(first, until_ns)))
    if last + step_ns < until_ns:
        ranges.append((max(since_ns, last + step_ns), until_ns))
    return [(start, end) for start, end in ranges if start < end]


def fetch_history(
    venue: Venue,
    symbol: str,
    timeframe: str,
    since_ns: int,
    until_ns: int,
    stored: tuple[int, int] | None,
    store_page: StorePage,
    work_dir: Path,
    progress: Progress | None = None,
) -> FetchReport:
    """Download and store the bars of `symbol` that the store lacks in [since, until);
    pages wait in a folder under `work_dir` (the data home, which the data service can
    read) until they are imported."""
    step = timeframe_ns(timeframe)
    report = FetchReport(symbol, timeframe, missing_ranges(since_ns, until_ns, stored, step))
    total = sum(end - start for start, end in report.ranges)
    covered = 0
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=work_dir) as folder:
        for start, end in report.ranges:
            cursor = start
            while cursor < end:
                bars = [
                    b
                    for b in venue.bars(symbol, timeframe, cursor, end, PAGE_BARS)
                    if cursor <= b.ts < end
                ]
                if not bars:
                    break
                report.pages += 1
                report.bars_received += len(bars)
                page = Path(folder) / f"page-{report.pages}.parquet"
                write_page(bars, page)
                _count(report, store_page(page, symbol, timeframe))
                covered += bars[-1].ts + step - cursor
                cursor = bars[-1].ts + step
                if progress is not None:
                    progress(symbol, min(covered, total), total)
            if progress is not None:
                covered += max(0, end - cursor)
                progress(symbol, min(covered, total), total)
    return report


def write_page(bars: list[Bar], path: Path) -> None:
    """One page of bars as a Parquet file the importer reads (UTC timestamps)."""
    pl.DataFrame(
        {
            "timestamp": pl.Series([b.ts for b in bars], dtype=pl.Int64).cast(
                pl.Datetime("ns", "UTC")
            ),
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
        }
    ).write_parquet(path)


def _count(report: FetchReport, imported: dict[str, Any]) -> None:
    report.rows_loaded += int(imported.get("rows_loaded", 0))
    report.rows_quarantined += int(imported.get("rejected", 0))
    report.warnings += int(imported.get("warned", 0))
    if imported.get("import_id"):
        report.import_ids.append(str(imported["import_id"]))
