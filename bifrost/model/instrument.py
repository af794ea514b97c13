"""Instruments: what a symbol is, where it trades and its price and size increments."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from bifrost.errors import BadRequest

CRYPTO_QUOTES = ("-USD", "-USDT", "-EUR", "-BTC")


class AssetClass(StrEnum):
    """Broad kinds of instrument."""

    EQUITY = "equity"
    ETF = "etf"
    CRYPTO = "crypto"
    FUTURE = "future"
    FX = "fx"


SYMBOL = re.compile(r"[A-Za-z0-9^][A-Za-z0-9._/=^:#&-]{0,31}")
"""A symbol: up to 32 letters, digits and the separators tickers use (BRK.B, ^GSPC, ES=F)."""


def check_symbol(symbol: str) -> str:
    """`symbol` when it is one; else BadRequest naming it.

    Brackets, spaces and control characters are in no ticker, and a symbol is printed,
    put in topics and used as a file name, so anything else is refused where it enters.
    """
    if not isinstance(symbol, str) or not SYMBOL.fullmatch(symbol):
        raise BadRequest(
            f"symbol {symbol!r} is not a symbol: use 1-32 letters, digits and . - _ / = ^ : # &",
            {"symbol": str(symbol)},
        )
    return symbol


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol with its venue, currency, increments and trading calendar."""

    symbol: str
    venue: str = "XNYS"
    asset_class: AssetClass = AssetClass.EQUITY
    currency: str = "USD"
    tick_size: float = 0.01
    lot_size: float = 1.0
    multiplier: float = 1.0
    calendar: str = "XNYS"
    """An exchange_calendars name (XNYS, XLON, ...) or `24/7`."""
    min_quantity: float = 0.0
    """The smallest order quantity the venue takes (0: no minimum)."""
    min_notional: float = 0.0
    """The smallest order value (quantity times price) the venue takes (0: no minimum)."""

    def __post_init__(self) -> None:
        check_symbol(self.symbol)
        for name in ("tick_size", "lot_size", "multiplier"):
            if not getattr(self, name) > 0:
                raise BadRequest(f"{self.symbol}: {name} must be positive")
        for name in ("min_quantity", "min_notional"):
            if not getattr(self, name) >= 0:
                raise BadRequest(f"{self.symbol}: {name} must not be negative")

    @classmethod
    def default_for(cls, symbol: str) -> Instrument:
        """A sensible instrument for a bare symbol: crypto pairs trade 24/7, else XNYS."""
        if symbol.upper().endswith(CRYPTO_QUOTES):
            return cls(symbol, "CRYPTO", AssetClass.CRYPTO, "USD", 0.01, 0.0001, 1.0, "24/7")
        return cls(symbol)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Instrument:
        """Build from a plain map (RPC params or a table row), checking every field."""
        try:
            return cls(**{**values, "asset_class": AssetClass(values.get("asset_class", "equity"))})
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"instrument: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """A plain map of every field."""
        return {**asdict(self), "asset_class": self.asset_class.value}
