"""The execution service's links to its venues: a broker per configured venue.

The paper venue is a PaperBroker in this process. Every other venue is opened by kind
(bifrost.venues.registry), run by a VenueSession on its own threads, traded through a
VenueBroker and reconciled by a Reconciler; its order stream starts once the journal's
open orders are back, and each reconnect of the stream is followed by a reconciliation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bifrost.clock import Clock
from bifrost.execution.broker import Broker, PaperBroker
from bifrost.execution.reconcile import Reconciler, Report
from bifrost.execution.router import BrokerRouter
from bifrost.execution.venue_broker import VenueBroker
from bifrost.model.instrument import Instrument
from bifrost.store.orders import OrderJournal
from bifrost.venues.config import PAPER, VenueConfig, venue_for
from bifrost.venues.registry import open_venue
from bifrost.venues.session import Deliver, VenueSession


class VenueLinks:
    """Builds and holds the brokers, sessions and reconcilers of the configured venues."""

    def __init__(
        self,
        venues: dict[str, VenueConfig],
        keys_dir: Path,
        journal: OrderJournal,
        clock: Clock,
        deliver: Deliver,
        report: Callable[[str, str, str, dict[str, Any]], None],
        on_state: Callable[[str, str, str], None],
        instrument: Callable[[str], Instrument],
    ) -> None:
        self.venues = venues
        self.instrument = instrument
        brokers: dict[str, Broker] = {}
        self.remote: dict[str, VenueBroker] = {}
        self.reconcilers: dict[str, Reconciler] = {}
        for name, config in venues.items():
            if config.kind == PAPER:
                brokers[name] = PaperBroker()
                continue
            session = VenueSession(
                open_venue(config, keys_dir),
                deliver,
                functools.partial(on_state, name),
            )
            broker = VenueBroker(session, journal.has_fill, self._quote_currency)
            brokers[name] = self.remote[name] = broker
            self.reconcilers[name] = Reconciler(
                broker, config, journal, clock, self._reporter(name, report)
            )
        self.router = BrokerRouter(brokers, self.venue_of)

    @staticmethod
    def _reporter(venue: str, report: Callable[[str, str, str, dict[str, Any]], None]) -> Report:
        return lambda kind, subject, details: report(venue, kind, subject, details)

    def venue_of(self, symbol: str) -> str:
        """The venue an order of `symbol` goes to."""
        return venue_for(self.venues, symbol, self.instrument(symbol).venue)

    def _quote_currency(self, symbol: str) -> str:
        """The currency a symbol is priced in: the part after the dash of a pair, else the
        instrument's currency."""
        if "-" in symbol:
            return symbol.rsplit("-", 1)[1]
        return self.instrument(symbol).currency

    def start(self) -> None:
        """Open each venue's order stream and reconcile it once (after recovery)."""
        for name, broker in self.remote.items():
            reconciler = self.reconcilers[name]
            broker.session.stream_orders(broker.apply, reconciler.run)
            reconciler.run()

    def reconcile_all(self) -> None:
        """Start a reconciliation of every venue (one already under way is not doubled)."""
        for reconciler in self.reconcilers.values():
            reconciler.run()

    def catch_up_due(self) -> None:
        """Timer: fetch fills the streams did not bring."""
        for broker in self.remote.values():
            broker.catch_up_due()

    def describe(self) -> dict[str, Any]:
        """Every venue's state and counts, for `health` and `venues status`."""
        described: dict[str, Any] = {}
        for name, config in self.venues.items():
            if name not in self.remote:
                described[name] = {"venue": name, "kind": config.kind, "state": "up"}
                continue
            stats = self.reconcilers[name].stats
            described[name] = {
                **self.remote[name].describe(),
                "sandbox": config.sandbox,
                "symbols": list(config.symbols),
                "reconciliations": stats.runs,
                "reconcile_failures": stats.failed,
                "differences": stats.differences,
                "last_reconcile_ns": stats.last_ns,
                "reconcile_error": stats.last_error,
                "balances": stats.balances,
            }
        return described

    def close(self) -> None:
        """Stop every session's threads."""
        for broker in self.remote.values():
            broker.session.close()
