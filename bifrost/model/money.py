"""Exact money: prices on an instrument's tick, amounts in a currency's minor units.

Prices and amounts arrive on the bus as floats (MessagePack has no decimal). They
become Decimals at the edge, through their shortest text (`Decimal(str(x))`: 418.91 is
exactly 418.91), and a price is then put on its instrument's tick; every sum, product
and mid after that is Decimal arithmetic. A mid of two float prices computed in floats
is 418.90999999999997; computed here it is 418.91.

Money leaves as text: in JSON (`exact_text`) the exact Decimal with at least the
instrument's decimals (prices) or the currency's decimals (amounts), so "99915.70" and
never 99915.699999999998; in tables (`rounded_text`) rounded half-even to those
decimals. docs/ARCHITECTURE.md, "Money", is the contract.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from bifrost.errors import BadRequest

CURRENCY_PLACES: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "HKD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "JPY": 0,
    "KRW": 0,
    "USDT": 2,
    "USDC": 2,
    "BTC": 8,
    "ETH": 8,
}
"""Decimals of each currency's minor unit (ISO 4217; 8 for the coins quoted in)."""

Number = float | int | str | Decimal
"""A number as it arrives: a float from the bus, text from the command line, a Decimal."""

DEFAULT_CURRENCY_PLACES = 2
"""Decimals of a currency not listed above."""

AVERAGE_EXTRA_PLACES = 2
"""An average of tick prices (average cost, an order's average fill) falls between ticks;
it is shown with this many decimals beyond the tick's, trailing zeros dropped."""

OFF_TICK_NOISE = Decimal("1e-6")
"""A wire price this close to the tick grid (in ticks) is float noise of a tick price."""


def currency_places(currency: str) -> int:
    """Decimals of `currency`'s minor unit: 2 for USD, 0 for JPY, 8 for BTC."""
    return CURRENCY_PLACES.get(currency.upper(), DEFAULT_CURRENCY_PLACES)


def decimal_from_wire(value: Number) -> Decimal:
    """A number from the bus (or the command line) as an exact Decimal.

    A float goes through its shortest text, so 190.01 is 190.01 and not the binary
    190.009999999999990905052982270717620849609375. NaN, infinities and booleans are
    not money: BadRequest.
    """
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool) or not isinstance(value, float | int | str):
        raise BadRequest(f"{value!r} is not a number")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BadRequest(f"{value!r} is not a finite number")
        number = Decimal(str(value))
    else:
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise BadRequest(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise BadRequest(f"{value!r} is not a finite number")
    return number


def tick_decimal(tick_size: Number) -> Decimal:
    """An instrument's tick size as a Decimal (0.01 -> Decimal('0.01'))."""
    tick = decimal_from_wire(tick_size)
    if tick <= 0:
        raise BadRequest(f"tick size {tick_size!r} must be positive")
    return tick


def tick_places(tick_size: Number) -> int:
    """Decimals a price on this tick has: 0.01 -> 2, 0.25 -> 2, 0.0001 -> 4, 5 -> 0."""
    exponent = tick_decimal(tick_size).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def on_tick(price: Decimal, tick_size: Number) -> Decimal:
    """`price` rounded half-even to the nearest multiple of the tick, with the tick's decimals."""
    tick = tick_decimal(tick_size)
    ticks = (price / tick).to_integral_value(rounding=ROUND_HALF_EVEN)
    return (ticks * tick).quantize(_unit(tick_places(tick)))


def price_from_wire(value: Number, tick_size: Number) -> Decimal:
    """A traded price from the bus: on the tick when it is a tick price with float noise
    (418.90999999999997 -> 418.91); kept exactly as sent when it truly lies between
    ticks (a venue's average price), since rounding it would book cash that never moved."""
    price = decimal_from_wire(value)
    snapped = on_tick(price, tick_size)
    if abs(price - snapped) <= tick_decimal(tick_size) * OFF_TICK_NOISE:
        return snapped
    return price


def price_text(value: Number, tick_size: Number) -> str:
    """A traded or entered price from the bus as exact text with the tick's decimals."""
    return exact_text(price_from_wire(value, tick_size), tick_places(tick_size))


def mid_on_tick(bid: Number, ask: Number, tick_size: float | str) -> Decimal:
    """The mid of a quote, computed in Decimal and rounded half-even to the tick (a mark)."""
    return on_tick(exact_mid(bid, ask), tick_size)


def exact_mid(bid: Number, ask: Number) -> Decimal:
    """Halfway between bid and ask, exactly (an exchange rate keeps the half tick)."""
    return (decimal_from_wire(bid) + decimal_from_wire(ask)) / 2


def exact_text(value: Decimal, places: int) -> str:
    """The exact value as plain text with at least `places` decimals ("418.91", "99915.70",
    "20.9455"): what JSON carries. Never exponent notation."""
    if value == value.quantize(_unit(places), rounding=ROUND_HALF_EVEN):
        return f"{value.quantize(_unit(places)):f}"
    return f"{value.normalize():f}"


def rounded_text(value: Decimal, places: int, grouping: bool = False) -> str:
    """`value` rounded half-even to `places` decimals, for a table (with "," thousands)."""
    rounded = value.quantize(_unit(places), rounding=ROUND_HALF_EVEN)
    return f"{rounded:,f}" if grouping else f"{rounded:f}"


def average_text(value: Decimal, places: int) -> str:
    """An average price: rounded half-even to `places` + AVERAGE_EXTRA_PLACES decimals,
    trailing zeros dropped down to `places` ("190.0133", "418.91")."""
    text = rounded_text(value, places + AVERAGE_EXTRA_PLACES)
    if "." not in text:
        return text
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(places, "0")
    return f"{whole}.{fraction}" if fraction else whole


def amount_text(value: Decimal, currency: str) -> str:
    """An amount of `currency` for JSON: exact, at least the currency's decimals."""
    return exact_text(value, currency_places(currency))


def plain_number(value: Number) -> str:
    """A quantity or price for a message, every digit and no exponent: 1000000, 43123.45.

    Python's `:g` keeps six significant digits, which printed a quantity of a million as
    1e+06 and a price of 43123.45 as 43123.5.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return format(decimal_from_wire(value).normalize(), "f")


def _unit(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)
