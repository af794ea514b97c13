"""SimAccount: cash and positions per fill, and round-trip trades (adds, partial closes, flips)."""

from __future__ import annotations

import pytest

from bifrost.model.market import Side
from bifrost.model.orders import Fill
from bifrost.sim.account import SimAccount, TradeRecord
from bifrost.sim.costs import PercentCommission


def account(cash: float = 10_000.0) -> SimAccount:
    """An account whose commissions come from the fills themselves (the model is unused)."""
    return SimAccount(cash, PercentCommission(0.0))


def fill(side: Side, quantity: float, price: float, commission: float = 0.0, ts: int = 1) -> Fill:
    """A fill of AAPL."""
    return Fill(f"o-{ts}", "AAPL", side, quantity, price, commission, ts)


def test_apply_buy_pays_notional_and_commission() -> None:
    acct = account()
    acct.apply(fill(Side.BUY, 10, 100.0, commission=1.0))
    # 10 000 - 10 * 100 - 1
    assert (acct.cash, acct.position("AAPL")) == (8_999.0, 10.0)


def test_apply_sell_short_receives_notional_less_commission() -> None:
    acct = account()
    acct.apply(fill(Side.SELL, 10, 50.0, commission=1.0))
    # 10 000 + 10 * 50 - 1
    assert (acct.cash, acct.position("AAPL")) == (10_499.0, -10.0)


def test_apply_records_every_fill_in_order() -> None:
    acct = account()
    first, second = fill(Side.BUY, 10, 100.0, ts=1), fill(Side.SELL, 4, 101.0, ts=2)
    acct.apply(first)
    acct.apply(second)
    assert acct.fills == [first, second]


def test_equity_marks_positions_at_the_given_prices() -> None:
    acct = account()
    acct.apply(fill(Side.BUY, 10, 100.0))
    # cash 9 000 + 10 * 104
    assert acct.equity({"AAPL": 104.0}) == 10_040.0


def test_equity_flat_symbol_needs_no_mark() -> None:
    acct = account()
    acct.apply(fill(Side.BUY, 10, 100.0, ts=1))
    acct.apply(fill(Side.SELL, 10, 100.0, ts=2))
    assert acct.equity({}) == 10_000.0


def test_position_unknown_symbol_is_zero() -> None:
    assert account().position("MSFT") == 0.0


def test_affordable_no_cash_is_zero() -> None:
    assert account(cash=0.0).affordable(10.0, 1.0, 1.0) == 0.0


def test_affordable_spends_only_the_fraction() -> None:
    # 10 000 * 0.25 / 100 = 25
    assert account().affordable(100.0, 0.25, 1.0) == 25.0


# -- round trips -------------------------------------------------------------------------


def test_trade_open_only_records_no_trade() -> None:
    acct = account()
    acct.apply(fill(Side.BUY, 10, 100.0))
    assert acct.trades == []


def test_trade_partial_close_keeps_the_trade_open() -> None:
    acct = account()
    acct.apply(fill(Side.BUY, 10, 100.0, ts=1))
    acct.apply(fill(Side.SELL, 4, 110.0, ts=2))
    assert (acct.trades, acct.position("AAPL")) == ([], 6.0)


def test_trade_open_add_partial_close_close_is_one_round_trip() -> None:
    acct = account()
    acct.apply(fill(Side.BUY, 10, 100.0, commission=1.0, ts=1))  # open
    acct.apply(fill(Side.BUY, 5, 110.0, commission=1.0, ts=2))  # add
    acct.apply(fill(Side.SELL, 5, 120.0, commission=1.0, ts=3))  # partial close
    acct.apply(fill(Side.SELL, 10, 130.0, commission=1.0, ts=4))  # close
    # entry (1000 + 550) / 15 = 103.33; exit (600 + 1300) / 15 = 126.67
    # gross 1900 - 1550 = 350; four commissions of 1 -> pnl 346
    assert acct.trades == [
        TradeRecord(
            "AAPL",
            entry_ts=1,
            exit_ts=4,
            size=15.0,
            direction=1,
            entry_price=pytest.approx(1550 / 15),
            exit_price=pytest.approx(1900 / 15),
            pnl=pytest.approx(346.0),
            commission=pytest.approx(4.0),
        )
    ]
    # 10 000 - 1001 - 551 + 599 + 1299: the cash moved by exactly the trade's pnl
    assert acct.cash == pytest.approx(10_346.0)


def test_trade_size_is_the_largest_position_held() -> None:
    acct = account()
    acct.apply(fill(Side.BUY, 10, 100.0, ts=1))
    acct.apply(fill(Side.BUY, 10, 100.0, ts=2))  # 20 held
    acct.apply(fill(Side.SELL, 15, 100.0, ts=3))  # 5 held
    acct.apply(fill(Side.SELL, 5, 100.0, ts=4))  # flat
    assert acct.trades[0].size == 20.0


def test_trade_short_round_trip_has_negative_size_and_profits_on_a_fall() -> None:
    acct = account()
    acct.apply(fill(Side.SELL, 10, 50.0, ts=1))
    acct.apply(fill(Side.BUY, 10, 45.0, ts=2))
    (trade,) = acct.trades
    # (45 - 50) * 10 * -1 = +50
    assert (trade.size, trade.direction, trade.pnl) == (-10.0, -1, pytest.approx(50.0))


def test_trade_flip_long_to_short_closes_one_and_opens_the_next() -> None:
    acct = account()
    acct.apply(fill(Side.BUY, 10, 100.0, commission=1.0, ts=1))
    acct.apply(fill(Side.SELL, 15, 110.0, commission=1.5, ts=2))
    (closed,) = acct.trades
    # the flip's commission 1.5 splits 10:5 -> 1.0 closes the long, 0.5 opens the short
    # long: gross (110 - 100) * 10 = 100, commission 1 + 1 = 2 -> pnl 98
    assert closed == TradeRecord(
        "AAPL", 1, 2, 10.0, 1, 100.0, 110.0, pytest.approx(98.0), pytest.approx(2.0)
    )
    assert acct.position("AAPL") == -5.0


def test_trade_after_flip_new_trade_carries_its_share_of_the_flip_commission() -> None:
    acct = account()
    acct.apply(fill(Side.BUY, 10, 100.0, commission=1.0, ts=1))
    acct.apply(fill(Side.SELL, 15, 110.0, commission=1.5, ts=2))
    acct.apply(fill(Side.BUY, 5, 105.0, commission=0.5, ts=3))
    short = acct.trades[1]
    # short 5 from 110 to 105: gross (525 - 550) * -1 = 25; commission 0.5 + 0.5 = 1 -> 24
    assert short == TradeRecord(
        "AAPL", 2, 3, -5.0, -1, 110.0, 105.0, pytest.approx(24.0), pytest.approx(1.0)
    )


def test_trade_pnls_add_up_to_the_cash_change_when_flat() -> None:
    acct = account()
    acct.apply(fill(Side.BUY, 10, 100.0, commission=1.0, ts=1))
    acct.apply(fill(Side.SELL, 15, 110.0, commission=1.5, ts=2))
    acct.apply(fill(Side.BUY, 5, 105.0, commission=0.5, ts=3))
    # 98 + 24 = 122 = -1001 + (1650 - 1.5) - (525 + 0.5)
    assert sum(t.pnl for t in acct.trades) == pytest.approx(acct.cash - 10_000.0)
    assert acct.cash == pytest.approx(10_122.0)


def test_trade_symbols_are_tracked_separately() -> None:
    acct = account()
    acct.apply(Fill("a", "AAPL", Side.BUY, 10, 100.0, 0.0, 1))
    acct.apply(Fill("b", "MSFT", Side.BUY, 5, 200.0, 0.0, 1))
    acct.apply(Fill("c", "AAPL", Side.SELL, 10, 90.0, 0.0, 2))
    (trade,) = acct.trades
    assert (trade.symbol, trade.pnl, acct.position("MSFT")) == ("AAPL", -100.0, 5.0)


def test_trade_record_return_pct_is_pnl_over_entry_cost() -> None:
    trade = TradeRecord("AAPL", 1, 2, -5.0, -1, 110.0, 105.0, 24.0, 1.0)
    # 24 / (5 * 110)
    assert trade.return_pct == pytest.approx(24 / 550)
