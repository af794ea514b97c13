"""Hypothesis drives the execution engine over a real journal file: submits (market and
limit, new client ids, retries and clashing reuses), cancels, quotes and restarts.

After every step the journal must tell a consistent story: each order's transitions
are legal moves of the state machine table, ending in its current status; each client
id has one order row; no order is filled beyond its quantity; its fills add up to its
`filled`; no trade id appears twice, and every journaled change was published once, in
order; and the orders the journal calls open are exactly those the broker holds, with
the same progress (also right after a restart and `recover()`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bifrost.clock import SimulatedClock
from bifrost.errors import Conflict, NotFound
from bifrost.execution.broker import PaperBroker
from bifrost.execution.engine import ExecutionEngine
from bifrost.model.commands import SubmitOrder
from bifrost.model.market import Quote
from bifrost.model.orders import TRANSITIONS, OrderStatus
from bifrost.store.database import open_store
from bifrost.store.orders import OPEN, OrderJournal
from bifrost.store.schema import EXECUTION

T0 = 1_700_000_000_000_000_000
STEP_NS = 1_000_000
SYMBOLS = ("AAPL", "MSFT")
CLIENT_IDS = tuple(f"c{i}" for i in range(8))
MANY = 100_000


def order_request(symbol: str, side: str, quantity: int, limit_cents: int | None) -> dict:
    """A market order, or a limit order at a price in cents around 100."""
    return {
        "symbol": symbol,
        "side": side,
        "quantity": float(quantity),
        "type": "MARKET" if limit_cents is None else "LIMIT",
        "limit_price": None if limit_cents is None else limit_cents / 100,
    }


requests = st.builds(
    order_request,
    symbol=st.sampled_from(SYMBOLS),
    side=st.sampled_from(["BUY", "SELL"]),
    quantity=st.integers(1, 300),
    limit_cents=st.none() | st.integers(9_800, 10_200),
)


class ExecutionMachine(RuleBasedStateMachine):
    """One journal file in a temp dir, the engine over it, and everything it published."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="bifrost-execution-"))
        self.clock = SimulatedClock(T0)
        self.published: list[tuple[str, dict[str, Any], str]] = []
        self.requests: dict[str, dict[str, Any]] = {}
        self.engine = self._start()
        self.steps_since_restart = 0
        self.read: dict[str, Any] = {}
        """Journal reads of the current step, shared by the invariants (DuckDB reads are
        the slow part of a step); every rule clears it."""

    def _start(self) -> ExecutionEngine:
        journal = OrderJournal(
            open_store(self.directory / "execution.duckdb", migrations=EXECUTION),
            self.directory / "execution.wal",
        )
        return ExecutionEngine(journal, PaperBroker(), self.clock, self._publish)

    def _publish(self, kind: str, body: dict[str, Any], cid: str) -> None:
        self.published.append((kind, body, cid))

    def _step(self) -> None:
        self.clock.advance_by(STEP_NS)
        self.steps_since_restart += 1
        self.read.clear()

    def teardown(self) -> None:
        self.engine.journal.db.close()
        self.engine.journal.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- rules --------------------------------------------------------------------------

    @rule(client_id=st.sampled_from(CLIENT_IDS), request=requests, retry=st.booleans())
    def submit(self, client_id: str, request: dict[str, Any], retry: bool) -> None:
        self._step()
        first = self.requests.get(client_id)
        if first is not None and retry:
            request = first
        count = len(self.published)
        if first is not None and request != first:
            with pytest.raises(Conflict, match=client_id):
                self.engine.submit(
                    SubmitOrder.from_wire({**request, "client_order_id": client_id}), "cid-submit"
                )
            assert len(self.published) == count
            return
        reply = self.engine.submit(
            SubmitOrder.from_wire({**request, "client_order_id": client_id}), "cid-submit"
        )
        if first is None:
            self.requests[client_id] = request
            return
        stored = self.engine.journal.find(client_id)
        assert stored is not None
        assert reply == stored[0].to_dict()
        assert len(self.published) == count  # a retry enters nothing and publishes nothing

    @rule(client_id=st.sampled_from(CLIENT_IDS))
    def cancel(self, client_id: str) -> None:
        self._step()
        if client_id not in self.requests:
            with pytest.raises(NotFound):
                self.engine.cancel(client_id, "cid-cancel")
            return
        assert self.engine.cancel(client_id, "cid-cancel")["status"] not in OPEN

    @rule(
        symbol=st.sampled_from(SYMBOLS),
        mid_cents=st.integers(9_800, 10_200),
        half_spread_cents=st.integers(1, 10),
        bid_size=st.integers(1, 200),
        ask_size=st.integers(1, 200),
    )
    def quote(
        self, symbol: str, mid_cents: int, half_spread_cents: int, bid_size: int, ask_size: int
    ) -> None:
        self._step()
        bid, ask = (mid_cents - half_spread_cents) / 100, (mid_cents + half_spread_cents) / 100
        self.engine.on_quote(Quote(symbol, bid, ask, bid_size, ask_size, self.clock.now_ns()))

    @precondition(lambda self: self.steps_since_restart >= 2)  # back-to-back ones add nothing
    @rule()
    def restart(self) -> None:
        self.steps_since_restart = 0
        self.read.clear()
        still_open = self.engine.journal.orders(open_only=True, limit=MANY)
        self.engine.journal.db.close()
        self.engine.journal.log.close()
        self.engine = self._start()
        assert self.engine.recover() == len(still_open)

    # -- invariants ---------------------------------------------------------------------

    def orders(self) -> list[dict[str, Any]]:
        if "orders" not in self.read:
            self.read["orders"] = self.engine.journal.orders(limit=MANY)
        return self.read["orders"]

    def fills(self) -> list[dict[str, Any]]:
        if "fills" not in self.read:
            self.read["fills"] = self.engine.journal.fills(limit=MANY)
        return self.read["fills"]

    def statuses(self, client_order_id: str) -> list[str]:
        """The journaled status sequence of one order, oldest first."""
        key = f"events:{client_order_id}"
        if key not in self.read:
            events = self.engine.journal.events(client_order_id)
            self.read[key] = [e["status"] for e in events]
        return self.read[key]

    @invariant()
    def journaled_transitions_are_legal_and_end_in_the_current_status(self) -> None:
        for row in self.orders():
            statuses = [OrderStatus(s) for s in self.statuses(row["client_order_id"])]
            for before, after in pairwise([OrderStatus.NEW, *statuses]):  # NEW is never journaled
                assert after in TRANSITIONS[before], (row["client_order_id"], statuses)
            assert statuses[-1] == row["status"]

    @invariant()
    def each_client_id_has_one_journal_row(self) -> None:
        client_ids = [row["client_order_id"] for row in self.orders()]
        assert sorted(client_ids) == sorted(self.requests)

    @invariant()
    def filled_never_exceeds_quantity(self) -> None:
        for row in self.orders():
            assert 0 <= row["filled"] <= row["quantity"]

    @invariant()
    def fills_of_an_order_add_up_to_its_filled(self) -> None:
        filled: dict[str, float] = defaultdict(float)
        for fill in self.fills():
            filled[fill["client_order_id"]] += fill["quantity"]
        for row in self.orders():
            assert filled[row["client_order_id"]] == row["filled"]

    @invariant()
    def no_trade_id_is_journaled_or_published_twice(self) -> None:
        journaled = [f["trade_id"] for f in self.fills()]
        published = [body["trade_id"] for kind, body, _ in self.published if kind == "fill"]
        assert len(journaled) == len(set(journaled))
        assert sorted(published) == sorted(journaled)

    @invariant()
    def every_journaled_transition_was_published_in_order(self) -> None:
        published: dict[str, list[str]] = defaultdict(list)
        for kind, body, _ in self.published:
            if kind == "order":
                published[body["client_order_id"]].append(body["status"])
        for row in self.orders():
            client_order_id = row["client_order_id"]
            assert published[client_order_id] == self.statuses(client_order_id)

    @invariant()
    def journal_open_orders_are_the_ones_the_broker_holds(self) -> None:
        journaled = {
            order.client_order_id: (order.status, order.filled)
            for order, _ in self.engine.journal.open_orders()
        }
        held = {o.client_order_id: (o.status, o.filled) for o in self.engine.broker.open_orders()}
        assert journaled == held


def test_execution_engine_any_order_flow_with_restarts_keeps_a_consistent_journal() -> None:
    run_state_machine_as_test(
        ExecutionMachine,
        settings=settings(max_examples=30, stateful_step_count=25, deadline=None),
    )
