"""Opens a configured venue by its kind; each kind's library is imported only when used."""

from __future__ import annotations

from pathlib import Path

from bifrost.errors import BadRequest, NotFound
from bifrost.venues.config import VenueConfig
from bifrost.venues.contract import Venue
from bifrost.venues.credentials import Credentials, CredentialStore


def open_venue(config: VenueConfig, keys_dir: Path) -> Venue:
    """The venue of `[venues.NAME]`, with its stored credentials (none stored: public
    market data only, and orders fail naming `bifrost venues login NAME`)."""
    credentials = load_credentials(config.name, keys_dir)
    if config.kind == "ccxt":
        from bifrost.venues.ccxt_venue import CcxtVenue

        return CcxtVenue(config, credentials)
    if config.kind == "alpaca":
        from bifrost.venues.alpaca_venue import AlpacaVenue

        return AlpacaVenue(config, credentials)
    raise BadRequest(f"venue {config.name} is kind {config.kind}: it runs inside execution")


def load_credentials(venue: str, keys_dir: Path) -> Credentials | None:
    """The stored credentials of `venue`, or None when there are none (a file that others
    can read is still refused)."""
    try:
        return CredentialStore(keys_dir).load(venue)
    except NotFound:
        return None
