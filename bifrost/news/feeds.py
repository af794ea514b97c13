"""RSS and Atom feeds: fetch the bytes ourselves, defuse them, then let feedparser read them.

Feed bytes are untrusted. They are fetched here (http, https or file URLs only, with
a timeout and a size cap) and first parsed by defusedxml, which refuses entity
declarations (billion laughs, quadratic blow-up) and external entities and reports
malformed XML with its line and column. Only a document that passes is handed to
feedparser (as a byte stream, so it never opens a URL or file itself), which copes
with the many dialects of RSS and Atom.
"""

from __future__ import annotations

import calendar
import html
import io
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

from bifrost.errors import BadRequest, Unavailable
from bifrost.news.article import RawArticle

SCHEMES = ("http", "https", "file")
FEED_ROOTS = frozenset({"rss", "feed", "rdf"})
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def fetch_feed(url: str, timeout_s: float = 10.0, max_bytes: int = 5_000_000) -> bytes:
    """The bytes at `url`; BadRequest for a bad URL, Unavailable when it cannot be read."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise BadRequest(f"feed {url}: only http, https and file URLs are read")
    if parts.scheme == "file":
        path = Path(urllib.request.url2pathname(parts.path))
        try:
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise Unavailable(f"feed {url}: cannot read {path}: {exc.strerror}") from None
    else:
        request = urllib.request.Request(url, headers={"User-Agent": "bifrost-news/0.1"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                data = response.read(max_bytes + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Unavailable(f"feed {url}: cannot fetch: {exc}") from None
    if len(data) > max_bytes:
        raise BadRequest(f"feed {url}: larger than {max_bytes} bytes, not read")
    return data


def check_xml(data: bytes, where: str) -> str:
    """Parse with defusedxml; returns the root element's local name, lower-case.

    BadRequest names the problem: entity declarations (a possible XML bomb), external
    entities, or malformed XML with its position.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadRequest(
            f"{where}: refused unsafe XML ({type(exc).__name__}: entity declarations "
            "and external references are not accepted)"
        ) from None
    except ParseError as exc:
        raise BadRequest(f"{where}: malformed XML: {exc}") from None
    return str(root.tag).rpartition("}")[2].lower()


def parse_feed(data: bytes, where: str, received_ns: int) -> list[RawArticle]:
    """The entries of an RSS or Atom document; an entry without a date gets `received_ns`."""
    import feedparser

    root = check_xml(data, where)
    if root not in FEED_ROOTS:
        raise BadRequest(f"{where}: not an RSS or Atom feed (root element <{root}>)")
    parsed = feedparser.parse(io.BytesIO(data))
    source = plain(parsed.feed.get("title", "")) or urlsplit(where).netloc or where
    articles = []
    for entry in parsed.entries:
        title = plain(entry.get("title", ""))
        if not title:
            continue
        articles.append(
            RawArticle(
                ts=entry_time(entry) or received_ns,
                title=title,
                summary=plain(entry.get("summary", "")),
                url=entry.get("link") or None,
                source=source,
                symbols=tuple(t.get("term", "") for t in entry.get("tags", []) if is_ticker(t)),
            )
        )
    return articles


def entry_time(entry: Any) -> int | None:
    """An entry's published (else updated) time as int ns UTC."""
    moment = entry.get("published_parsed") or entry.get("updated_parsed")
    return calendar.timegm(moment) * 1_000_000_000 if moment else None


def is_ticker(tag: Any) -> bool:
    """A feed category that is a ticker, as some feeds tag stories (`scheme` says so)."""
    scheme = str(tag.get("scheme") or "").lower()
    return "ticker" in scheme or "symbol" in scheme


def plain(text: str) -> str:
    """Feed text without markup, entities resolved, white space collapsed."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text or ""))).strip()


def read_feed(url: str, received_ns: int, timeout_s: float, max_bytes: int) -> list[RawArticle]:
    """Fetch and parse one feed."""
    return parse_feed(fetch_feed(url, timeout_s, max_bytes), url, received_ns)
