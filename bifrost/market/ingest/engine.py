"""Importing bar files into the data store in one transaction, and re-checking stored bars.

Every file of an import is read and validated before the store is touched; then one
transaction upserts the kept rows, puts the provably invalid rows (and, in a strict
import, the rows a warning rule flagged) into `quarantine` and records the import in
`imports`. Warned rows of a normal import are stored and listed in the report. Any
error rolls the whole transaction back, so the store holds all of an import or none
of it. Rows travel as Arrow tables into set-based INSERT ... SELECT statements, never
one row at a time.

The symbol of a row is `symbol` when given, else the file's `symbol` cell, else the
file name without its suffix, upper-cased (`aapl.csv` -> `AAPL`). A file holding
several symbols is validated and reported per symbol.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from bifrost.clock import Clock, LiveClock
from bifrost.errors import BadRequest, NotFound
from bifrost.market.ingest.calendar import missing_sessions
from bifrost.market.ingest.reader import SourceRows, read_source
from bifrost.market.ingest.report import (
    MISSING_SHOWN,
    WARNINGS_SHOWN,
    ImportReport,
    RowWarning,
    SeriesReport,
)
from bifrost.market.ingest.validate import (
    DEFAULT_OUTLIER_SIGMA,
    STORED_REASONS,
    WARNING_REASONS,
    classify,
    count_reasons,
    newest_first,
    quarantined,
)
from bifrost.market.timeframes import timeframe_ns
from bifrost.model.instrument import check_symbol
from bifrost.store.bars import BAR_COLUMNS, UpsertCounts, bars_between, upsert_bars
from bifrost.store.instruments import find_instrument

CalendarFor = Callable[[str], str]
"""Gives the calendar name (`XNYS`, ..., `24/7`) of a symbol."""
PROBLEM_TS_SHOWN = 20
"""How many offending bar times `validate_stored` lists per reason."""


@dataclass(frozen=True, slots=True)
class CheckedSeries:
    """One symbol of one file after validation, before anything is stored."""

    file: str
    symbol: str
    rows: pl.DataFrame
    """read_source rows (no `raw`) plus `reason` (null for a good row) and `move`."""
    missing: list[dt.date]
    source: SourceRows
    """The file's rows as read, for the `raw` JSON of the rows sent to quarantine."""
    strict: bool = False

    @property
    def out(self) -> pl.Expr:
        """True for the rows of this series that go to quarantine."""
        return quarantined(self.strict)


def import_files(
    connection: duckdb.DuckDBPyConnection,
    paths: Sequence[Path | str],
    *,
    symbol: str | None = None,
    timeframe: str = "1d",
    fmt: str | None = None,
    tz: str = "UTC",
    outlier_sigma: float = DEFAULT_OUTLIER_SIGMA,
    strict: bool = False,
    calendar_for: CalendarFor | None = None,
    clock: Clock | None = None,
) -> ImportReport:
    """Read, validate and store bar files as one import; the store is unchanged on error.

    `strict` quarantines the rows a warning rule flags; otherwise they are stored
    and listed as warnings.

    `calendar_for` defaults to the calendar of the stored instrument (or the default
    instrument for such a symbol); `clock` stamps the import (wall clock by default).
    """
    if not paths:
        raise BadRequest("no files to import")
    check_options(timeframe, outlier_sigma)
    calendar_of = calendar_for or (lambda name: find_instrument(connection, name).calendar)
    checked = [
        series
        for path in paths
        for series in check_file(
            Path(path), symbol or None, timeframe, fmt, tz, outlier_sigma, calendar_of, strict
        )
    ]
    import_id = str(uuid.uuid4())
    started_ns = (clock or LiveClock()).now_ns()
    connection.execute("BEGIN TRANSACTION")
    try:
        report = store_import(connection, checked, import_id, started_ns, timeframe, tz)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return report


def check_options(timeframe: str, outlier_sigma: float) -> None:
    """BadRequest for an unknown timeframe or a sigma that is not positive."""
    timeframe_ns(timeframe)
    if not outlier_sigma > 0:
        raise BadRequest(f"outlier sigma must be positive, not {outlier_sigma}")


def check_file(
    path: Path,
    symbol: str | None,
    timeframe: str,
    fmt: str | None,
    tz: str,
    outlier_sigma: float,
    calendar_of: CalendarFor,
    strict: bool = False,
) -> list[CheckedSeries]:
    """Read one file and validate each of its symbols."""
    source = read_source(path, fmt=fmt, tz=tz)
    rows = source.rows.with_columns(
        symbol=pl.coalesce(pl.lit(symbol, pl.String), "symbol", pl.lit(path.stem.upper()))
    )
    # Most files hold one symbol: partitioning would only copy the whole frame.
    several = rows["symbol"].n_unique() > 1
    groups = rows.partition_by("symbol", maintain_order=True) if several else [rows]
    checked = []
    for group in groups:
        name = str(group["symbol"][0]) if group.height else (symbol or path.stem.upper())
        try:
            check_symbol(name)
        except BadRequest as exc:
            raise BadRequest(f"{path}: {exc.message}; name it with --symbol", exc.details) from None
        marked = classify(group, outlier_sigma=outlier_sigma)
        kept_ts = marked.filter(~quarantined(strict))["ts"]
        missing = missing_sessions(kept_ts, calendar_of(name), timeframe)
        checked.append(CheckedSeries(str(path), name, marked, missing, source, strict))
    return checked


def store_import(
    connection: duckdb.DuckDBPyConnection,
    checked: list[CheckedSeries],
    import_id: str,
    started_ns: int,
    timeframe: str,
    tz: str = "UTC",
) -> ImportReport:
    """Upsert, quarantine and record, inside the caller's transaction."""
    reports = []
    for series in checked:
        kept = series.rows.filter(~series.out).with_columns(timeframe=pl.lit(timeframe))
        counts = upsert_bars(connection, kept.select(BAR_COLUMNS))
        reports.append(series_report(series, counts, timeframe))
    strict = any(series.strict for series in checked)
    report = ImportReport(import_id, started_ns, timeframe, tuple(reports), strict, tz)
    insert_quarantine(connection, quarantine_rows(checked, import_id, timeframe))
    files = list(dict.fromkeys(series.file for series in checked))
    connection.execute(
        "INSERT INTO imports (import_id, started_ns, files, report) VALUES (?, ?, ?, ?)",
        [import_id, started_ns, files, json.dumps(report.to_dict())],
    )
    return report


def series_report(series: CheckedSeries, counts: UpsertCounts, timeframe: str) -> SeriesReport:
    """The report of one series once its kept rows are stored."""
    kept_ts = series.rows.filter(~series.out)["ts"]
    warned = series.rows.filter(~series.out & pl.col("reason").is_in(WARNING_REASONS))
    return SeriesReport(
        file=series.file,
        symbol=series.symbol,
        timeframe=timeframe,
        rows_read=series.rows.height,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected_by_reason=count_reasons(series.rows.filter(series.out)),
        missing_sessions=len(series.missing),
        missing_first=tuple(d.isoformat() for d in series.missing[:MISSING_SHOWN]),
        first_ts=_int_or_none(kept_ts.min()),
        last_ts=_int_or_none(kept_ts.max()),
        newest_first=newest_first(kept_ts),
        warned=warned.height,
        warnings=tuple(
            RowWarning(int(r["line"]), int(r["ts"]), str(r["reason"]), float(r["move"]))
            for r in warned.head(WARNINGS_SHOWN).iter_rows(named=True)
        ),
    )


def quarantine_rows(checked: list[CheckedSeries], import_id: str, timeframe: str) -> pl.DataFrame:
    """Every rejected row of the import, shaped like the `quarantine` table."""
    frames = []
    for series in checked:
        rejected = series.rows.filter(series.out)
        frames.append(
            rejected.select(
                pl.lit(import_id).alias("import_id"),
                pl.lit(series.file).alias("file"),
                "line",
                "symbol",
                pl.lit(timeframe).alias("timeframe"),
                "ts",
                "reason",
                series.source.raw(rejected["line"]).alias("row"),
            )
        )
    return pl.concat(frames)


def insert_quarantine(connection: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> None:
    """Append rejected rows to `quarantine` in one statement."""
    if rows.is_empty():
        return
    connection.register("quarantined_rows", rows.to_arrow())
    try:
        connection.execute(
            """
            INSERT INTO quarantine (import_id, file, line, symbol, timeframe, ts, reason, row)
            SELECT import_id, file, line, symbol, timeframe, ts, reason, CAST(row AS JSON)
            FROM quarantined_rows
            """
        )
    finally:
        connection.unregister("quarantined_rows")


def validate_stored(
    connection: duckdb.DuckDBPyConnection,
    symbol: str,
    timeframe: str,
    outlier_sigma: float = DEFAULT_OUTLIER_SIGMA,
    calendar: str | None = None,
) -> dict[str, Any]:
    """Re-check one stored series with the import rules; returns a plain report map.

    `calendar` defaults to the stored instrument's. NotFound when no bars are stored.
    """
    check_options(timeframe, outlier_sigma)
    bars = bars_between(connection, symbol, timeframe)
    if bars.is_empty():
        raise NotFound(f"no stored {timeframe} bars for {symbol}")
    calendar = calendar or find_instrument(connection, symbol).calendar
    marked = classify(bars.with_columns(parsed=pl.lit(True)), outlier_sigma=outlier_sigma)
    missing = missing_sessions(bars["ts"], calendar, timeframe)
    problems = problem_times(marked, STORED_REASONS)
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "calendar": calendar,
        "rows": bars.height,
        "first_ts": _int_or_none(bars["ts"].min()),
        "last_ts": _int_or_none(bars["ts"].max()),
        "problems": problems,
        "problem_rows": sum(p["count"] for p in problems.values()),
        "warnings": problem_times(marked, WARNING_REASONS),
        "missing_sessions": {
            "count": len(missing),
            "first": [d.isoformat() for d in missing[:PROBLEM_TS_SHOWN]],
        },
    }


def problem_times(marked: pl.DataFrame, reasons: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Per rule of `reasons`: how many bars break it and the first offending times."""
    found = (
        marked.filter(pl.col("reason").is_not_null())
        .group_by("reason")
        .agg(pl.len().alias("count"), pl.col("ts").sort().head(PROBLEM_TS_SHOWN).alias("ts"))
    )
    by_reason = {row["reason"]: row for row in found.to_dicts()}
    return {
        reason: {
            "count": int(by_reason.get(reason, {}).get("count", 0)),
            "ts": list(by_reason.get(reason, {}).get("ts", [])),
        }
        for reason in reasons
    }


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
