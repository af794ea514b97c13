"""The execution engine over a real journal file and the paper broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bifrost.clock import SimulatedClock
from bifrost.errors import BadRequest, Conflict, NotFound
from bifrost.execution.broker import PaperBroker
from bifrost.execution.engine import ExecutionEngine
from bifrost.model.commands import ReplaceOrder, SubmitOrder
from bifrost.model.market import Quote, Side
from bifrost.model.orders import Fill
from bifrost.store.database import open_store
from bifrost.store.orders import OrderJournal
from bifrost.store.schema import EXECUTION

T0 = 1_700_000_000_000_000_000


class Sink:
    """Collects published events in order (the engine's publish callable)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any], str]] = []

    def __call__(self, kind: str, body: dict[str, Any], cid: str) -> None:
        self.events.append((kind, body, cid))

    def kinds(self) -> list[str]:
        return [f"{k}:{b.get('status', 'fill')}" for k, b, _ in self.events]


def make_engine(path: Path, clock: SimulatedClock) -> tuple[ExecutionEngine, Sink]:
    sink = Sink()
    journal = OrderJournal(open_store(path, migrations=EXECUTION), path.with_suffix(".wal"))
    return ExecutionEngine(journal, PaperBroker(), clock, sink), sink


def quote(bid: float, ask: float, ts: int, size: float = 500) -> Quote:
    return Quote("AAPL", bid, ask, size, size, ts)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def engine(tmp_path: Path, clock: SimulatedClock) -> tuple[ExecutionEngine, Sink]:
    return make_engine(tmp_path / "execution.duckdb", clock)


def spec(quantity: float = 100, **extra: Any) -> dict[str, Any]:
    return {"client_order_id": "t1", "symbol": "AAPL", "side": "BUY", "quantity": quantity, **extra}


def buy(quantity: float = 100, **extra: Any) -> SubmitOrder:
    return SubmitOrder.from_wire(spec(quantity, **extra))


def test_market_order_fills_at_once_against_last_quote(engine) -> None:
    eng, sink = engine
    eng.on_quote(quote(99.98, 100.02, T0))
    order = eng.submit(buy(client_order_id="a1"), "cid-a")
    assert (order["status"], order["filled"], order["avg_price"]) == ("FILLED", 100, 100.02)
    assert sink.kinds() == ["order:SUBMITTED", "order:ACCEPTED", "fill:fill", "order:FILLED"]
    assert {cid for _, _, cid in sink.events} == {"cid-a"}
    statuses = [e["status"] for e in eng.journal.events("a1")]
    assert statuses == ["SUBMITTED", "ACCEPTED", "FILLED"]
    assert [f["price"] for f in eng.journal.fills()] == [100.02]


def test_market_order_larger_than_ask_size_fills_in_parts(engine, clock) -> None:
    eng, _ = engine
    eng.on_quote(quote(99.98, 100.02, T0, size=60))
    order = eng.submit(buy(100, client_order_id="p1"), "c")
    assert (order["status"], order["filled"]) == ("PARTIALLY_FILLED", 60)
    clock.advance_by(1000)
    eng.on_quote(quote(99.99, 100.03, clock.now_ns(), size=60))
    (row,) = eng.journal.orders()
    assert (row["status"], row["filled"]) == ("FILLED", 100)
    assert [f["quantity"] for f in eng.journal.fills()] == [40, 60]


def test_limit_order_rests_until_a_quote_crosses_it(engine, clock) -> None:
    eng, _ = engine
    eng.on_quote(quote(99.98, 100.02, T0))
    order = eng.submit(buy(type="LIMIT", limit_price=99.5, client_order_id="l1"), "c")
    assert order["status"] == "ACCEPTED"
    clock.advance_by(1000)
    eng.on_quote(quote(99.40, 99.45, clock.now_ns()))
    (fill,) = eng.journal.fills()
    assert (fill["client_order_id"], fill["price"]) == ("l1", 99.45)


def test_retry_with_same_client_id_returns_the_same_order(engine) -> None:
    eng, sink = engine
    eng.on_quote(quote(99.98, 100.02, T0))
    first = eng.submit(buy(client_order_id="r1"), "c1")
    count = len(sink.events)
    again = eng.submit(buy(client_order_id="r1"), "c2")
    assert again == first
    assert len(sink.events) == count
    assert len(eng.journal.fills()) == 1


def test_other_order_with_used_client_id_is_conflict(engine) -> None:
    eng, _ = engine
    eng.submit(buy(client_order_id="r2", type="LIMIT", limit_price=90.0), "c")
    with pytest.raises(Conflict, match="r2"):
        eng.submit(buy(200, client_order_id="r2", type="LIMIT", limit_price=90.0), "c")


def test_fill_with_a_seen_trade_id_is_applied_once(engine) -> None:
    eng, _ = engine
    eng.on_quote(quote(99.98, 100.02, T0))
    eng.submit(buy(client_order_id="d1"), "c")
    (stored,) = eng.journal.fills()
    replay = Fill("d1", "AAPL", Side.BUY, 100, 100.02, 0.0, T0, stored["trade_id"])
    eng.broker.on_fill(replay)
    eng.flush()
    assert len(eng.journal.fills()) == 1
    assert eng.duplicate_fills == 1


def test_restart_recovers_open_orders_and_fills_them_later(tmp_path, clock) -> None:
    path = tmp_path / "execution.duckdb"
    first, _ = make_engine(path, clock)
    first.submit(buy(client_order_id="g1", type="LIMIT", limit_price=99.0), "trace-g")
    first.journal.db.close()  # a crash: the log is not fed to DuckDB first
    first.journal.log.close()
    second, sink = make_engine(path, clock)
    assert second.recover() == 1
    clock.advance_by(1000)
    second.on_quote(quote(98.90, 98.95, clock.now_ns()))
    (row,) = second.journal.orders()
    assert (row["status"], row["filled"]) == ("FILLED", 100)
    assert [cid for _, _, cid in sink.events] == ["trace-g", "trace-g"]


def test_cancel_and_replace(engine) -> None:
    eng, _ = engine
    eng.submit(buy(client_order_id="x1", type="LIMIT", limit_price=90.0), "c")
    replaced = eng.replace(
        ReplaceOrder.new("x1", new_client_order_id="x1.r", limit_price=91.0), "c"
    )
    assert (replaced["client_order_id"], replaced["limit_price"]) == ("x1.r", 91.0)
    assert eng.journal.find("x1")[0].status.value == "CANCELED"
    canceled = eng.cancel("x1.r", "c")
    assert canceled["status"] == "CANCELED"
    with pytest.raises(NotFound):
        eng.cancel("nope", "c")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"type": "LIMIT", "limit_price": 100.005}, "not on the tick"),
        ({"quantity": 10.5}, "whole number of lots"),
        ({"type": "LIMIT"}, "needs a limit price"),
        ({"side": "SIDEWAYS"}, "SIDEWAYS"),
        ({"tif": "NEVER"}, "NEVER"),
    ],
)
def test_bad_order_is_bad_request_and_journals_nothing(engine, extra, message) -> None:
    eng, sink = engine
    with pytest.raises(BadRequest, match=message):
        eng.submit(SubmitOrder.from_wire({**spec(), **extra}), "c")
    assert eng.journal.orders() == [] and sink.events == []


def test_bracket_entry_fills_then_take_profit_cancels_stop_loss(engine, clock) -> None:
    eng, _ = engine
    eng.on_quote(quote(99.98, 100.02, T0))
    entry = eng.submit(buy(client_order_id="b1", take_profit=101.0, stop_loss=99.0), "c")
    assert entry["status"] == "FILLED"
    clock.advance_by(1000)
    eng.on_quote(quote(101.05, 101.10, clock.now_ns()))
    states = {o["client_order_id"]: o["status"] for o in eng.journal.orders()}
    assert states == {"b1": "FILLED", "b1-tp": "FILLED", "b1-sl": "CANCELED"}
    (exit_fill,) = [f for f in eng.journal.fills() if f["client_order_id"] == "b1-tp"]
    assert (exit_fill["side"], exit_fill["price"]) == ("SELL", 101.05)


def test_bracket_with_one_leg_is_bad_request(engine) -> None:
    eng, _ = engine
    with pytest.raises(BadRequest, match="both take_profit and stop_loss"):
        eng.submit(buy(client_order_id="b2", take_profit=101.0), "c")
