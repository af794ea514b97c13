"""The compliance service: checks orders after risk, keeps the hash-chained audit trail.

Decisions share one group commit per loop turn (bifrost.bus.group_commit): every
`compliance.check` of the turn is decided and linked into the chain, the chain's new
records go to the write-ahead log with one fdatasync, and only then are the answers
sent and then the decisions published. The trail feeds DuckDB on a timer and before reads.
"""

from __future__ import annotations

from typing import Any

from bifrost.bus import methods, topics
from bifrost.bus.group_commit import GroupCommit
from bifrost.bus.rpc import CallContext, Deferred, Method
from bifrost.bus.schema import Optional, Schema
from bifrost.compliance.audit import AuditTrail, last_body, records_between, verify
from bifrost.compliance.daytrades import DAY_NS, utc_date
from bifrost.compliance.engine import FILL_MEMORY_NS, ComplianceEngine
from bifrost.compliance.report import day_report, parse_day
from bifrost.compliance.rules import (
    describe,
    effective_rules,
    load_overrides,
    rules_dict,
    save_override,
    with_rule,
)
from bifrost.daemon import Daemon
from bifrost.errors import Rejected
from bifrost.model.commands import SUBMIT_FIELDS, SubmitOrder
from bifrost.model.instrument import Instrument
from bifrost.store.schema import COMPLIANCE
from bifrost.telemetry import TRACEPARENT

CHECK = Schema("compliance.check params", SUBMIT_FIELDS)
SET_RULE = Schema("compliance.set_rule params", {"rule": str, "value": object})
REPORT = Schema("compliance.report params", {"date": Optional(str)})
RECONCILE_EVERY_S = 2.0
"""How often the trail is compared with execution's journal (events can be lost)."""
RECONCILE_ORDERS = 1_000
"""Newest orders compared with the trail at each reconciliation."""
FLUSH_EVERY_S = 0.1
"""How long order and fill records may wait to be made durable together (the execution
journal has them too: reconciliation records any a crash lost)."""
APPLY_EVERY_S = 1.0
"""How often the durable records are fed to the `audit` table (reads feed it first too)."""


def order_key(order: dict[str, Any]) -> str:
    """The audit key of one order state: an order passes each (status, filled) once."""
    return f"order:{order['client_order_id']}:{order['status']}:{float(order['filled'])!r}"


class ComplianceDaemon(Daemon):
    """Answers `compliance.check` for risk; records every order event, fill and control."""

    store_file = "compliance.duckdb"
    store_schema = COMPLIANCE

    def setup(self) -> None:
        self.audit = AuditTrail(self.db, self.home / "compliance.wal")
        self.commits = GroupCommit(self.audit.flush, self._announce_decisions)
        self._announcements: list[tuple[dict[str, Any], str, int]] = []
        """Decisions of this turn, published once they are durable."""
        self.overrides = load_overrides(self.db)
        self.calendars = self._instrument_calendars()
        rules = effective_rules(self.config.compliance, self.overrides)
        self.engine = ComplianceEngine(rules, self._calendar)
        self.allowed_ids: set[str] = set()
        self.fills_since_ns = 0
        self._record_config()
        self._restore()
        self._seed_equity()
        self.reconcile()
        self.subscribe("execution", [topics.prefix(topics.ORDER)], self._order)
        self.subscribe("execution", [topics.prefix(topics.FILL)], self._fill)
        risk_events = [topics.prefix(topics.RISK), topics.prefix(topics.ALERT)]
        self.subscribe("risk", risk_events, self._risk)
        self.subscribe("portfolio", [topics.prefix(topics.PNL)], self._pnl)
        self.subscribe("data", [topics.prefix(topics.QUOTE)], self._quote)
        self.every(RECONCILE_EVERY_S, self.reconcile)
        self.every(FLUSH_EVERY_S, self.audit.flush)
        self.every(APPLY_EVERY_S, self.audit.apply_soon)
        self.after_each_turn(self._end_turn)
        for method in (
            Method(methods.COMPLIANCE_CHECK, self.check, CHECK, idempotent=True, role="trader"),
            Method(methods.COMPLIANCE_RULES, self.rules),
            Method(
                methods.COMPLIANCE_SET_RULE,
                self.set_rule,
                SET_RULE,
                idempotent=False,
                role="admin",
            ),
            Method(methods.COMPLIANCE_VERIFY, self.verify),
            Method(methods.COMPLIANCE_REPORT, self.report, REPORT),
        ):
            self.add_method(method)

    # -- start ---------------------------------------------------------------------------

    def _instrument_calendars(self) -> dict[str, str]:
        """Each instrument's trading calendar, from the data service (defaults without it)."""
        if not self.bus.answers("data"):
            return {}
        rows = self.bus.call("data", methods.INSTRUMENTS_LIST, {})["instruments"]
        return {row["symbol"]: row["calendar"] for row in rows}

    def _calendar(self, symbol: str) -> str:
        return self.calendars.get(symbol) or Instrument.default_for(symbol).calendar

    def _record_config(self) -> None:
        """Audit the config's rules when they differ from those of the last start."""
        body = {"path": str(self.config.path), "rules": rules_dict(self.config.compliance)}
        if last_body(self.db, "config") != body:
            self.audit.append("config", "compliance", body, self.clock.now_ns())
            self.audit.flush()

    def _restore(self) -> None:
        """Recent fills (day trades) and today's allowed orders (daily counts) from the trail."""
        now = self.clock.now_ns()
        for record in records_between(self.db, now - FILL_MEMORY_NS, now + 1, ("fill",)):
            fill = record.to_dict()["body"]
            self.engine.on_fill(fill, fill["ts"])
            self.fills_since_ns = max(self.fills_since_ns, fill["ts"])
        day = now // DAY_NS * DAY_NS
        for record in records_between(self.db, day, day + DAY_NS, ("decision",)):
            body = record.to_dict()["body"]
            if body["outcome"] == "allowed":
                key = (day // DAY_NS, body["order"]["symbol"])
                self.engine.orders_today[key] = self.engine.orders_today.get(key, 0) + 1
                if body["order"].get("client_order_id"):
                    self.allowed_ids.add(body["order"]["client_order_id"])

    def _seed_equity(self) -> None:
        """The account's equity and positions now, before the first P&L event."""
        if self.bus.answers("portfolio"):
            self.engine.on_pnl(self.bus.call("portfolio", methods.PORTFOLIO_PNL, {}))

    def reconcile(self) -> int:
        """Record journaled fills and order states the trail lacks (lost events)."""
        if not self.bus.answers("execution"):
            return 0
        recorded = 0
        reply = self.bus.call(
            "execution", methods.FILLS_LIST, {"since_ns": self.fills_since_ns, "limit": 10_000}
        )
        for row in reply["fills"]:
            recorded += self._record_fill({**row, "ts": row["ts_ns"]}, row["cid"], "journal")
        opened = self.bus.call(
            "execution", methods.ORDERS_LIST, {"open_only": True, "limit": 10_000}
        )
        self.engine.resting = {o["client_order_id"]: o for o in opened["orders"]}
        rows = self.bus.call("execution", methods.ORDERS_LIST, {"limit": RECONCILE_ORDERS})[
            "orders"
        ]
        for row in rows:
            if not self.audit.seen(order_key(row)):
                recorded += self._record_journal(row)
        if recorded:
            self.audit.flush()
            self.log.warning("compliance.reconciled", records=recorded)
        return recorded

    def _record_journal(self, row: dict[str, Any]) -> int:
        """Every journaled transition of one order that the trail lacks."""
        reply = self.bus.call(
            "execution", methods.ORDER_EVENTS, {"client_order_id": row["client_order_id"]}
        )
        recorded = 0
        for event in reply["events"]:
            body = {**row, **event}
            key = order_key(body)
            if self.audit.append(
                "order", "execution.journal", body, self.clock.now_ns(), event["cid"], key
            ):
                recorded += 1
        return recorded

    # -- order checks ----------------------------------------------------------------------

    def check(self, params: dict[str, Any], ctx: CallContext) -> Deferred | dict[str, Any]:
        """`compliance.check`: allowed (with any hits) or REJECTED naming the rule; the
        answer leaves once the decision is durable (with the turn's other decisions)."""
        order = SubmitOrder.from_wire(params)
        if order.client_order_id in self.allowed_ids:
            return {"outcome": "allowed", "hits": [], "retry": True}
        now = self.clock.now_ns()
        try:
            hits = self.engine.check(order, now)
        except Rejected as exc:
            self._decide(params, ctx.cid, now, "rejected", exc.details["rule"], exc.message)
            return self.commits.refuse(ctx, exc)
        message = f"{order.symbol} is on the watch list" if hits else ""
        self._decide(params, ctx.cid, now, "allowed", "", message, hits)
        self.allowed_ids.add(order.client_order_id)
        return self.commits.reply(ctx, {"outcome": "allowed", "hits": hits})

    def _decide(
        self,
        order: dict[str, Any],
        cid: str,
        now: int,
        outcome: str,
        rule: str,
        message: str,
        hits: list[str] | None = None,
    ) -> None:
        body = {
            "outcome": outcome,
            "rule": rule,
            "message": message,
            "hits": hits or [],
            "order": order,
        }
        self.audit.append("decision", "compliance", body, now, cid)
        self._announcements.append((body, cid, now))

    def _end_turn(self) -> None:
        if self.commits.waiting:
            self.commits.run()

    def _announce_decisions(self) -> None:
        """The turn's decisions, published once they are on disk and answered."""
        announcements, self._announcements = self._announcements, []
        for body, cid, decided_ns in announcements:
            self._announce(body, cid, decided_ns)

    def _announce(self, body: dict[str, Any], cid: str, decided_ns: int) -> None:
        """Publish a decision and log it, with the time it was taken (`at_ns`: the line
        is written after the answer left, so a trace orders it by the decision)."""
        assert self.publisher is not None
        self.publisher.publish(topics.compliance("decision"), "decision", body, cid)
        outcome, rule, message, hits = body["outcome"], body["rule"], body["message"], body["hits"]
        if outcome == "rejected" or hits:
            kind = "rejected" if outcome == "rejected" else "watch"
            alert = {
                "kind": kind,
                "rule": rule or "watch",
                "message": message,
                "order": body["order"],
            }
            self.publisher.publish(topics.alert("compliance"), kind, alert, cid)
            self.log.warning(
                f"compliance.{kind}", cid, rule=alert["rule"], message=message, at_ns=decided_ns
            )
        else:  # every decision is a hop of the order's trace, a plain allow too
            symbol = body["order"].get("symbol")
            self.log.info("compliance.allowed", cid, symbol=symbol, at_ns=decided_ns)

    # -- rules and reports -------------------------------------------------------------------

    def rules(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`compliance.rules`: the rules in force and which an admin changed."""
        return describe(self.config.compliance, self.overrides)

    def set_rule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`compliance.set_rule` (admin): change one rule, keep it, audit it, announce it."""
        name = params["rule"]
        rules = with_rule(self.engine.rules, name, params["value"])
        old, new = rules_dict(self.engine.rules)[name], rules_dict(rules)[name]
        self.engine.rules = rules
        save_override(self.db, name, new)
        self.overrides[name] = new
        body = {"rule": name, "old": old, "new": new}
        self.audit.append("rule", "compliance", body, self.clock.now_ns(), ctx.cid)
        self.audit.flush()
        assert self.publisher is not None
        self.publisher.publish(topics.compliance("rule"), "rule", body, ctx.cid)
        self.log.info("compliance.rule_changed", ctx.cid, rule=name, old=old, new=new)
        return self.rules({}, ctx)

    def report(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`compliance.report`: one UTC day's records and rule hits (today by default)."""
        text = params.get("date")
        day = parse_day(text) if text else utc_date(self.clock.now_ns())
        self.audit.sync()
        return day_report(self.db, day)

    def verify(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`compliance.verify`: re-walk the whole chain on disk."""
        self.audit.sync()
        return verify(self.db)

    # -- the bus ------------------------------------------------------------------------------

    def _order(self, event: Any) -> None:
        self.engine.on_order(event.body)
        self.audit.append(
            "order", "execution", event.body, self.clock.now_ns(), event.cid, order_key(event.body)
        )

    def _fill(self, event: Any) -> None:
        # The trail keeps the fill as execution journals it; the trace context it may
        # carry belongs to the telemetry, not to the record.
        fill = {key: value for key, value in event.body.items() if key != TRACEPARENT}
        self._record_fill(fill, event.cid, "")

    def _record_fill(self, fill: dict[str, Any], cid: str, via: str) -> int:
        self.engine.on_fill(fill, fill["ts"])
        self.fills_since_ns = max(self.fills_since_ns, fill["ts"])
        source = f"execution.{via}" if via else "execution"
        key = f"fill:{fill['trade_id']}"
        return 1 if self.audit.append("fill", source, fill, self.clock.now_ns(), cid, key) else 0

    def _risk(self, event: Any) -> None:
        key = f"{event.topic}:{event.ts}"  # a replayed snapshot value keeps its ts
        now = self.clock.now_ns()
        if self.audit.append(f"risk.{event.type}", "risk", event.body, now, event.cid, key):
            self.audit.flush()  # risk keeps no journal to reconcile these from

    def _pnl(self, event: Any) -> None:
        self.engine.on_pnl(event.body)

    def _quote(self, event: Any) -> None:
        body = event.body
        self.engine.on_quote(body["symbol"], (body["bid"] + body["ask"]) / 2)

    def details(self) -> dict[str, Any]:
        """Audit records and resting orders, shown by `health`."""
        return {"audit_records": self.audit.last_id, "resting_orders": len(self.engine.resting)}

    def on_stop(self) -> None:
        """Make the waiting audit records durable and feed them to the table, before the
        store is closed."""
        self.audit.close()
