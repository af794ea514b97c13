"""An exact-money ledger: Decimal amounts, FIFO lots, realized and unrealized P&L.

Every money movement is an entry (deposit, trade cash, fee) with a Decimal amount;
balances are sums of entries, never a running float. Fills arrive as floats from
the bus and become Decimals at the edge (bifrost.model.money): a price through its
shortest text and onto its instrument's tick, so 190.01 is exactly 190.01 and a
float-noisy 418.90999999999997 is 418.91. Entries keep the store's 8 decimal places,
so the ledger rebuilt from portfolio.duckdb is the ledger that wrote it. A fill is
applied once: its trade id is remembered. Realized P&L is FIFO: a reducing fill closes
the oldest lots first. Cash is kept per currency; equity is reported in the base
currency, converting other currencies at the rates given to `set_rate`. Snapshots
carry money as exact decimal text (docs/ARCHITECTURE.md, "Money").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bifrost.errors import BadRequest
from bifrost.model.instrument import Instrument
from bifrost.model.money import (
    amount_text,
    average_text,
    decimal_from_wire,
    exact_text,
    price_from_wire,
    tick_places,
)

ZERO = Decimal(0)
STORED_UNIT = Decimal("1e-8")
"""The scale of the ledger's DECIMAL(38, 8) columns (bifrost/store/schema.py): every
entry is rounded half-even to it when booked, so memory and store never differ."""


def exact(value: float | int | str | Decimal) -> Decimal:
    """A number as an exact Decimal (floats through their shortest text form)."""
    return decimal_from_wire(value)


def stored(value: Decimal) -> Decimal:
    """`value` at the store's scale (8 decimals, half-even)."""
    return value.quantize(STORED_UNIT, rounding=ROUND_HALF_EVEN)


@dataclass
class Lot:
    """An open piece of a position: signed quantity at its entry price."""

    quantity: Decimal
    price: Decimal


@dataclass
class Position:
    """One symbol's position in one account: FIFO lots and realized P&L."""

    symbol: str
    currency: str = "USD"
    lots: deque[Lot] = field(default_factory=deque)
    realized: Decimal = ZERO

    @property
    def quantity(self) -> Decimal:
        """Signed quantity held."""
        return sum((lot.quantity for lot in self.lots), ZERO)

    @property
    def average_cost(self) -> Decimal:
        """Average entry price of the open lots (0 when flat)."""
        quantity = self.quantity
        if not quantity:
            return ZERO
        return sum((lot.quantity * lot.price for lot in self.lots), ZERO) / quantity

    def unrealized(self, mark: Decimal) -> Decimal:
        """P&L of the open lots at `mark`."""
        return sum(((mark - lot.price) * lot.quantity for lot in self.lots), ZERO)

    def apply(self, signed_quantity: Decimal, price: Decimal) -> Decimal:
        """Add a fill; returns the P&L it realized (FIFO against the oldest lots)."""
        realized = ZERO
        remaining = signed_quantity
        while remaining and self.lots and (self.lots[0].quantity > 0) != (remaining > 0):
            lot = self.lots[0]
            closing = min(abs(remaining), abs(lot.quantity)) * (1 if lot.quantity > 0 else -1)
            realized += (price - lot.price) * closing
            lot.quantity -= closing
            remaining += closing
            if not lot.quantity:
                self.lots.popleft()
        if remaining:
            self.lots.append(Lot(remaining, price))
        self.realized += realized
        return realized


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger line: a money movement, with the trade that caused it when there is one."""

    ts: int
    account: str
    kind: str
    """deposit, trade or fee."""
    currency: str
    amount: Decimal
    symbol: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    trade_id: str | None = None
    cid: str = ""


class Ledger:
    """Accounts, their cash by currency and their positions."""

    def __init__(
        self,
        base_currency: str = "USD",
        instrument: Callable[[str], Instrument] = Instrument.default_for,
    ) -> None:
        self.base_currency = base_currency
        self.instrument = instrument
        """A symbol's instrument: its tick puts fill prices and marks on the grid."""
        self.cash: dict[tuple[str, str], Decimal] = {}
        self.positions: dict[tuple[str, str], Position] = {}
        self.fees: dict[str, Decimal] = {}
        self.rates: dict[str, Decimal] = {base_currency: Decimal(1)}
        self.trade_ids: set[str] = set()

    def set_rate(self, currency: str, rate: float | Decimal) -> None:
        """Value of one unit of `currency` in the base currency."""
        self.rates[currency] = exact(rate)

    def deposit(self, account: str, amount: float | str | Decimal, currency: str, ts: int) -> Entry:
        """Put cash in (or take it out with a negative amount)."""
        return self.post(Entry(ts, account, "deposit", currency, stored(exact(amount))))

    def apply_fill(self, fill: dict[str, Any], ts: int, currency: str = "USD") -> list[Entry]:
        """Book a fill (trade cash, fee, position); [] when its trade id was seen before."""
        trade_id = fill["trade_id"]
        if trade_id in self.trade_ids:
            return []
        quantity = stored(exact(fill["quantity"]))
        price = exact(fill["price"])
        if quantity <= 0 or price <= 0:
            raise BadRequest(f"fill {trade_id}: quantity and price must be positive")
        price = stored(price_from_wire(price, self.instrument(fill["symbol"]).tick_size))
        signed = quantity if fill["side"] == "BUY" else -quantity
        account, symbol, cid = fill["account"], fill["symbol"], fill.get("cid", "")
        entries = [
            Entry(
                ts,
                account,
                "trade",
                currency,
                stored(-signed * price),
                symbol,
                signed,
                price,
                trade_id,
                cid,
            ),
        ]
        commission = stored(exact(fill.get("commission", 0.0)))
        if commission:
            entries.append(
                Entry(
                    ts,
                    account,
                    "fee",
                    currency,
                    -commission,
                    symbol,
                    None,
                    None,
                    f"{trade_id}:fee",
                    cid,
                )
            )
        for entry in entries:
            self.post(entry)
        return entries

    def post(self, entry: Entry) -> Entry:
        """Apply one entry to the balances (also used to replay the stored ledger)."""
        if entry.trade_id is not None:
            if entry.trade_id in self.trade_ids:
                return entry
            self.trade_ids.add(entry.trade_id)
        key = (entry.account, entry.currency)
        self.cash[key] = self.cash.get(key, ZERO) + entry.amount
        if entry.kind == "fee":
            self.fees[entry.account] = self.fees.get(entry.account, ZERO) - entry.amount
        if entry.kind == "trade" and entry.symbol and entry.quantity is not None:
            position = self.positions.setdefault(
                (entry.account, entry.symbol), Position(entry.symbol, entry.currency)
            )
            assert entry.price is not None
            position.apply(entry.quantity, entry.price)
        return entry

    def snapshot(self, account: str, marks: Mapping[str, Decimal | float]) -> dict[str, Any]:
        """Cash, positions with average cost and P&L, and equity in the base currency.

        Money is exact decimal text (prices with at least the instrument's decimals,
        amounts with at least their currency's); quantities are numbers.
        """
        positions = []
        equity = realized = unrealized = ZERO
        for (owner, currency), amount in self.cash.items():
            if owner == account:
                equity += amount * self._rate(currency)
        for (owner, symbol), position in self.positions.items():
            if owner != account:
                continue
            rate = self._rate(position.currency)
            open_pnl, value, row = self._position_row(position, marks.get(symbol))
            realized += position.realized * rate
            unrealized += open_pnl * rate
            equity += value * rate
            positions.append(row)
        base = self.base_currency
        cash = {c: amount_text(a, c) for (o, c), a in self.cash.items() if o == account}
        return {
            "account": account,
            "base_currency": base,
            "cash": cash,
            "equity": amount_text(equity, base),
            "realized": amount_text(realized, base),
            "unrealized": amount_text(unrealized, base),
            "fees": amount_text(self.fees.get(account, ZERO), base),
            "positions": positions,
        }

    def position_row(
        self, account: str, symbol: str, marks: Mapping[str, Decimal | float]
    ) -> dict[str, Any] | None:
        """The row `snapshot` shows for one position, or None when there is none."""
        position = self.positions.get((account, symbol))
        if position is None:
            return None
        return self._position_row(position, marks.get(symbol))[2]

    def _position_row(
        self, position: Position, mark: Decimal | float | None
    ) -> tuple[Decimal, Decimal, dict[str, Any]]:
        """(unrealized, market value, the row shown): unmarked, a position is at cost
        (the sum of its lots, exact where quantity times average cost would not be)."""
        places = tick_places(self.instrument(position.symbol).tick_size)
        quantity, cost, currency = position.quantity, position.average_cost, position.currency
        if mark is None:
            open_pnl, mark_text = ZERO, average_text(cost, places)
            value = sum((lot.quantity * lot.price for lot in position.lots), ZERO)
        else:
            price = exact(mark)
            open_pnl, mark_text = position.unrealized(price), exact_text(price, places)
            value = quantity * price
        row = {
            "symbol": position.symbol,
            "quantity": float(quantity),
            "average_cost": average_text(cost, places),
            "mark": mark_text,
            "market_value": amount_text(value, currency),
            "unrealized": amount_text(open_pnl, currency),
            "realized": amount_text(position.realized, currency),
            "currency": currency,
        }
        return open_pnl, value, row

    def _rate(self, currency: str) -> Decimal:
        try:
            return self.rates[currency]
        except KeyError:
            raise BadRequest(f"no exchange rate for {currency} to {self.base_currency}") from None
