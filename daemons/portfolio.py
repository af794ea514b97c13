"""The portfolio service: books fills into the exact-money ledger, marks positions to quotes.

A fill is booked in the ledger in memory and its position published at once; its
entries reach portfolio.duckdb in batches a moment later (`WRITE_EVERY_S`, and at
stop). The execution journal is the durable record of fills: after a crash the
reconciliation at start books again, once each by trade id, whatever the store lacks.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bifrost.bus import methods, topics
from bifrost.bus.rpc import CallContext, Method
from bifrost.bus.schema import Optional, Schema
from bifrost.daemon import Daemon
from bifrost.model.instrument import Instrument
from bifrost.model.money import amount_text, exact_mid, mid_on_tick
from bifrost.portfolio.ledger import Entry, Ledger
from bifrost.store.ledger import append_entries, first_equity_since, load_entries, save_snapshot
from bifrost.store.schema import PORTFOLIO
from bifrost.telemetry import TRACEPARENT

DAY_NS = 86_400_000_000_000
PNL_EVERY_S = 1.0
"""Marks move with every quote; P&L events go out at most this often."""
RECONCILE_EVERY_S = 2.0
"""How often fills are compared with the execution journal (events can be lost in a crash)."""
WRITE_EVERY_S = 1.0
"""How long booked entries may wait to be written to the store together."""
RECONCILE_MARGIN_NS = 60 * 1_000_000_000
"""At start, journaled fills are compared back to this long before the last booked one."""
ACCOUNT = Schema("portfolio params", {"account": Optional(str)})
DEPOSIT = Schema(
    "portfolio.deposit params",
    {"amount": float, "account": Optional(str), "currency": Optional(str)},
)


class PortfolioDaemon(Daemon):
    """Listens to fills and quotes; answers positions and P&L; snapshots equity."""

    store_file = "portfolio.duckdb"
    store_schema = PORTFOLIO

    def setup(self) -> None:
        settings = self.config.portfolio
        self.account = settings.account
        self.instruments = self._instruments()
        self._defaults: dict[str, Instrument] = {}
        self.ledger = Ledger(settings.base_currency, self.instrument)
        for currency, rate in settings.rates.items():
            self.ledger.set_rate(currency, Decimal(str(rate)))
        stored = load_entries(self.db)
        for entry in stored:
            self.ledger.post(entry)
        if not stored:
            entry = self.ledger.deposit(
                self.account, settings.starting_cash, settings.base_currency, self.clock.now_ns()
            )
            append_entries(self.db, [entry])
        self.marks: dict[str, Decimal] = {}
        self.day_start: dict[str, Decimal] = {}
        self.fills_booked = 0
        booked = [entry.ts for entry in stored if entry.trade_id]
        self.reconciled_ns = max(0, max(booked, default=0) - RECONCILE_MARGIN_NS)
        self._unwritten: list[Entry] = []
        self.subscribe("execution", [topics.prefix(topics.FILL)], self._fill)
        self.subscribe("data", [topics.prefix(topics.QUOTE)], self._quote)
        self.every(PNL_EVERY_S, self.publish_pnl)
        self.every(RECONCILE_EVERY_S, self.reconcile)
        self.every(WRITE_EVERY_S, self.write_entries)
        self.tasks["snapshot_equity"] = self.snapshot_equity
        for method in (
            Method(methods.PORTFOLIO_POSITIONS, self.positions, ACCOUNT),
            Method(methods.PORTFOLIO_PNL, self.pnl, ACCOUNT),
            Method(
                methods.PORTFOLIO_DEPOSIT, self.deposit, DEPOSIT, idempotent=False, role="admin"
            ),
        ):
            self.add_method(method)
        self.snapshot_equity()

    def reconcile(self) -> int:
        """Book journaled fills this ledger has not seen (an event lost in a crash)."""
        if not self.bus.answers("execution"):
            return 0
        reply = self.bus.call(
            "execution", methods.FILLS_LIST, {"since_ns": self.reconciled_ns, "limit": 10_000}
        )
        booked = 0
        for row in reply["fills"]:
            fill = {**row, "ts": row["ts_ns"]}
            booked += self._book(fill, row["cid"])
            self.reconciled_ns = max(self.reconciled_ns, row["ts_ns"])
        if booked:
            self.log.warning("portfolio.reconciled", fills=booked)
        return booked

    def _fill(self, event: Any) -> None:
        traceparent = event.body.get(TRACEPARENT)
        if self.tracing is None or type(traceparent) is not str:
            self._book(event.body, event.cid)
            return
        with self.tracing.consuming("fill.book", event.topic, traceparent, event.cid, event.body):
            self._book(event.body, event.cid)

    def _book(self, body: dict[str, Any], cid: str) -> int:
        fill = {**body, "cid": cid}
        known = self.instruments.get(fill["symbol"])
        currency = known.currency if known else self.ledger.base_currency
        entries = self.ledger.apply_fill(fill, self.clock.now_ns(), currency)
        if not entries:
            return 0  # a fill seen before (a replay, a reconciliation): booked once only
        self._unwritten.extend(entries)
        self.fills_booked += 1
        assert self.publisher is not None
        body = {
            "account": fill["account"],
            "symbol": fill["symbol"],
            "position": self.ledger.position_row(fill["account"], fill["symbol"], self.marks),
            "trade_id": fill["trade_id"],
        }
        self.publisher.publish(topics.position(fill["account"]), "position", body, cid)
        self.log.info("portfolio.booked", cid, trade=fill["trade_id"], symbol=fill["symbol"])
        return 1

    def _instruments(self) -> dict[str, Instrument]:
        """Instruments from the data service: currency and tick of each symbol."""
        if not self.bus.answers("data"):
            return {}
        rows = self.bus.call("data", methods.INSTRUMENTS_LIST, {})["instruments"]
        return {row["symbol"]: Instrument.from_dict(row) for row in rows}

    def instrument(self, symbol: str) -> Instrument:
        """The stored instrument of `symbol`, else the defaults for it (made once)."""
        found = self.instruments.get(symbol) or self._defaults.get(symbol)
        if found is None:
            found = self._defaults[symbol] = Instrument.default_for(symbol)
        return found

    def _quote(self, event: Any) -> None:
        """Mark to the quote's mid: Decimal from the floats' text, on the instrument's tick."""
        body = event.body
        symbol = body["symbol"]
        self.marks[symbol] = mid_on_tick(
            body["bid"], body["ask"], self.instrument(symbol).tick_size
        )
        currency, _, quoted_in = symbol.partition("-")
        if quoted_in == self.ledger.base_currency:  # e.g. EUR-USD: the rate of EUR
            self.ledger.set_rate(currency, exact_mid(body["bid"], body["ask"]))

    def pnl_body(self, account: str) -> dict[str, Any]:
        """Equity, realized and unrealized P&L, and P&L since the start of the UTC day."""
        snapshot = self.ledger.snapshot(account, self.marks)
        day = self.clock.now_ns() // DAY_NS * DAY_NS
        start = self.day_start.get(account)
        if start is None:
            start = first_equity_since(self.db, account, day) or Decimal(snapshot["equity"])
            self.day_start[account] = start
        day_pnl = Decimal(snapshot["equity"]) - start
        day_pnl_text = amount_text(day_pnl, self.ledger.base_currency)
        return {**snapshot, "day_pnl": day_pnl_text, "day_start_ns": day}

    def publish_pnl(self) -> None:
        """Timer: publish the account's P&L (marks move with every quote)."""
        assert self.publisher is not None
        self.publisher.publish(topics.pnl(self.account), "pnl", self.pnl_body(self.account))

    def snapshot_equity(self) -> dict[str, Any]:
        """Scheduled task (and at start): store an equity snapshot of the account."""
        snapshot = self.ledger.snapshot(self.account, self.marks)
        save_snapshot(self.db, self.clock.now_ns(), snapshot)
        return {"account": self.account, "equity": snapshot["equity"]}

    def positions(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`portfolio.positions`."""
        account = params.get("account") or self.account
        return {
            "account": account,
            "positions": self.ledger.snapshot(account, self.marks)["positions"],
        }

    def pnl(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`portfolio.pnl`."""
        return self.pnl_body(params.get("account") or self.account)

    def deposit(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`portfolio.deposit`: move cash in or out of an account."""
        account = params.get("account") or self.account
        currency = params.get("currency") or self.ledger.base_currency
        entry = self.ledger.deposit(account, params["amount"], currency, self.clock.now_ns())
        self._unwritten.append(entry)
        self.write_entries()  # a deposit is stored before it is confirmed
        return self.ledger.snapshot(account, self.marks)

    def write_entries(self) -> int:
        """Timer: write the booked entries the store lacks, in one transaction."""
        entries, self._unwritten = self._unwritten, []
        try:
            append_entries(self.db, entries)
        except Exception:
            self._unwritten = entries + self._unwritten  # kept for the next try
            raise
        return len(entries)

    def details(self) -> dict[str, Any]:
        """Fills booked, shown by `health`."""
        return {"account": self.account, "fills_booked": self.fills_booked}

    def on_stop(self) -> None:
        """Write what is booked and a last equity snapshot, before the store is closed."""
        self.write_entries()
        self.snapshot_equity()
