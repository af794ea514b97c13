"""The `[news]` config section: feeds, the inbox, the synthetic generator, the decay."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bifrost.errors import BadRequest
from bifrost.market.timeframes import timeframe_ns


@dataclass(frozen=True, slots=True)
class NewsConfig:
    """Where the news service reads articles and how it rolls sentiment up per symbol."""

    feeds: tuple[str, ...] = ()
    """RSS or Atom feed URLs (http, https or file) that the `ingest_feeds` task reads."""
    inbox: str = "news-inbox"
    """Folder (under the data dir unless absolute) whose JSON-lines and CSV files
    the `ingest_feeds` task imports."""
    synthetic_per_minute: float = 0.0
    """Synthetic articles a minute about the feed's symbols; 0 turns the generator off."""
    synthetic_seed: int = 5
    half_life: str = "6h"
    """Half-life of an article's weight in the rolling score."""
    window: str = "3d"
    """Articles older than this no longer count in the rolling score."""
    prior_weight: float = 0.5
    """Neutral weight the rolling mean is shrunk by (in fresh articles), so scores fade."""
    fetch_timeout_seconds: float = 10.0
    max_feed_bytes: int = 5_000_000

    def __post_init__(self) -> None:
        for url in self.feeds:
            if not isinstance(url, str) or not url.startswith(("http://", "https://", "file://")):
                raise BadRequest(f"feed {url!r} must be an http://, https:// or file:// URL")
        timeframe_ns(self.half_life)
        timeframe_ns(self.window)
        if not 0 <= self.synthetic_per_minute <= 600:
            raise BadRequest("synthetic_per_minute must be between 0 (off) and 600")
        if self.prior_weight < 0:
            raise BadRequest("prior_weight must not be negative")
        if self.fetch_timeout_seconds <= 0 or self.max_feed_bytes <= 0:
            raise BadRequest("fetch_timeout_seconds and max_feed_bytes must be positive")

    @classmethod
    def from_table(cls, values: dict[str, Any]) -> NewsConfig:
        """The config of a `[news]` table whose keys and value types are already checked."""
        if "feeds" in values:
            values = {**values, "feeds": tuple(values["feeds"])}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready view."""
        return {**asdict(self), "feeds": list(self.feeds)}
