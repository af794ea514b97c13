"""How the trading commands write money: exact decimal text in JSON, rounded in tables.

Execution keeps orders and fills as floats (the journal is DOUBLE, the matching works
on floats); the portfolio's replies already carry money as exact decimal text. Here the
order and fill rows get the same representation before they are printed: prices on
their instrument's tick with its decimals, averages with two more, commissions in the
instrument's currency (docs/ARCHITECTURE.md, "Money").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bifrost.model.instrument import Instrument
from bifrost.model.money import (
    amount_text,
    average_text,
    currency_places,
    decimal_from_wire,
    price_text,
    rounded_text,
    tick_places,
)
from bifrost.portfolio.ledger import stored

InstrumentOf = Callable[[str], Instrument]
"""A symbol's instrument (its tick and currency)."""

ORDER_PRICES = ("limit_price", "stop_price")


def instruments_from(rows: list[dict[str, Any]]) -> InstrumentOf:
    """A lookup over stored instrument rows; the defaults for a symbol not among them."""
    known = {row["symbol"]: Instrument.from_dict(row) for row in rows}
    return lambda symbol: known.get(symbol) or Instrument.default_for(symbol)


def order_json(order: dict[str, Any], instrument: Instrument) -> dict[str, Any]:
    """An order row with its prices as exact text (an absent price stays null)."""
    row = dict(order)
    for name in ORDER_PRICES:
        if row.get(name) is not None:
            row[name] = price_text(row[name], instrument.tick_size)
    if row.get("avg_price") is not None:
        places = tick_places(instrument.tick_size)
        row["avg_price"] = average_text(decimal_from_wire(row["avg_price"]), places)
    return row


def fill_json(fill: dict[str, Any], instrument: Instrument) -> dict[str, Any]:
    """A fill row with its price and commission as exact text (the commission at the
    ledger's 8 decimals, so 0.30000000000000004 is the 0.30 the portfolio booked)."""
    row = dict(fill)
    row["price"] = price_text(fill["price"], instrument.tick_size)
    commission = stored(decimal_from_wire(fill.get("commission") or 0))  # as the ledger books it
    row["commission"] = amount_text(commission, instrument.currency)
    return row


def quantity_text(value: Any) -> str:
    """A quantity as plain text, every digit kept: 1234567 and 0.0001, never 1.23457e+06."""
    return f"{decimal_from_wire(value).normalize():f}"


def table_amount(text: Any, currency: str) -> str:
    """An amount from a reply, rounded half-even to the currency's decimals, with ","."""
    return rounded_text(decimal_from_wire(text), currency_places(currency), grouping=True)


def position_cells(position: dict[str, Any]) -> list[str]:
    """One positions-table row: prices as the portfolio sent them, amounts rounded."""
    currency = position.get("currency") or "USD"
    return [
        position["symbol"],
        quantity_text(position["quantity"]),
        str(position["average_cost"]),
        str(position["mark"]),
        *(table_amount(position[k], currency) for k in ("market_value", "unrealized", "realized")),
    ]


def pnl_cells(reply: dict[str, Any]) -> list[list[str]]:
    """The P&L table: account amounts in the base currency, then cash per currency."""
    base = reply["base_currency"]
    rows = [
        [k, table_amount(reply[k], base)]
        for k in ("equity", "realized", "unrealized", "fees", "day_pnl")
    ]
    rows += [[f"cash {c}", table_amount(v, c)] for c, v in reply["cash"].items()]
    return rows
