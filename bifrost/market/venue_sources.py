"""Live data from venues: each `[feed] sources` venue streams its symbols into the data service.

Each source venue runs in its own VenueSession. At start its instruments (of the
symbols it lists, or all it has when it lists none) are stored in the catalog with
their tick, lot and minimum sizes. Its quotes, trades and books are published like the
synthetic feed's, on the same topics with the publisher's sequence numbers.

When a source's stream drops, a gap opens for each of its symbols: an `alert.data`
event says so at once, and nothing is published for those symbols until real data
comes back, so no price is made up. The first event after the reconnect closes the
gap: a row per symbol goes to the `gaps` table, with the gap's start, end and reason,
and a second `alert.data` event says the source is back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bifrost.clock import Clock
from bifrost.errors import BifrostError
from bifrost.market.catalog import MarketCatalog
from bifrost.model.instrument import Instrument
from bifrost.venues.config import VenueConfig
from bifrost.venues.contract import MarketEvent
from bifrost.venues.registry import open_venue
from bifrost.venues.session import DOWN, Deliver, VenueSession


class VenueSources:
    """The venue streams of the data service (see the module doc)."""

    def __init__(
        self,
        venues: dict[str, VenueConfig],
        keys_dir: Path,
        deliver: Deliver,
        publish: Callable[[Sequence[MarketEvent]], None],
        alert: Callable[[dict[str, Any]], None],
        catalog: MarketCatalog,
        clock: Clock,
    ) -> None:
        self.venues = venues
        self.publish = publish
        self.alert = alert
        self.catalog = catalog
        self.clock = clock
        self.sessions: dict[str, VenueSession] = {}
        self.open_gaps: dict[str, tuple[int, str]] = {}
        """Source -> (since when, why) while its stream is down."""
        self.gaps_recorded = 0
        for name, config in venues.items():
            session = VenueSession(
                open_venue(config, keys_dir),
                deliver,
                functools.partial(self._state, name),
            )
            self.sessions[name] = session
            session.request(
                lambda venue: venue.instruments(),
                functools.partial(self._instruments, name),
            )
            session.stream_market(
                list(config.symbols),
                functools.partial(self._events, name),
                lambda: None,
            )

    def _instruments(
        self, source: str, found: list[Instrument] | None, error: BifrostError | None
    ) -> None:
        if found is None:
            self.alert(
                {
                    "source": source,
                    "state": "instruments_failed",
                    "reason": error.message if error else "no answer",
                }
            )
            return
        wanted = set(self.venues[source].symbols)
        for instrument in found:
            if not wanted or instrument.symbol in wanted:
                self.catalog.add_instrument(instrument)

    def _state(self, source: str, state: str, reason: str) -> None:
        if state != DOWN or source in self.open_gaps:
            return
        since = self.clock.now_ns()
        self.open_gaps[source] = (since, reason)
        self.alert(
            {
                "source": source,
                "state": "gap",
                "since_ns": since,
                "reason": reason,
                "symbols": list(self.venues[source].symbols),
            }
        )

    def _events(self, source: str, events: list[MarketEvent]) -> None:
        if source in self.open_gaps:
            self._close_gap(source)
        self.publish(events)

    def _close_gap(self, source: str) -> None:
        since, reason = self.open_gaps.pop(source)
        now = self.clock.now_ns()
        symbols = list(self.venues[source].symbols)
        self.catalog.connection.executemany(
            "INSERT INTO gaps VALUES (?, ?, ?, ?, ?)",
            [[source, symbol, since, now, reason] for symbol in symbols],
        )
        self.gaps_recorded += len(symbols)
        self.alert(
            {
                "source": source,
                "state": "resumed",
                "since_ns": since,
                "until_ns": now,
                "gap_s": round((now - since) / 1e9, 3),
                "symbols": symbols,
            }
        )

    def describe(self) -> dict[str, Any]:
        """Each source's session and whether a gap is open, for `health`."""
        return {
            name: {**session.describe(), "gap_open": name in self.open_gaps}
            for name, session in self.sessions.items()
        }

    def close(self) -> None:
        """Stop every stream."""
        for session in self.sessions.values():
            session.close()
