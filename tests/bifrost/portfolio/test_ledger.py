"""The exact-money ledger: FIFO realized P&L, shorts and flips, fees, exact decimals,
fills booked once, snapshots, replay from the stored ledger, and other currencies.

Every expected number is worked out by hand in a comment beside it.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bifrost.errors import BadRequest
from bifrost.portfolio.ledger import Ledger, Position, exact
from bifrost.store.database import open_store
from bifrost.store.ledger import append_entries, load_entries
from bifrost.store.schema import PORTFOLIO

T0 = 1_700_000_000_000_000_000
_trade_ids = itertools.count(1)


def fill(side: str, quantity: float, price: float, **extra: Any) -> dict[str, Any]:
    """A fill as the bus delivers it (floats), with a fresh trade id."""
    return {
        "trade_id": f"t{next(_trade_ids)}",
        "account": "paper",
        "symbol": "AAPL",
        "side": side,
        "quantity": quantity,
        "price": price,
        "commission": 0.0,
        **extra,
    }


def book(ledger: Ledger, *fills: dict[str, Any]) -> None:
    for f in fills:
        ledger.apply_fill(f, T0)


def position(ledger: Ledger, symbol: str = "AAPL") -> Position:
    return ledger.positions[("paper", symbol)]


def cash(ledger: Ledger, currency: str = "USD") -> Decimal:
    return ledger.cash[("paper", currency)]


# -- FIFO -----------------------------------------------------------------------------


def test_position_partial_sell_closes_the_oldest_lot_first() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 100, 10.0), fill("BUY", 100, 12.0), fill("SELL", 150, 15.0))
    # 100 * (15 - 10) + 50 * (15 - 12) = 500 + 150
    assert position(ledger).realized == Decimal(650)


def test_position_after_partial_sells_keeps_the_newest_lot_at_its_price() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 100, 10.0), fill("BUY", 100, 12.0), fill("SELL", 150, 15.0))
    assert (position(ledger).quantity, position(ledger).average_cost) == (50, Decimal(12))


def test_position_second_partial_sell_realizes_against_the_remaining_lot() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 100, 10.0), fill("BUY", 100, 12.0), fill("SELL", 150, 15.0))
    book(ledger, fill("SELL", 50, 11.0))
    # 650 + 50 * (11 - 12)
    assert position(ledger).realized == Decimal(600)
    assert not position(ledger).lots


def test_position_average_cost_weights_the_open_lots() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 100, 10.0), fill("BUY", 300, 12.0))
    # (100 * 10 + 300 * 12) / 400 = 4600 / 400
    assert position(ledger).average_cost == Decimal("11.5")


def test_position_short_covered_lower_realizes_a_gain() -> None:
    ledger = Ledger()
    book(ledger, fill("SELL", 100, 20.0), fill("BUY", 40, 18.0))
    # 40 * (20 - 18)
    assert position(ledger).realized == Decimal(80)
    assert position(ledger).quantity == -60


def test_position_sell_through_zero_flips_to_a_short_at_the_fill_price() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 100, 10.0), fill("SELL", 150, 12.0))
    # the 100 long close at +2 each; the other 50 open a short at 12
    assert position(ledger).realized == Decimal(200)
    assert (position(ledger).quantity, position(ledger).average_cost) == (-50, Decimal(12))


def test_position_buy_through_zero_flips_to_a_long_at_the_fill_price() -> None:
    ledger = Ledger()
    book(ledger, fill("SELL", 100, 10.0), fill("BUY", 130, 11.0))
    # the 100 short close at -1 each; the other 30 open a long at 11
    assert position(ledger).realized == Decimal(-100)
    assert (position(ledger).quantity, position(ledger).average_cost) == (30, Decimal(11))


def test_position_unrealized_is_mark_minus_entry_per_open_lot() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 100, 10.0), fill("BUY", 100, 12.0))
    # 100 * (13 - 10) + 100 * (13 - 12)
    assert position(ledger).unrealized(Decimal(13)) == Decimal(400)


# -- cash, fees, exact decimals -------------------------------------------------------


def test_apply_fill_buy_moves_cash_by_minus_quantity_times_price() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 3, 190.01))
    assert cash(ledger) == Decimal("-570.03")


def test_apply_fill_commission_is_a_separate_fee_entry() -> None:
    ledger = Ledger()
    entries = ledger.apply_fill(fill("SELL", 10, 50.0, commission=1.25), T0)
    assert [(e.kind, e.amount) for e in entries] == [
        ("trade", Decimal(500)),
        ("fee", Decimal("-1.25")),
    ]


def test_apply_fill_commissions_add_up_in_fees_and_come_out_of_cash() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 10, 50.0, commission=1.25), fill("SELL", 10, 51.0, commission=0.5))
    # -500 - 1.25 + 510 - 0.5
    assert ledger.fees["paper"] == Decimal("1.75")
    assert cash(ledger) == Decimal("8.25")


def test_apply_fill_three_buys_at_a_tenth_sum_exactly() -> None:
    ledger = Ledger()
    book(ledger, *(fill("BUY", 7, 0.1) for _ in range(3)))
    # a float sum of -0.7 three times is -2.0999999999999996
    assert cash(ledger) == Decimal("-2.1")


def test_apply_fill_prices_a_tenth_and_two_tenths_sum_to_exactly_three_tenths() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 1, 0.1), fill("BUY", 1, 0.2))
    assert cash(ledger) == Decimal("-0.3")  # 0.1 + 0.2 in floats is 0.30000000000000004


def test_exact_float_goes_through_its_shortest_text() -> None:
    assert exact(190.01) == Decimal("190.01")


def test_apply_fill_repeated_trade_id_books_nothing() -> None:
    ledger = Ledger()
    first = fill("BUY", 10, 50.0, commission=1.0)
    ledger.apply_fill(first, T0)
    assert ledger.apply_fill(first, T0 + 1) == []
    assert (cash(ledger), position(ledger).quantity) == (Decimal(-501), 10)


@pytest.mark.parametrize(("quantity", "price"), [(0, 10.0), (-5, 10.0), (5, 0.0), (5, -1.0)])
def test_apply_fill_non_positive_quantity_or_price_is_bad_request(quantity, price) -> None:
    with pytest.raises(BadRequest, match="must be positive"):
        Ledger().apply_fill(fill("BUY", quantity, price), T0)


def test_deposit_negative_amount_is_a_withdrawal() -> None:
    ledger = Ledger()
    ledger.deposit("paper", 1_000.0, "USD", T0)
    ledger.deposit("paper", -250.5, "USD", T0)
    assert cash(ledger) == Decimal("749.5")


# -- snapshots ------------------------------------------------------------------------


def test_snapshot_equity_is_cash_plus_marked_positions() -> None:
    ledger = Ledger()
    ledger.deposit("paper", 10_000.0, "USD", T0)
    book(ledger, fill("BUY", 10, 100.0), fill("SELL", 5, 40.0, symbol="MSFT"))
    snap = ledger.snapshot("paper", {"AAPL": 101.5, "MSFT": 42.0})
    # cash 10000 - 1000 + 200 = 9200; 10 * 101.5 - 5 * 42 = 805
    assert Decimal(snap["equity"]) == Decimal(10_005)


def test_snapshot_equity_is_deposits_plus_realized_plus_unrealized_minus_fees() -> None:
    ledger = Ledger()
    ledger.deposit("paper", 10_000.0, "USD", T0)
    book(ledger, fill("BUY", 10, 100.0, commission=1.0), fill("SELL", 4, 103.0, commission=0.5))
    snap = ledger.snapshot("paper", {"AAPL": 99.0})
    # realized 4 * 3 = 12; unrealized 6 * -1 = -6; fees 1.5
    money = [Decimal(snap[key]) for key in ("realized", "unrealized", "fees")]
    assert money == [Decimal(12), Decimal(-6), Decimal("1.5")]
    assert Decimal(snap["equity"]) == Decimal(10_000) + 12 - 6 - Decimal("1.5")


def test_snapshot_position_without_a_mark_is_valued_at_average_cost() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 10, 100.0))
    snap = ledger.snapshot("paper", {})
    assert (Decimal(snap["equity"]), Decimal(snap["unrealized"])) == (0, 0)


def test_snapshot_shows_only_the_asked_account() -> None:
    ledger = Ledger()
    ledger.deposit("paper", 100.0, "USD", T0)
    ledger.deposit("other", 999.0, "USD", T0)
    book(ledger, fill("BUY", 1, 10.0, account="other"))
    snap = ledger.snapshot("paper", {"AAPL": 10.0})
    assert (snap["cash"], snap["positions"]) == ({"USD": "100.00"}, [])


# -- replay from the store ------------------------------------------------------------


def test_replay_of_the_stored_ledger_gives_the_live_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.duckdb"
    live = Ledger()
    db = open_store(path, migrations=PORTFOLIO)
    append_entries(db, [live.deposit("paper", 100_000.0, "USD", T0)])
    for f in (
        fill("BUY", 100, 190.01, commission=0.95),
        fill("BUY", 50, 0.1, symbol="PENNY"),
        fill("SELL", 150, 191.37, commission=1.44),
        fill("SELL", 30, 0.3, symbol="PENNY"),
    ):
        append_entries(db, live.apply_fill(f, T0))
    db.close()
    replayed = Ledger()
    db = open_store(path, migrations=PORTFOLIO)
    for entry in load_entries(db):
        replayed.post(entry)
    db.close()
    marks = {"AAPL": 189.5, "PENNY": 0.25}
    assert values(replayed.snapshot("paper", marks)) == values(live.snapshot("paper", marks))
    assert replayed.trade_ids == live.trade_ids


def values(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot with its money as Decimals (compared as amounts, whatever their text)."""
    money = ("equity", "realized", "unrealized", "fees")
    return {
        **snapshot,
        **{key: Decimal(snapshot[key]) for key in money},
        "cash": {c: Decimal(a) for c, a in snapshot["cash"].items()},
    }


def test_replay_posting_a_stored_entry_twice_books_it_once() -> None:
    live = Ledger()
    (entry,) = live.apply_fill(fill("BUY", 10, 5.0), T0)
    replayed = Ledger()
    replayed.post(entry)
    replayed.post(entry)
    assert (cash(replayed), position(replayed).quantity) == (Decimal(-50), 10)


# -- other currencies -----------------------------------------------------------------


def test_snapshot_converts_other_currency_cash_and_positions_at_the_set_rate() -> None:
    ledger = Ledger("USD")
    ledger.set_rate("EUR", 1.1)
    ledger.deposit("paper", 1_000.0, "EUR", T0)
    ledger.deposit("paper", 500.0, "USD", T0)
    ledger.apply_fill(fill("BUY", 10, 20.0, symbol="SAP"), T0, currency="EUR")
    snap = ledger.snapshot("paper", {"SAP": 25.0})
    # EUR cash 1000 - 200 = 800, SAP 10 * 25 = 250: 1050 EUR = 1155 USD; + 500 USD
    assert Decimal(snap["equity"]) == Decimal(1_655)
    assert Decimal(snap["unrealized"]) == Decimal(55)  # 10 * (25 - 20) EUR at 1.1


def test_snapshot_keeps_cash_per_currency_unconverted() -> None:
    ledger = Ledger("USD")
    ledger.set_rate("EUR", 1.1)
    ledger.deposit("paper", 1_000.0, "EUR", T0)
    ledger.deposit("paper", 500.0, "USD", T0)
    assert ledger.snapshot("paper", {})["cash"] == {"EUR": "1000.00", "USD": "500.00"}


def test_snapshot_cash_in_a_currency_without_a_rate_is_bad_request() -> None:
    ledger = Ledger("USD")
    ledger.deposit("paper", 1_000.0, "JPY", T0)
    with pytest.raises(BadRequest, match="no exchange rate for JPY to USD"):
        ledger.snapshot("paper", {})


# -- exact money at the edge ----------------------------------------------------------


def test_apply_fill_float_noise_price_books_the_tick_price() -> None:
    ledger = Ledger()
    book(ledger, fill("BUY", 10, (418.90 + 418.92) / 2))  # 418.90999999999997
    assert position(ledger).average_cost == Decimal("418.91")
    assert cash(ledger) == Decimal("-4189.1")


def test_apply_fill_amounts_past_the_store_scale_book_what_the_store_keeps(
    tmp_path: Path,
) -> None:
    live = Ledger()
    db = open_store(tmp_path / "portfolio.duckdb", migrations=PORTFOLIO)
    append_entries(db, live.apply_fill(fill("BUY", 1, 10.0, commission=0.1 + 0.2), T0))
    replayed = Ledger()
    for entry in load_entries(db):
        replayed.post(entry)
    db.close()
    # 0.30000000000000004 is booked as the store's 0.30000000, in memory as on disk
    assert cash(live) == cash(replayed) == Decimal("-10.3")


def test_snapshot_unmarked_position_at_a_repeating_average_cost_keeps_equity_exact() -> None:
    ledger = Ledger()
    ledger.deposit("paper", 1_000.0, "USD", T0)
    book(ledger, fill("BUY", 1, 10.0), fill("BUY", 1, 10.01), fill("BUY", 1, 10.01))
    snap = ledger.snapshot("paper", {})
    # average cost 30.02 / 3 = 10.00666...; the position is worth its lots, 30.02
    assert (snap["equity"], snap["positions"][0]["market_value"]) == ("1000.00", "30.02")
    assert snap["positions"][0]["average_cost"] == "10.0067"


def test_snapshot_money_is_text_with_the_instrument_and_currency_decimals() -> None:
    ledger = Ledger()
    ledger.deposit("paper", 100_000.0, "USD", T0)
    book(ledger, fill("BUY", 2, 418.9))
    snap = ledger.snapshot("paper", {"AAPL": Decimal("420.1")})
    (row,) = snap["positions"]
    assert (row["average_cost"], row["mark"]) == ("418.90", "420.10")
    assert (row["market_value"], row["unrealized"], row["realized"]) == ("840.20", "2.40", "0.00")
    assert (snap["cash"], snap["equity"]) == ({"USD": "99162.20"}, "100002.40")
