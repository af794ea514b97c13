"""The `[feed]` config section: the synthetic market feed of the data service."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bifrost.errors import BadRequest, BifrostError
from bifrost.market.timeframes import timeframe_ns

SYNTHETIC = "synthetic"
"""The source name of the embedded synthetic feed."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """The synthetic market feed of the data service (geometric Brownian motion)."""

    symbols: tuple[str, ...] = ("AAPL", "MSFT", "NVDA", "SPY", "BTC-USD")
    quotes_per_second: float = 50.0
    """Quote updates per second for each symbol."""
    seed: int = 7
    annual_volatility: float = 0.30
    spread_bps: float = 2.0
    """Typical quoted spread in basis points of the price."""
    trade_ratio: float = 0.25
    """Fraction of quote updates that also print a trade."""
    prices: dict[str, float] = field(default_factory=dict)
    """Starting prices by symbol, for a symbol with no stored bars (one with bars starts from
    its last stored close); a symbol with neither starts at 100."""
    bar_timeframes: tuple[str, ...] = ("1m",)
    """Live bars built from the feed's trades, published on `bar.<tf>.<SYM>` and stored."""
    book_levels: int = 0
    """Price levels per side of the L2 book published on `book.<SYM>` with each quote;
    0 publishes no book."""
    sources: tuple[str, ...] = (SYNTHETIC,)
    """Where live data comes from: `synthetic` (this feed, for `symbols`) and venue names
    (each streams the symbols its `[venues.NAME]` lists)."""

    @classmethod
    def from_table(cls, values: dict[str, Any]) -> FeedConfig:
        """The config of a `[feed]` table whose keys and value types are already checked;
        BadRequest names the value that makes no sense."""
        values = dict(values)
        if "symbols" in values:
            values["symbols"] = tuple(values["symbols"])
            if not values["symbols"] or not all(
                isinstance(s, str) and s for s in values["symbols"]
            ):
                raise BadRequest("symbols must be a non-empty list of names")
        prices = values.get("prices", {})
        if not all(type(p) in (int, float) and p > 0 for p in prices.values()):  # bool is an int
            raise BadRequest("prices must map symbols to positive numbers")
        values["prices"] = {k: float(v) for k, v in prices.items()}
        if "bar_timeframes" in values:
            values["bar_timeframes"] = tuple(values["bar_timeframes"])
            for timeframe in values["bar_timeframes"]:
                try:
                    timeframe_ns(timeframe)
                except BifrostError as exc:
                    raise BadRequest(f"bar_timeframes: {exc.message}") from None
        if "sources" in values:
            values["sources"] = tuple(values["sources"])
            if not all(isinstance(s, str) and s for s in values["sources"]):
                raise BadRequest("sources must be a list of names (synthetic or venues)")
        if not 0 <= values.get("book_levels", 0) <= 1000:
            raise BadRequest("book_levels must be between 0 (no book) and 1000")
        if values.get("quotes_per_second", 1.0) <= 0:
            raise BadRequest("quotes_per_second must be positive")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready view."""
        return {
            **asdict(self),
            "symbols": list(self.symbols),
            "prices": dict(self.prices),
            "bar_timeframes": list(self.bar_timeframes),
            "sources": list(self.sources),
        }
