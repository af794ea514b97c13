"""The options of one import, with their one wire form for the `data.import` RPC.

The CLI, the inbox and the data daemon all import through these names, so a
caller cannot send a field under one name while the daemon expects another (the
CLI once sent `fmt` to a daemon that wanted `format`, and every import through a
running daemon failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bifrost.bus.schema import ListOf, Optional, Schema

DEFAULT_OUTLIER_SIGMA = 8.0
"""How many robust standard deviations a return may move before it is an outlier (here,
not in validate, so the data service can read import options without loading Polars)."""

WIRE_SCHEMA = Schema(
    "data.import params",
    {
        "paths": ListOf(str, max_items=1000),
        "symbol": Optional(str),
        "timeframe": Optional(str),
        "format": Optional(str),
        "tz": Optional(str),
        "strict": Optional(bool),
    },
)
"""`data.import` params: the files (paths readable by the daemon) and the options."""


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to read and judge the files of one import (every field has the CLI's default)."""

    symbol: str | None = None
    """The symbol of every row (default: the file's symbol column, else its name)."""
    timeframe: str = "1d"
    fmt: str | None = None
    """`csv` or `parquet` (default: from the file suffix)."""
    tz: str = "UTC"
    """The zone of naive timestamps."""
    strict: bool = False
    """Quarantine rows a warning rule flags (surprising jumps) instead of keeping them."""
    outlier_sigma: float = DEFAULT_OUTLIER_SIGMA

    def to_wire(self, paths: list[str]) -> dict[str, Any]:
        """`data.import` params for `paths` with these options."""
        return {
            "paths": paths,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "format": self.fmt,
            "tz": self.tz,
            "strict": self.strict,
        }

    @classmethod
    def from_wire(cls, params: dict[str, Any]) -> ImportOptions:
        """The options of checked `data.import` params (absent fields take the defaults)."""
        return cls(
            symbol=params.get("symbol") or None,
            timeframe=params.get("timeframe") or "1d",
            fmt=params.get("format") or None,
            tz=params.get("tz") or "UTC",
            strict=bool(params.get("strict") or False),
        )

    def engine_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `import_files`."""
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "fmt": self.fmt,
            "tz": self.tz,
            "strict": self.strict,
            "outlier_sigma": self.outlier_sigma,
        }
