"""Transaction cost analysis of three known fills, the bps worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from bifrost.analytics.tca import STALE_NS, QuoteBook, transaction_costs

S = 1_000_000_000


def quotes() -> QuoteBook:
    book = QuoteBook()
    # AAPL mid 100.00 at t=10 s (arrival of order a), 100.02 at t=11 s (its fill)
    book.add(
        "AAPL", np.array([10 * S, 11 * S]), np.array([99.99, 100.01]), np.array([100.01, 100.03])
    )
    # MSFT mid 400.00 at 20 s (arrival of b), 399.90 at 21 s (its fill)
    book.add(
        "MSFT", np.array([20 * S, 21 * S]), np.array([399.95, 399.85]), np.array([400.05, 399.95])
    )
    return book


FILLS = [
    {
        "trade_id": "t1",
        "client_order_id": "a",
        "strategy_id": "",
        "symbol": "AAPL",
        "side": "BUY",
        "quantity": 100.0,
        "price": 100.05,
        "commission": 1.0,
        "ts_ns": 11 * S,
    },
    {
        "trade_id": "t2",
        "client_order_id": "b",
        "strategy_id": "s",
        "symbol": "MSFT",
        "side": "SELL",
        "quantity": 10.0,
        "price": 399.80,
        "commission": 0.4,
        "ts_ns": 21 * S,
    },
    {
        "trade_id": "t3",
        "client_order_id": "c",
        "strategy_id": "s",
        "symbol": "AAPL",
        "side": "BUY",
        "quantity": 50.0,
        "price": 100.00,
        "commission": 0.0,
        "ts_ns": 11 * S + 5,
    },
]
SUBMITTED = {"a": 10 * S, "b": 20 * S, "c": 11 * S}


def test_three_fills_against_arrival_and_fill_mids() -> None:
    result = transaction_costs(FILLS, SUBMITTED, quotes())
    t1, t2, t3 = result["fills"]
    # t1: buy at 100.05 vs arrival 100.00: +5 bps; vs fill mid 100.02: 0.03 / 100.02 = 2.9994 bps
    assert t1["shortfall_bps"] == pytest.approx(5.0)
    assert t1["slippage_bps"] == pytest.approx(0.03 / 100.02 * 1e4)
    assert t1["fees_bps"] == pytest.approx(1.0 / 10_005 * 1e4)
    # t2: sell at 399.80 vs arrival 400.00: (400 - 399.8) / 400 = 5 bps; vs mid 399.90: 2.5006 bps
    assert t2["shortfall_bps"] == pytest.approx(5.0)
    assert t2["slippage_bps"] == pytest.approx(0.10 / 399.90 * 1e4)
    assert t2["fees_bps"] == pytest.approx(0.4 / 3998 * 1e4)
    # t3: buy at 100.00 with the mid at 100.02 on arrival and at the fill: 2 bps better
    assert t3["shortfall_bps"] == pytest.approx(-0.02 / 100.02 * 1e4)
    assert t3["strategy"] == "s" and t1["strategy"] == "manual"

    total = result["summary"]
    # notional-weighted: shortfall money 5 + 2 - 1 = 6 over arrival notional 10000 + 4000 + 5001
    assert total["shortfall"] == pytest.approx(6.0)
    assert total["shortfall_bps"] == pytest.approx(6.0 / 19_001 * 1e4)
    assert total["fees_bps"] == pytest.approx(1.4 / (10_005 + 3998 + 5000) * 1e4)
    assert total["total_cost_bps"] == pytest.approx(total["shortfall_bps"] + total["fees_bps"])
    by_symbol = {row["symbol"]: row for row in result["by_symbol"]}
    assert by_symbol["MSFT"]["shortfall_bps"] == pytest.approx(5.0)
    assert by_symbol["AAPL"]["fills"] == 2


def test_a_stale_or_missing_quote_is_no_reference() -> None:
    late = {**FILLS[0], "ts_ns": 11 * S + STALE_NS + 1}
    result = transaction_costs([late], {"a": 10 * S}, quotes())
    (cost,) = result["fills"]
    assert cost["fill_mid"] is None and cost["slippage_bps"] is None
    assert cost["shortfall_bps"] == pytest.approx(5.0)
    unknown = transaction_costs([FILLS[0]], {}, quotes())["summary"]
    assert unknown["shortfall_bps"] is None and unknown["fills_with_arrival"] == 0
