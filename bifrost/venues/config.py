"""The `[venues.NAME]` config tables: which venues exist, their kind, endpoints and rules.

Every config has the venue `paper` (the paper broker, kind "paper") unless it defines
one of that name itself. An instrument goes to the venue its `venue` field names when a
venue of that name is configured, else to `paper`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from bifrost.errors import BadRequest

KINDS = ("paper", "ccxt", "alpaca")
UNKNOWN_ORDER_RULES = ("adopt", "cancel")
PAPER = "paper"
"""The name of the embedded paper venue."""


@dataclass(frozen=True, slots=True)
class VenueConfig:
    """One venue: its kind, where it is, which symbols it trades and how it is reconciled."""

    name: str
    kind: str = PAPER
    exchange: str = ""
    """The ccxt exchange id (`binance`, `kraken`, ...); unused by other kinds."""
    sandbox: bool = True
    """Trade on the venue's testnet or paper endpoint; false trades real money."""
    symbols: tuple[str, ...] = ()
    """Bifrost symbols traded and streamed here (`BTC-USDT`, `AAPL`)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Passed to the library as they are (ccxt `options`, for one)."""
    urls: dict[str, str] = field(default_factory=dict)
    """Endpoint overrides (a proxy, a local stub): ccxt `rest`, `ws`; alpaca `trading`,
    `data`, `trading_stream`, `data_stream`."""
    unknown_orders: str = "adopt"
    """What reconciliation does with an open order at the venue that Bifrost never sent:
    `adopt` it into the journal, or `cancel` it."""
    reconcile_seconds: float = 60.0
    """How often open orders, fills, balances and positions are reconciled (also at start
    and after every reconnect)."""
    timeout_seconds: float = 10.0
    """How long one request to the venue may take."""

    @classmethod
    def from_table(cls, name: str, values: dict[str, Any]) -> VenueConfig:
        """The config of one `[venues.NAME]` table; BadRequest names what makes no sense."""
        known = {f.name for f in fields(cls)} - {"name"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise BadRequest(f"unknown key '{unknown[0]}' (known: {', '.join(sorted(known))})")
        values = dict(values)
        kind = values.get("kind", PAPER)
        if kind not in KINDS:
            raise BadRequest(f"kind '{kind}' is not one of {', '.join(KINDS)}")
        if kind == "ccxt" and not values.get("exchange"):
            raise BadRequest("a ccxt venue needs exchange = the ccxt exchange id (e.g. binance)")
        if values.get("unknown_orders", "adopt") not in UNKNOWN_ORDER_RULES:
            raise BadRequest("unknown_orders must be adopt or cancel")
        for key in ("reconcile_seconds", "timeout_seconds"):
            if key in values and not (type(values[key]) in (int, float) and values[key] > 0):
                raise BadRequest(f"{key} must be a positive number of seconds")
        if "symbols" in values:
            if not all(isinstance(s, str) and s for s in values["symbols"]):
                raise BadRequest("symbols must be a list of names")
            values["symbols"] = tuple(values["symbols"])
        for key in ("options", "urls"):
            if key in values and not isinstance(values[key], dict):
                raise BadRequest(f"{key} must be a table")
        if "sandbox" in values and not isinstance(values["sandbox"], bool):
            raise BadRequest("sandbox must be true or false")
        return cls(name=name, **values)

    def to_dict(self) -> dict[str, Any]:
        """A plain view for `config show` (no secrets live here: they are in the key store)."""
        return {
            "kind": self.kind,
            "exchange": self.exchange,
            "sandbox": self.sandbox,
            "symbols": list(self.symbols),
            "options": dict(self.options),
            "urls": dict(self.urls),
            "unknown_orders": self.unknown_orders,
            "reconcile_seconds": self.reconcile_seconds,
            "timeout_seconds": self.timeout_seconds,
        }


def read_venues(tables: dict[str, Any]) -> dict[str, VenueConfig]:
    """Every configured venue by name, `paper` included; BadRequest names the bad table."""
    venues = {PAPER: VenueConfig(PAPER)}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise BadRequest(f"venues.{name} must be a table")
        try:
            venues[name] = VenueConfig.from_table(name, table)
        except BadRequest as exc:
            raise BadRequest(f"[venues.{name}] {exc.message}") from None
    return venues


def venue_for(venues: dict[str, VenueConfig], symbol: str, instrument_venue: str) -> str:
    """The configured venue an order of `symbol` goes to: one that lists the symbol, else
    the one the instrument names, else paper."""
    for name, venue in venues.items():
        if symbol in venue.symbols:
            return name
    return instrument_venue if instrument_venue in venues else PAPER
