"""Money as the trading commands print it equals Decimal arithmetic done here.

Fills on the tick grid with fees, marks from float quotes: the ledger's snapshot and the
functions `bifrost positions` and `bifrost pnl` print with agree, digit for digit, with
the books worked out independently below; one example goes through a real portfolio
daemon, real ZeroMQ events and the real CLI.
"""

from __future__ import annotations

import itertools
import json
import time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from bifrost.bus import topics
from bifrost.bus.pubsub import Publisher
from bifrost.config import load_config
from bifrost.model.instrument import Instrument
from bifrost.model.money import mid_on_tick
from bifrost.portfolio.ledger import Ledger
from cli.trading_money import fill_json, order_json, pnl_cells, position_cells
from tests.bifrost.conftest import DaemonThread
from tests.cli.test_stack import bifrost
from tests.conftest import wait_for, write_config

T0 = 1_700_000_000_000_000_000
CENT = Decimal("0.01")
DEPOSIT = Decimal(100_000)
_trade_ids = itertools.count(1)


def cents(value: Decimal) -> str:
    """`value` as a table shows it, worked out here: half-even cents, "," thousands."""
    return f"{value.quantize(CENT, rounding=ROUND_HALF_EVEN):,}"


def fill(side: str, quantity: Decimal, price: Decimal, fee: Decimal) -> dict[str, Any]:
    """A fill as it arrives on the bus: floats."""
    return {
        "trade_id": f"t{next(_trade_ids)}",
        "account": "paper",
        "symbol": "MSFT",
        "side": side,
        "quantity": float(quantity),
        "price": float(price),
        "commission": float(fee),
    }


def pnl_table(snapshot: dict[str, Any]) -> dict[str, str]:
    """The `bifrost pnl` table of a snapshot, as the daemon replies it (with a day P&L)."""
    return {label: value for label, value in pnl_cells({**snapshot, "day_pnl": "0.00"})}


trades = st.lists(
    st.tuples(
        st.sampled_from(["BUY", "SELL"]),
        st.integers(1, 5_000),  # quantity in hundredths of a share
        st.integers(1, 10_000_000),  # price in cents
        st.integers(0, 2_000),  # fee in cents
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(trades=trades, bid_cents=st.integers(1, 10_000_000), spread=st.integers(0, 50))
def test_positions_and_pnl_any_fills_and_mark_print_the_decimal_books(
    trades: list[tuple[str, int, int, int]], bid_cents: int, spread: int
) -> None:
    ledger = Ledger()
    ledger.deposit("paper", float(DEPOSIT), "USD", T0)
    cash, held, fees = DEPOSIT, Decimal(0), Decimal(0)
    for side, quantity_hundredths, price_cents, fee_cents in trades:
        quantity, price = Decimal(quantity_hundredths) / 100, Decimal(price_cents) / 100
        fee = Decimal(fee_cents) / 100
        ledger.apply_fill(fill(side, quantity, price, fee), T0)
        signed = quantity if side == "BUY" else -quantity
        cash -= signed * price + fee
        held += signed
        fees += fee
    bid, ask = Decimal(bid_cents) / 100, Decimal(bid_cents + spread) / 100
    # The mark: the mid in cents, half-even to a cent (worked out without the money module).
    mark = (Decimal(2 * bid_cents + spread) / 2).quantize(1, rounding=ROUND_HALF_EVEN) / 100
    snapshot = ledger.snapshot("paper", {"MSFT": mid_on_tick(float(bid), float(ask), 0.01)})

    equity, value = cash + held * mark, held * mark
    assert (Decimal(snapshot["equity"]), Decimal(snapshot["cash"]["USD"])) == (equity, cash)
    assert Decimal(snapshot["fees"]) == fees
    # However FIFO splits it, realized + unrealized is the trades' cash plus the value held.
    total = Decimal(snapshot["realized"]) + Decimal(snapshot["unrealized"])
    assert total == cash - DEPOSIT + fees + value
    table = pnl_table(snapshot)
    assert table["equity"] == cents(equity)
    assert table["cash USD"] == cents(cash)
    assert table["fees"] == cents(fees)
    if held:
        (position,) = snapshot["positions"]
        assert position["mark"] == f"{mark:.2f}"
        assert Decimal(position["market_value"]) == value
        row = position_cells(position)
        assert (row[3], row[4]) == (f"{mark:.2f}", cents(value))


def test_positions_mark_from_float_quote_418_90999999999997_prints_418_91() -> None:
    ledger = Ledger()
    ledger.deposit("paper", 100_000.0, "USD", T0)
    ledger.apply_fill(fill("BUY", Decimal("0.2"), Decimal("421.50"), Decimal(0)), T0)
    snapshot = ledger.snapshot("paper", {"MSFT": mid_on_tick(418.90, 418.92, 0.01)})
    (position,) = snapshot["positions"]
    assert position["mark"] == "418.91"
    assert position_cells(position)[3] == "418.91"
    # 100000 - 0.2 * 421.50; equity + 0.2 * 418.91 = 83.782
    assert snapshot["cash"] == {"USD": "99915.70"}
    assert (snapshot["equity"], position["market_value"]) == ("99999.482", "83.782")
    table = pnl_table(snapshot)
    assert (table["cash USD"], table["equity"]) == ("99,915.70", "99,999.48")


def test_order_json_float_noise_prices_print_on_the_tick() -> None:
    order = {"symbol": "MSFT", "limit_price": 418.9, "stop_price": None}
    row = order_json({**order, "avg_price": 418.90999999999997}, Instrument("MSFT"))
    assert (row["limit_price"], row["stop_price"], row["avg_price"]) == ("418.90", None, "418.91")


def test_fill_json_price_and_commission_are_exact_text_with_their_decimals() -> None:
    row = fill_json(
        {"symbol": "MSFT", "price": 418.90999999999997, "commission": 0.1 + 0.2},
        Instrument("MSFT"),
    )
    assert (row["price"], row["commission"]) == ("418.91", "0.30")


# -- through a real portfolio daemon and the CLI ------------------------------------


@pytest.mark.timeout(120)
def test_positions_and_pnl_json_through_the_daemon_are_exact_text(
    tmp_path: Path, home: Path
) -> None:
    """The portfolio hears a float quote and a fill on real sockets; the CLI prints it."""
    config_path = write_config(tmp_path, services=("data", "execution", "portfolio"))
    config = load_config(config_path)
    ctx = zmq.Context()
    data = Publisher(ctx, config.service("data").pub, "data@local")
    execution = Publisher(ctx, config.service("execution").pub, "execution@local")
    portfolio = DaemonThread(config, home, "portfolio")
    try:
        ledger = portfolio.start()
        quote = {"symbol": "MSFT", "bid": 418.90, "ask": 418.92, "ts": T0}
        booked = fill("BUY", Decimal("0.2"), Decimal("421.50"), Decimal(0))

        def heard() -> bool:  # PUB/SUB drops what is sent before the subscriber joins
            data.publish(topics.quote("MSFT"), "quote", quote)
            execution.publish(topics.fill("paper"), "fill", booked, "cid-1")
            time.sleep(0.05)
            return "MSFT" in ledger.marks and ledger.fills_booked == 1  # type: ignore[attr-defined]

        assert wait_for(heard, timeout=20)
        positions = bifrost(config_path, home, "positions", "--json")
        pnl = bifrost(config_path, home, "pnl", "--json")
        table = bifrost(config_path, home, "pnl")
    finally:
        portfolio.stop()
        data.close()
        execution.close()
        ctx.destroy(linger=0)
    assert positions.returncode == 0, positions.stderr
    (row,) = json.loads(positions.stdout)["positions"]
    assert (row["mark"], row["average_cost"], row["quantity"]) == ("418.91", "421.50", 0.2)
    assert (row["market_value"], row["unrealized"]) == ("83.782", "-0.518")
    assert pnl.returncode == 0, pnl.stderr
    account = json.loads(pnl.stdout)
    assert account["cash"] == {"USD": "99915.70"}
    assert (account["equity"], account["unrealized"]) == ("99999.482", "-0.518")
    assert "99,915.70" in table.stdout and "99,999.48" in table.stdout
    assert "99915.6999" not in table.stdout + pnl.stdout
