"""Articles: as read from a source (`RawArticle`) and as stored, scored and tagged (`Article`)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class RawArticle:
    """One item as a reader found it: not yet deduplicated, scored or mapped to symbols."""

    ts: int
    """Publication time, int ns UTC."""
    title: str
    summary: str = ""
    url: str | None = None
    source: str = ""
    symbols: tuple[str, ...] = ()
    """Symbols the source itself names (a file's `symbols` column)."""


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article: its dedupe id, text, symbols and lexicon score in [-1, 1]."""

    article_id: str
    ts: int
    title: str
    summary: str
    url: str | None
    source: str
    symbols: tuple[str, ...]
    score: float

    def to_dict(self) -> dict[str, Any]:
        """A plain map (RPC replies, JSON output)."""
        return {
            "article_id": self.article_id,
            "ts": self.ts,
            "title": self.title,
            "summary": self.summary,
            "url": self.url,
            "source": self.source,
            "symbols": list(self.symbols),
            "score": self.score,
        }


def normalize_url(url: str) -> str:
    """The URL as a dedupe key: trimmed, scheme and host lower-cased, no fragment."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def article_id(raw: RawArticle) -> str:
    """Dedupe id: a hash of the URL, or of the text when there is no URL.

    The text hash ignores case and runs of white space, so the same story re-sent
    with different line breaks is still one article.
    """
    if raw.url and raw.url.strip():
        key = "url\n" + normalize_url(raw.url)
    else:
        key = "text\n" + "\n".join(
            _SPACE.sub(" ", t).strip().lower() for t in (raw.title, raw.summary)
        )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
