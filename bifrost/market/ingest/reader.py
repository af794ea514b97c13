"""Reading one bar file (CSV or Parquet) into parsed rows with their source line numbers.

A CSV file is read as text and every column parsed afterwards, so a value that does
not parse (a price `abc`, a date `not-a-date`) makes only its row `unparseable`; a
file that cannot be read as a table at all (binary junk, a truncated Parquet file, a
missing required column) is a BadRequest naming the file, and the line and column
where we can tell.

Columns are found by name, case-insensitively: a time column (`timestamp`, `time`,
`datetime`, `date` or `ts`; a `date` and a `time` column together are joined; without
any of those, a first column whose header is empty, as pandas' `to_csv` writes it),
`open`, `high`, `low`, `close` (never `Adj Close`), optional `volume` (0 when the
file has none, as FX and index files often do) and optional `symbol`.

Times become int64 ns UTC:
- an ISO date (`2024-01-02`) or a compact `20240102` labels a UTC day, because a `1d`
  bar is the UTC calendar day (bifrost/market/timeframes.py), whatever `tz` says;
- an ISO date-time with a zone (`Z`, `+02:00`) is converted to UTC;
- a naive ISO date-time is read in `tz` (a DST gap makes it unparseable, a repeated
  hour takes the earlier instant);
- an integer is an epoch count in s, ms, us or ns, told apart by the magnitude of
  the column's median value, so one column always has one unit.
"""

from __future__ import annotations

import csv
import io
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from bifrost.errors import BadRequest, NotFound

PRICES = ("open", "high", "low", "close")
TIME_NAMES = ("timestamp", "time", "datetime", "date", "ts")
ROLES = (*PRICES, "volume", "symbol", *TIME_NAMES)
FORMATS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
PARSED_SCHEMA = {
    "line": pl.Int64,
    "symbol": pl.String,
    "ts": pl.Int64,
    "open": pl.Float64,
    "high": pl.Float64,
    "low": pl.Float64,
    "close": pl.Float64,
    "volume": pl.Float64,
    "parsed": pl.Boolean,
    "raw": pl.String,
}
"""What `read_bars` returns: `parsed` is false when a required value is missing or did
not parse (`inf` and `nan` parse; validation refuses them); `raw` is the row's original
values as a JSON object; `symbol` is null when the file has no symbol column or the cell
is blank."""

_I64_MAX = 2**63 - 1
_EPOCH_UNITS = ((10**11, 10**9), (10**14, 10**6), (10**17, 10**3))
"""(median magnitude below which, ns per unit): seconds, milliseconds, microseconds."""


def read_bars(path: Path, *, fmt: str | None = None, tz: str = "UTC") -> pl.DataFrame:
    """Parse one bar file into PARSED_SCHEMA rows, in file order, blank lines left out.

    `line` is the 1-based line of a CSV file (the header is line 1) or the 1-based
    row of a Parquet file.
    """
    source = read_source(path, fmt=fmt, tz=tz)
    raw = source.raw(source.rows["line"])
    return source.rows.with_columns(raw=raw).select(list(PARSED_SCHEMA))


@dataclass(frozen=True, slots=True)
class SourceRows:
    """A file's parsed rows without `raw`, and the table they came from.

    Writing every row out as JSON is most of the cost of reading a large clean file,
    and an import needs it only for the rows it rejects: `raw` makes it for those.
    """

    rows: pl.DataFrame
    """PARSED_SCHEMA rows except `raw`."""
    table: pl.DataFrame
    """The file as read: one row per line from `first_line` on, blank lines included."""
    first_line: int

    def raw(self, lines: pl.Series) -> pl.Series:
        """The original values of the rows at `lines` (a `line` column) as JSON objects."""
        picked = self.table[lines.cast(pl.Int64) - self.first_line]
        return picked.select(pl.struct(pl.all()).struct.json_encode()).to_series()


def read_source(path: Path, *, fmt: str | None = None, tz: str = "UTC") -> SourceRows:
    """`read_bars` without the `raw` column, keeping the table to make it on demand."""
    check_time_zone(tz)
    if file_format(path, fmt) == "csv":
        table, first_line = load_csv(path), 2
    else:
        table, first_line = load_parquet(path), 1
    lines = pl.int_range(first_line, first_line + table.height, eager=True)
    return SourceRows(parse_table(path, table, lines, tz), table, first_line)


def parse_table(path: Path, table: pl.DataFrame, lines: pl.Series, tz: str) -> pl.DataFrame:
    """PARSED_SCHEMA rows (without `raw`) of `table`, whose rows sit at `lines` of `path`.

    Blank rows are left out. A release of quarantined rows parses their stored
    original values through here, so they are judged exactly as the import judged them.
    """
    roles = find_columns(path, table.columns)
    frame = pl.DataFrame(
        {
            "line": lines,
            "symbol": symbols(table, roles.get("symbol")),
            "ts": times(path, table, roles, tz),
            **{name: numbers(path, table, roles[name]) for name in PRICES},
            "volume": volumes(path, table, roles.get("volume")),
            "blank": table.select(pl.all_horizontal(pl.all().is_null())).to_series(),
        }
    )
    # Non-finite values parse: validation names them (`non_finite`) rather than hiding them.
    values = [pl.col(c).is_not_null() for c in (*PRICES, "volume")]
    schema = {name: kind for name, kind in PARSED_SCHEMA.items() if name != "raw"}
    return (
        frame.filter(~pl.col("blank"))
        .with_columns(parsed=pl.all_horizontal(pl.col("ts").is_not_null(), *values))
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
    )


def check_time_zone(tz: str) -> None:
    """BadRequest unless `tz` is an IANA time zone name such as `America/New_York`."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BadRequest(
            f"unknown time zone '{tz}': use an IANA name like America/New_York"
        ) from None


def file_format(path: Path, fmt: str | None) -> str:
    """`csv` or `parquet`: as given, else from the file suffix."""
    chosen = fmt.lower() if fmt else FORMATS.get(path.suffix.lower())
    if chosen not in ("csv", "parquet"):
        raise BadRequest(
            f"{path}: cannot tell the format from '{path.suffix}' or '{fmt}'; "
            "use a .csv/.parquet/.pq file or pass the format csv or parquet"
        )
    return chosen


def read_file_bytes(path: Path) -> bytes:
    """The file's bytes; NotFound or BadRequest naming it when it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file") from None
    except OSError as exc:
        raise BadRequest(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise BadRequest(f"{path}: the file is empty")
    return data


def load_csv(path: Path) -> pl.DataFrame:
    """Every column of a CSV file as text; BadRequest naming the line where it breaks."""
    data = read_file_bytes(path)
    check_text(path, data)
    try:
        return pl.read_csv(io.BytesIO(data), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        reason = str(exc).strip().splitlines()[0]
        line = first_ragged_line(data)
        where = f" at line {line}" if line else ""
        raise BadRequest(
            f"{path}: not a readable CSV file{where}: {reason}", {"file": str(path), "line": line}
        ) from None


def check_text(path: Path, data: bytes) -> None:
    """BadRequest naming the line and column of the first byte that is not UTF-8 text."""
    position = data.find(b"\x00")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        position = exc.start if position < 0 else min(position, exc.start)
    if position < 0:
        return
    line = data.count(b"\n", 0, position) + 1
    column = position - (data.rfind(b"\n", 0, position) + 1) + 1
    raise BadRequest(
        f"{path}: not a text CSV file: byte 0x{data[position]:02x} at line {line}, "
        f"column {column} is not UTF-8 text",
        {"file": str(path), "line": line, "column": column},
    )


def first_ragged_line(data: bytes) -> int | None:
    """The first line holding more fields than the header (only run once a read failed)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    try:
        width = len(next(reader))
        for fields in reader:
            if len(fields) > width:
                return reader.line_num
    except (csv.Error, StopIteration):
        return reader.line_num or None
    return None


def load_parquet(path: Path) -> pl.DataFrame:
    """A Parquet file as stored; BadRequest naming it when it is not valid Parquet."""
    data = read_file_bytes(path)
    try:
        return pl.read_parquet(io.BytesIO(data))
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadRequest(
            f"{path}: not a readable Parquet file: {reason}", {"file": str(path)}
        ) from None


def find_columns(path: Path, names: list[str]) -> dict[str, str]:
    """Map each role (open, ..., volume, symbol, a time name) to the file's column name."""
    roles: dict[str, str] = {}
    for name in names:
        key = name.strip().lower()
        if key in ROLES and key in roles:
            raise BadRequest(f"{path}: columns '{roles[key]}' and '{name}' both mean '{key}'")
        if key in ROLES:
            roles[key] = name
    if names and not names[0].strip() and not any(name in roles for name in TIME_NAMES):
        roles["timestamp"] = names[0]  # pandas' to_csv writes the index with no header
    missing = [role for role in PRICES if role not in roles]
    if not any(name in roles for name in TIME_NAMES):
        missing.insert(0, "a time column (" + "/".join(TIME_NAMES) + ")")
    if missing:
        raise BadRequest(
            f"{path}: missing column(s) {', '.join(missing)}; the file has {', '.join(names)}",
            {"file": str(path), "missing": missing, "columns": names},
        )
    return roles


def symbols(table: pl.DataFrame, column: str | None) -> pl.Series:
    """The symbol cell of each row (blank cells as null), or all null without the column."""
    if column is None:
        return pl.repeat(None, table.height, dtype=pl.String, eager=True)
    text = table[column].cast(pl.String).str.strip_chars()
    return text.replace("", None)


def numbers(path: Path, table: pl.DataFrame, column: str) -> pl.Series:
    """One price column as Float64; null where a value does not parse."""
    values = table[column]
    if values.dtype.is_numeric():
        return values.cast(pl.Float64)
    if values.dtype != pl.String:
        raise BadRequest(f"{path}: column '{column}' holds {values.dtype}, not numbers")
    return values.str.strip_chars().cast(pl.Float64, strict=False)


def volumes(path: Path, table: pl.DataFrame, column: str | None) -> pl.Series:
    """The volume column as Float64, or zeros when the file has none."""
    if column is None:
        return pl.repeat(0.0, table.height, dtype=pl.Float64, eager=True)
    return numbers(path, table, column)


def times(path: Path, table: pl.DataFrame, roles: dict[str, str], tz: str) -> pl.Series:
    """The time column(s) as int64 ns UTC; null where a value does not parse."""
    if "date" in roles and "time" in roles and not {"timestamp", "datetime"} & roles.keys():
        date = table[roles["date"]].cast(pl.String).str.strip_chars()
        clock = table[roles["time"]].cast(pl.String).str.strip_chars()
        return text_times(date + "T" + clock, tz)
    name = next(roles[n] for n in TIME_NAMES if n in roles)
    values = table[name]
    dtype = values.dtype
    if dtype == pl.Date:
        return values.cast(pl.Datetime("ns")).cast(pl.Int64)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            values = values.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        return values.dt.cast_time_unit("ns").cast(pl.Int64)
    if dtype.is_numeric():
        return epoch_ns(values)
    if dtype == pl.String:
        return text_times(values.str.strip_chars(), tz)
    raise BadRequest(f"{path}: column '{name}' holds {dtype}, not times")


def text_times(text: pl.Series, tz: str) -> pl.Series:
    """Parse times written as text: epoch integers, compact dates or ISO forms."""
    frame = pl.DataFrame({"text": text})
    integers = frame.select(
        pl.when(pl.col("text").str.contains(r"^-?\d+$")).then(
            pl.col("text").cast(pl.Int64, strict=False)
        )
    ).to_series()
    iso = frame.select(iso_times(pl.col("text"), tz)).to_series()
    if is_compact_dates(text, integers):
        compact = text.str.to_date("%Y%m%d", strict=False).cast(pl.Datetime("ns"))
        return compact.cast(pl.Int64).fill_null(iso)
    return epoch_ns(integers).fill_null(iso)


def is_compact_dates(text: pl.Series, integers: pl.Series) -> bool:
    """True when every integer of a time column is a valid `YYYYMMDD` date."""
    written = text.filter(integers.is_not_null())
    if written.is_empty() or not (written.str.len_chars() == 8).all():
        return False
    return written.str.to_date("%Y%m%d", strict=False).null_count() == 0


def epoch_ns(counts: pl.Series) -> pl.Series:
    """Epoch counts (integer or float) to ns, one unit for the whole column.

    The unit is chosen by the median magnitude: below 1e11 seconds (to the year
    5138), below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
    Values that would overflow int64 ns become null.
    """
    magnitude = counts.abs().median()
    if magnitude is None:
        return counts.cast(pl.Int64, strict=False)
    scale = next((ns for below, ns in _EPOCH_UNITS if float(magnitude) < below), 1)  # type: ignore[arg-type]
    value = pl.col("n")
    fits = value.is_finite() & (value.abs() <= _I64_MAX // scale)
    if counts.dtype.is_float():
        scaled = (value * scale).round(0).cast(pl.Int64, strict=False)
    else:
        scaled = value.cast(pl.Int64) * scale
    return pl.DataFrame({"n": counts}).select(pl.when(fits).then(scaled)).to_series()


def iso_times(text: pl.Expr, tz: str) -> pl.Expr:
    """ISO dates and date-times (`T` or space, optional fraction and zone) to ns UTC."""
    norm = text.str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T").str.replace(r"[Zz]$", "+00:00")
    zoned = [
        norm.str.to_datetime(f, time_unit="ns", strict=False).cast(pl.Int64)
        for f in ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
    ]
    naive = pl.coalesce(
        norm.str.to_datetime(f, time_unit="ns", strict=False)
        for f in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M")
    )
    local = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    day = norm.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("ns")).cast(pl.Int64)
    return pl.coalesce(*zoned, local.dt.cast_time_unit("ns").cast(pl.Int64), day)
