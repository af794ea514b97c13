"""Local news files: JSON lines (`.jsonl`, `.ndjson`, `.json`) and CSV.

Each record needs a time and a title. Column (or key) names are matched loosely:
time from ts / published / timestamp / time / date / datetime; title from title /
headline; text from summary / body / description / text; plus url / link, source,
and symbols / tickers (a list, or text split on commas, spaces or semicolons).
Times may be ISO dates or date-times (naive means UTC), RFC 2822 dates as RSS uses
them, or epoch numbers in s, ms, us or ns (told apart by magnitude). A record that
cannot be read is rejected with its line and reason; a file with no readable record
at all is an error, so garbage never passes as an empty import.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from bifrost.clock import parse_instant
from bifrost.errors import BadRequest
from bifrost.news.article import RawArticle

SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")
MAX_FILE_BYTES = 200_000_000
FIELDS = {
    "ts": ("ts", "published", "timestamp", "time", "date", "datetime", "published_at"),
    "title": ("title", "headline"),
    "summary": ("summary", "body", "description", "text", "content"),
    "url": ("url", "link"),
    "source": ("source", "publisher"),
    "symbols": ("symbols", "tickers", "symbol", "ticker"),
}
_SPLIT = re.compile(r"[,;\s]+")


@dataclass
class FileRead:
    """What a file held: readable articles and rejected records (line, reason)."""

    path: Path
    articles: list[RawArticle] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def read_news_file(path: Path) -> FileRead:
    """Read one news file; BadRequest when it cannot be read or holds no article."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise BadRequest(f"{path.name}: not a news file (expected {', '.join(SUFFIXES)})")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BadRequest(f"{path.name}: larger than {MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadRequest(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise BadRequest(f"{path.name}: not UTF-8 text") from None
    except OSError as exc:
        raise BadRequest(f"{path.name}: cannot read: {exc.strerror}") from None
    result = FileRead(path)
    records = _csv_records(text, path) if suffix == ".csv" else _json_records(text)
    for line, record in records:
        try:
            result.articles.append(to_article(record, path.stem))
        except ValueError as exc:
            result.rejected.append({"line": line, "reason": str(exc)})
    if not result.articles:
        first = result.rejected[0] if result.rejected else None
        why = f" (line {first['line']}: {first['reason']})" if first else " (it is empty)"
        raise BadRequest(f"{path.name}: no readable article{why}")
    return result


def _json_records(text: str) -> list[tuple[int, Any]]:
    """(line, record) of each non-blank line; a line that is not JSON is its error text."""
    out: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            out.append((number, f"not JSON: {exc.msg}"))
    return out


def _csv_records(text: str, path: Path) -> list[tuple[int, Any]]:
    reader = csv.DictReader(text.splitlines())
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    if not columns & set(FIELDS["title"]):
        raise BadRequest(f"{path.name}: no title or headline column (columns: {sorted(columns)})")
    try:
        return [
            (reader.line_num, {k.strip().lower(): v for k, v in row.items() if k}) for row in reader
        ]
    except csv.Error as exc:
        raise BadRequest(f"{path.name}: malformed CSV at line {reader.line_num}: {exc}") from None


def to_article(record: Any, default_source: str) -> RawArticle:
    """One record as a RawArticle; ValueError says what is wrong with it."""
    if isinstance(record, str):
        raise ValueError(record)
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    values = {k.lower(): v for k, v in record.items() if isinstance(k, str)}

    def pick(name: str) -> Any:
        return next((values[k] for k in FIELDS[name] if values.get(k) not in (None, "")), None)

    title = pick("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("no title")
    moment = pick("ts")
    if moment is None:
        raise ValueError("no time (ts, published, ...)")
    url = pick("url")
    return RawArticle(
        ts=parse_time(moment),
        title=" ".join(title.split()),
        summary=" ".join(str(pick("summary") or "").split()),
        url=str(url).strip() if url else None,
        source=str(pick("source") or default_source),
        symbols=parse_symbols(pick("symbols")),
    )


def parse_time(value: Any) -> int:
    """ISO text, RFC 2822 text or an epoch number (s, ms, us, ns) as int ns UTC."""
    if isinstance(value, bool):
        raise ValueError(f"time {value!r} is not a date or a number")
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value):
        value = float(value)
    if isinstance(value, int | float):
        magnitude = abs(value)
        if magnitude != magnitude or magnitude == float("inf"):
            raise ValueError(f"time {value!r} is not a number")
        scale = (
            1e9 if magnitude < 1e11 else 1e6 if magnitude < 1e14 else 1e3 if magnitude < 1e17 else 1
        )
        return int(value * scale)
    if not isinstance(value, str):
        raise ValueError(f"time {value!r} is not a date or a number")
    try:
        return parse_instant(value.strip())
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"time '{value}' is not ISO, RFC 2822 or an epoch number") from None
    if moment.tzinfo is None:
        raise ValueError(f"time '{value}' has no time zone")
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def parse_symbols(value: Any) -> tuple[str, ...]:
    """A list of symbols, or text of them split on commas, semicolons or spaces."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else _SPLIT.split(str(value))
    return tuple(str(s).strip().lstrip("$").upper() for s in items if str(s).strip())
