"""Table cells as a trader reads them: `fast=5 slow=20`, `AAPL 70  MSFT -20`, `5,000,000`,
never the Python text of a dict or a list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bifrost.model.money import currency_places, decimal_from_wire, rounded_text


def value_text(value: Any) -> str:
    """One parameter's value as it would be typed: 5, 0.5, true, AAPL MSFT."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ",".join(value_text(item) for item in value)
    if isinstance(value, Mapping):
        return params_text(value)
    return str(value)


def params_text(params: Mapping[str, Any]) -> str:
    """`fast=5 slow=20`, the form the start dialogs take; '-' for none."""
    return " ".join(f"{name}={value_text(value)}" for name, value in params.items()) or "-"


def positions_text(positions: Mapping[str, Any]) -> str:
    """`AAPL 70  MSFT -20`; '-' for none."""
    held = [f"{symbol} {float(quantity):g}" for symbol, quantity in positions.items() if quantity]
    return "  ".join(held) or "-"


def amount_text(value: Any) -> str:
    """A limit or a figure with thousands grouped: 5,000,000, 0.5, 66.20; lists joined."""
    if isinstance(value, bool) or value is None:
        return value_text(value) if value is not None else "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value) or "-"
    if isinstance(value, Mapping):
        return params_text(value)
    return str(value)


def currency_amount(value: Any, currency: str) -> str:
    """An amount from the portfolio (exact text) with its currency's decimals and ","."""
    return rounded_text(decimal_from_wire(value), currency_places(currency), grouping=True)
