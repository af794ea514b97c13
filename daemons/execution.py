"""The execution service: journals orders in execution.duckdb and sends them to their venue.

Each order goes to its venue (bifrost.execution.venue_links): the paper broker in this
process, or a real venue through its session; real venues are reconciled at start,
after every reconnect and on a schedule.

Order changes of one loop turn share one group commit (bifrost.bus.group_commit): every
request and quote of the turn changes the book, the turn's journal rows go to the
write-ahead log with one fdatasync, and only then are the replies sent and then the
events published. The journal feeds DuckDB on a timer and before any read.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import Any

from bifrost.bus import methods, topics
from bifrost.bus.group_commit import GroupCommit
from bifrost.bus.rpc import CallContext, Deferred, Method
from bifrost.bus.schema import Optional, Schema
from bifrost.daemon import Daemon
from bifrost.errors import BifrostError
from bifrost.execution.engine import ExecutionEngine
from bifrost.execution.venue_links import VenueLinks
from bifrost.model.commands import (
    CANCEL_ALL_PARAMS,
    CANCEL_PARAMS,
    REPLACE_PARAMS,
    SUBMIT_PARAMS,
    CancelOrder,
    ReplaceOrder,
    SubmitOrder,
)
from bifrost.model.instrument import Instrument
from bifrost.model.market import Quote
from bifrost.model.orders import OrderStatus, OrderType
from bifrost.store.orders import OrderJournal
from bifrost.store.schema import EXECUTION
from bifrost.telemetry import TRACEPARENT

ONE_ORDER = Schema("order.get params", {"client_order_id": str})
LIST = Schema("orders.list params", {"open_only": Optional(bool), "limit": Optional(int)})
FILLS = Schema("fills.list params", {"limit": Optional(int), "since_ns": Optional(int)})
EVENTS = Schema("order.events params", {"client_order_id": Optional(str), "cid": Optional(str)})
VENUE_ANSWER_WAIT_S = 2.0
"""How long a submit to a real venue waits for the venue's first answer (risk gives
execution 3 s)."""
APPLY_EVERY_S = 1.0
"""How often the journal's durable rows are fed to DuckDB (reads feed it first too)."""
ORDER_TRACES_KEPT = 10_000
"""Trace contexts of the latest order entries kept for their fills, when tracing is on."""


class ExecutionDaemon(Daemon):
    """Order entry over RPC; quotes from the data service drive the paper fills."""

    store_file = "execution.duckdb"
    store_schema = EXECUTION

    def setup(self) -> None:
        self.instruments = self._instruments()
        self.journal = OrderJournal(self.db, self.home / "execution.wal")
        self.venues = VenueLinks(
            self.config.venues,
            self.config.keys_dir(self.home),
            self.journal,
            self.clock,
            self.hand_over,
            self._venue_difference,
            self._venue_state,
            self._instrument,
        )
        self.broker = self.venues.router
        self.engine = ExecutionEngine(
            self.journal,
            self.broker,
            self.clock,
            self._publish,
            self._instrument,
            group_commit=True,
        )
        self.commits = GroupCommit(self.engine.commit, self.engine.announce)
        self.after_each_turn(self.commits.run)
        self.every(APPLY_EVERY_S, self.journal.apply_soon)
        recovered = self.engine.recover()
        self.log.info("execution.recovered", open_orders=recovered)
        self.awaiting_venue: dict[str, tuple[Deferred, float]] = {}
        self.order_traces: OrderedDict[str, str] = OrderedDict()
        """cid -> the traceparent its order was entered (or replaced) under."""
        self.venues.start()
        for name, reconciler in self.venues.reconcilers.items():
            self.every(self.config.venues[name].reconcile_seconds, reconciler.run)
        if self.venues.remote:
            self.every(1.0, self.venues.catch_up_due)
            self.every(0.1, self._venue_silent)
        self.subscribe("data", [topics.prefix(topics.QUOTE)], self._quote)
        # Orders change only on risk's word (DESIGN, second stage): these four accept
        # risk's identity alone (bifrost.bus.service_auth); everyone else is FORBIDDEN.
        for method in (
            Method(methods.ORDER_SUBMIT, self.submit, SUBMIT_PARAMS, role="trader", caller="risk"),
            Method(methods.ORDER_CANCEL, self.cancel, CANCEL_PARAMS, role="trader", caller="risk"),
            Method(
                methods.ORDER_REPLACE,
                self.replace,
                REPLACE_PARAMS,
                idempotent=False,
                role="trader",
                caller="risk",
            ),
            Method(
                methods.ORDERS_CANCEL_ALL,
                self.cancel_all,
                CANCEL_ALL_PARAMS,
                role="admin",
                caller="risk",
            ),
            Method(methods.ORDER_GET, self.get_order, ONE_ORDER),
            Method(methods.ORDERS_LIST, self.list_orders, LIST),
            Method(methods.FILLS_LIST, self.list_fills, FILLS),
            Method(methods.ORDER_EVENTS, self.order_events, EVENTS),
            Method(methods.VENUES_STATUS, lambda p, c: {"venues": self.venues.describe()}),
            Method(
                methods.VENUES_RECONCILE,
                self.reconcile,
                idempotent=False,
                role="trader",
            ),
        ):
            self.add_method(method)

    def _instruments(self) -> dict[str, Instrument]:
        """Instruments from the data service, for tick and lot checks (defaults without it)."""
        try:
            reply = self.bus.call("data", methods.INSTRUMENTS_LIST, timeout_ms=1000)
            rows = reply["instruments"]
        except BifrostError:
            return {}
        return {row["symbol"]: Instrument.from_dict(row) for row in rows}

    def _instrument(self, symbol: str) -> Instrument:
        return self.instruments.get(symbol) or Instrument.default_for(symbol)

    def _publish(self, kind: str, body: dict[str, Any], cid: str) -> None:
        assert self.publisher is not None
        venue = self.venues.venue_of(body["symbol"])
        topic = topics.order(venue) if kind == "order" else topics.fill(venue)
        if kind == "fill" and self.tracing is not None:
            # The fill is the order's next hop: a span in its trace, which the fill carries
            # on to the services that book it.
            parent = self.order_traces.get(cid)
            with self.tracing.producing("order.fill", topic, parent, cid, body) as traceparent:
                self.publisher.publish(topic, kind, {**body, TRACEPARENT: traceparent}, cid)
        else:
            self.publisher.publish(topic, kind, body, cid)
        if kind == "order" and self.awaiting_venue:
            self._venue_answered(body)
        self.log.info(
            f"{kind}.{body.get('status', 'filled').lower()}",
            cid,
            order=body["client_order_id"],
            symbol=body["symbol"],
        )

    def _quote(self, event: Any) -> None:
        body = event.body
        self.engine.on_quote(
            Quote(
                body["symbol"],
                body["bid"],
                body["ask"],
                body["bid_size"],
                body["ask_size"],
                body["ts"],
            )
        )

    def submit(self, params: dict[str, Any], ctx: CallContext) -> Deferred:
        """`order.submit`: enter an order (idempotent by client_order_id). An order for a
        real venue is answered when the venue first answers (accepted, filled or
        rejected with its reason), or as SUBMITTED after VENUE_ANSWER_WAIT_S."""
        command = SubmitOrder.from_wire(params)
        self._remember_trace(ctx.cid)
        if self.venues.venue_of(command.symbol) not in self.venues.remote:
            return self._after_commit(ctx, self.engine.submit, command)
        try:
            result = self.engine.submit(command, ctx.cid)
        except BifrostError as exc:
            return self.commits.refuse(ctx, exc)
        if result["status"] != OrderStatus.SUBMITTED:
            return self.commits.reply(ctx, result)
        deferred = ctx.defer()
        deadline = time.monotonic() + VENUE_ANSWER_WAIT_S
        self.awaiting_venue[command.client_order_id] = (deferred, deadline)
        return deferred

    def _remember_trace(self, cid: str) -> None:
        """Keep the current span's traceparent under `cid`, for the fills to come."""
        if self.tracing is None or not cid:
            return
        traceparent = self.tracing.current_traceparent()
        if traceparent is not None:
            self.order_traces[cid] = traceparent
            self.order_traces.move_to_end(cid)
            if len(self.order_traces) > ORDER_TRACES_KEPT:
                self.order_traces.popitem(last=False)

    def _venue_answered(self, body: dict[str, Any]) -> None:
        """An order event: answer the submit that waits for the venue's word on it."""
        waiting = self.awaiting_venue.get(body["client_order_id"])
        if waiting is None or body["status"] == OrderStatus.SUBMITTED:
            return
        if body["type"] == OrderType.MARKET and body["status"] in (
            OrderStatus.ACCEPTED,
            OrderStatus.PARTIALLY_FILLED,
        ):
            return  # a market order is answered filled, as at the paper venue
        del self.awaiting_venue[body["client_order_id"]]
        waiting[0].resolve(body)

    def _venue_silent(self) -> None:
        """Timer: answer submits whose venue said nothing in time with the order as it
        stands (SUBMITTED, durable; its later changes come as events)."""
        now = time.monotonic()
        for client_order_id, (deferred, deadline) in list(self.awaiting_venue.items()):
            if now >= deadline:
                del self.awaiting_venue[client_order_id]
                deferred.resolve(self.engine.live_order(client_order_id).to_dict())

    def cancel(self, params: dict[str, Any], ctx: CallContext) -> Deferred:
        """`order.cancel`."""
        command = CancelOrder.from_wire(params)
        return self._after_commit(ctx, self.engine.cancel, command.client_order_id)

    def replace(self, params: dict[str, Any], ctx: CallContext) -> Deferred:
        """`order.replace`: cancel and re-enter with changes."""
        self._remember_trace(ctx.cid)
        return self._after_commit(ctx, self.engine.replace, ReplaceOrder.from_wire(params))

    def cancel_all(self, params: dict[str, Any], ctx: CallContext) -> Deferred:
        """`orders.cancel_all`: the kill switch's arm here."""
        return self._after_commit(
            ctx, lambda cid: {"canceled": self.engine.cancel_all(cid, params.get("strategy_id"))}
        )

    def _after_commit(self, ctx: CallContext, change: Any, *args: Any) -> Deferred:
        """Run one order change now; its reply (or refusal) leaves after the turn's commit."""
        try:
            result = change(*args, ctx.cid)
        except BifrostError as exc:
            return self.commits.refuse(ctx, exc)
        return self.commits.reply(ctx, result)

    def get_order(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`order.get`: one order as it stands now (NOT_FOUND when there is none)."""
        return self.engine.live_order(params["client_order_id"]).to_dict()

    def list_orders(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`orders.list`."""
        return {
            "orders": self.engine.journal.orders(
                bool(params.get("open_only")), params.get("limit") or 200
            )
        }

    def list_fills(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`fills.list`."""
        limit = params.get("limit") or 200
        return {"fills": self.engine.journal.fills(limit, params.get("since_ns"))}

    def order_events(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`order.events`: the journal of one order, or of a correlation id."""
        return {
            "events": self.engine.journal.events(params.get("client_order_id"), params.get("cid"))
        }

    def _venue_state(self, venue: str, state: str, reason: str) -> None:
        """A venue went up or down: log it and say it on `alert.venue`."""
        assert self.publisher is not None
        body = {"venue": venue, "state": state, "reason": reason}
        self.publisher.publish(topics.alert("venue"), "venue_state", body)
        level = self.log.info if state == "up" else self.log.warning
        level("venue.state", venue=venue, state=state, reason=reason)

    def _venue_difference(
        self, venue: str, kind: str, subject: str, details: dict[str, Any]
    ) -> None:
        """What reconciliation found: an `alert.reconcile` event and a `venue_audit` row."""
        assert self.publisher is not None
        now = self.clock.now_ns()
        body = {"venue": venue, "kind": kind, "subject": subject, "details": details, "ts": now}
        self.publisher.publish(topics.alert("reconcile"), "reconcile", body)
        self.log.warning("venue.difference", venue=venue, kind=kind, subject=subject)
        self.db.cursor().execute(
            "INSERT INTO venue_audit VALUES (?, ?, ?, ?, ?)",
            [now, venue, kind, subject, json.dumps(details, default=str)],
        )

    def reconcile(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`venues.reconcile`: reconcile every real venue now (results on `alert.reconcile`)."""
        self.venues.reconcile_all()
        return {"venues": sorted(self.venues.remote)}

    def details(self) -> dict[str, Any]:
        """Open orders, fills and venues, shown by `health`."""
        return {
            "venues": {
                name: {"state": v["state"], "reason": v.get("reason", ""), "kind": v["kind"]}
                for name, v in self.venues.describe().items()
            },
            "open_orders": len(self.broker.open_orders()),
            "fills": self.engine.fills_applied,
            "duplicate_fills": self.engine.duplicate_fills,
            "group_commits": self.commits.groups,
            "largest_group": self.commits.largest,
        }

    def on_stop(self) -> None:
        """Stop the venues' threads, then feed DuckDB the journal's last rows and empty its
        log, before the store closes."""
        self.venues.close()
        self.journal.close()
