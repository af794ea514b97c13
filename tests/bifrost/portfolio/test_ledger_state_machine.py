"""Hypothesis drives the ledger through deposits, buys, sells and redelivered fills.

The machine keeps its own books, in Decimals built from whole cents and hundredths
(never through `exact`), and checks after every step that the ledger agrees: cash is
deposits minus trade cash minus fees and equals the sum of the entries booked, each
position is the sum of its signed fills, equity at the last prices is deposits +
realized + unrealized - fees to the last digit, and no trade id is booked twice.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from bifrost.portfolio.ledger import Entry, Ledger

ACCOUNT = "paper"
T0 = 1_700_000_000_000_000_000
ZERO = Decimal(0)

symbols = st.sampled_from(["AAPL", "BTC-USD", "PENNY"])
prices_in_cents = st.integers(1, 100_000)  # 0.01 .. 1000.00
quantities_in_hundredths = st.integers(1, 50_000)  # 0.01 .. 500.00
fees_in_cents = st.integers(0, 500)


class LedgerMachine(RuleBasedStateMachine):
    """The ledger next to the machine's own record of what it was given."""

    fills = Bundle("fills")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger("USD")
        self.trade_ids = itertools.count(1)
        self.deposits = ZERO
        self.trade_cash = ZERO
        self.fees = ZERO
        self.held: dict[str, Decimal] = {}
        self.last_price: dict[str, Decimal] = {}
        self.entries: list[Entry] = []

    @rule(cents=st.integers(-1_000_000, 10_000_000))
    def deposit(self, cents: int) -> None:
        amount = Decimal(cents) / 100
        self.entries.append(self.ledger.deposit(ACCOUNT, float(amount), "USD", T0))
        self.deposits += amount

    @rule(
        target=fills,
        symbol=symbols,
        qty=quantities_in_hundredths,
        price=prices_in_cents,
        fee=fees_in_cents,
    )
    def buy(self, symbol: str, qty: int, price: int, fee: int) -> dict[str, Any]:
        return self._book("BUY", symbol, qty, price, fee)

    @rule(
        target=fills,
        symbol=symbols,
        qty=quantities_in_hundredths,
        price=prices_in_cents,
        fee=fees_in_cents,
    )
    def sell(self, symbol: str, qty: int, price: int, fee: int) -> dict[str, Any]:
        return self._book("SELL", symbol, qty, price, fee)

    @rule(fill=fills)
    def replay_a_seen_fill(self, fill: dict[str, Any]) -> None:
        assert self.ledger.apply_fill(fill, T0 + 1) == []

    def _book(self, side: str, symbol: str, qty: int, price: int, fee: int) -> dict[str, Any]:
        quantity, unit_price = Decimal(qty) / 100, Decimal(price) / 100
        commission = Decimal(fee) / 100
        fill = {
            "trade_id": f"t{next(self.trade_ids)}",
            "account": ACCOUNT,
            "symbol": symbol,
            "side": side,
            "quantity": float(quantity),
            "price": float(unit_price),
            "commission": float(commission),
        }
        self.entries.extend(self.ledger.apply_fill(fill, T0))
        signed = quantity if side == "BUY" else -quantity
        self.trade_cash -= signed * unit_price
        self.fees += commission
        self.held[symbol] = self.held.get(symbol, ZERO) + signed
        self.last_price[symbol] = unit_price
        return fill

    # -- invariants ---------------------------------------------------------------------

    def cash(self) -> Decimal:
        return self.ledger.cash.get((ACCOUNT, "USD"), ZERO)

    @invariant()
    def cash_is_deposits_minus_trade_cash_minus_fees(self) -> None:
        assert self.cash() == self.deposits + self.trade_cash - self.fees

    @invariant()
    def cash_is_the_sum_of_the_booked_entries(self) -> None:
        assert self.cash() == sum((e.amount for e in self.entries), ZERO)

    @invariant()
    def position_is_the_sum_of_signed_fills(self) -> None:
        for symbol, quantity in self.held.items():
            assert self.ledger.positions[(ACCOUNT, symbol)].quantity == quantity

    @invariant()
    def equity_is_deposits_plus_realized_plus_unrealized_minus_fees(self) -> None:
        marks = {symbol: float(price) for symbol, price in self.last_price.items()}
        snap = self.ledger.snapshot(ACCOUNT, marks)
        realized, unrealized = Decimal(snap["realized"]), Decimal(snap["unrealized"])
        assert Decimal(snap["fees"]) == self.fees
        assert Decimal(snap["equity"]) == self.deposits + realized + unrealized - self.fees
        market_value = sum((q * self.last_price[s] for s, q in self.held.items()), ZERO)
        assert Decimal(snap["equity"]) == self.cash() + market_value

    @invariant()
    def no_trade_id_is_booked_twice(self) -> None:
        booked = [e.trade_id for e in self.entries if e.trade_id is not None]
        assert len(booked) == len(set(booked))
        assert set(booked) == self.ledger.trade_ids


def test_ledger_any_deposits_fills_and_redeliveries_keep_exact_books() -> None:
    run_state_machine_as_test(
        LedgerMachine, settings=settings(max_examples=50, stateful_step_count=30, deadline=None)
    )
