"""Exact money at the edges: wire floats to Decimals, mids and marks on the tick, money as
text with the instrument's or the currency's decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bifrost.errors import BadRequest
from bifrost.model.money import (
    amount_text,
    average_text,
    currency_places,
    decimal_from_wire,
    exact_text,
    mid_on_tick,
    on_tick,
    price_from_wire,
    price_text,
    rounded_text,
    tick_places,
)

TICKS = [Decimal("0.01"), Decimal("0.05"), Decimal("0.25"), Decimal("0.0001"), Decimal("1")]


def test_mid_on_tick_of_float_bid_and_ask_is_the_decimal_mid_not_the_float_one() -> None:
    assert (418.90 + 418.92) / 2 == 418.90999999999997  # the float mid the desk showed
    assert mid_on_tick(418.90, 418.92, 0.01) == Decimal("418.91")


def test_mid_on_tick_half_a_tick_rounds_half_even() -> None:
    # 418.905 -> 418.90 (0 even), 418.915 -> 418.92 (2 even)
    assert mid_on_tick(418.90, 418.91, 0.01) == Decimal("418.90")
    assert mid_on_tick(418.91, 418.92, 0.01) == Decimal("418.92")


def test_on_tick_coarse_tick_rounds_to_its_multiples_with_its_decimals() -> None:
    assert str(on_tick(Decimal("10.13"), 0.25)) == "10.25"
    assert str(on_tick(Decimal("10.12"), 0.25)) == "10.00"
    assert str(on_tick(Decimal("1234.4"), 5.0)) == "1235"


def test_price_from_wire_float_noise_snaps_to_the_tick() -> None:
    assert price_from_wire(418.90999999999997, 0.01) == Decimal("418.91")


def test_price_from_wire_price_truly_between_ticks_is_kept_as_sent() -> None:
    assert price_from_wire(419.119455, 0.01) == Decimal("419.119455")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, None, "abc"])
def test_decimal_from_wire_non_number_is_bad_request(value) -> None:
    with pytest.raises(BadRequest):
        decimal_from_wire(value)


def test_decimal_from_wire_float_goes_through_its_shortest_text() -> None:
    assert decimal_from_wire(0.1) + decimal_from_wire(0.2) == Decimal("0.3")


@pytest.mark.parametrize(
    ("currency", "places"), [("USD", 2), ("eur", 2), ("JPY", 0), ("BTC", 8), ("XYZ", 2)]
)
def test_currency_places_are_the_minor_unit(currency: str, places: int) -> None:
    assert currency_places(currency) == places


@pytest.mark.parametrize(
    ("tick", "places"), [(0.01, 2), (0.05, 2), (0.25, 2), (0.0001, 4), (1.0, 0), (5.0, 0)]
)
def test_tick_places_are_the_decimals_of_the_tick(tick: float, places: int) -> None:
    assert tick_places(tick) == places


def test_amount_text_cash_has_the_currency_decimals() -> None:
    assert amount_text(Decimal("99915.7"), "USD") == "99915.70"
    assert amount_text(Decimal("99915.70000000"), "USD") == "99915.70"
    assert amount_text(Decimal("1500"), "JPY") == "1500"


def test_amount_text_keeps_exact_digits_beyond_the_currency_decimals() -> None:
    assert amount_text(Decimal("20.94550000"), "USD") == "20.9455"


def test_exact_text_never_uses_exponent_notation() -> None:
    assert exact_text(Decimal("1E+3"), 2) == "1000.00"
    assert exact_text(Decimal("1E-7"), 2) == "0.0000001"


def test_rounded_text_rounds_half_even_and_groups_thousands() -> None:
    assert rounded_text(Decimal("99915.699999999998000"), 2, grouping=True) == "99,915.70"
    assert rounded_text(Decimal("0.125"), 2) == "0.12"
    assert rounded_text(Decimal("0.135"), 2) == "0.14"


def test_average_text_shows_two_more_decimals_without_trailing_zeros() -> None:
    assert average_text(Decimal("190.0133333333"), 2) == "190.0133"
    assert average_text(Decimal("418.91"), 2) == "418.91"
    assert average_text(Decimal("418.9"), 2) == "418.90"


def test_price_text_float_price_has_the_tick_decimals() -> None:
    assert price_text(418.9, 0.01) == "418.90"
    assert price_text(1.085, 0.0001) == "1.0850"


@given(ticks=st.integers(1, 10**9), tick=st.sampled_from(TICKS))
def test_price_from_wire_any_tick_price_as_a_float_is_that_price(ticks: int, tick: Decimal) -> None:
    price = ticks * tick
    assert price_from_wire(float(price), tick) == price


@given(bid=st.integers(1, 10**8), spread=st.integers(0, 1000), tick=st.sampled_from(TICKS))
def test_mid_on_tick_any_float_quote_is_the_half_even_decimal_mid(
    bid: int, spread: int, tick: Decimal
) -> None:
    bid_price, ask_price = bid * tick, (bid + spread) * tick
    # Worked here in ticks: the mid is (2 * bid + spread) / 2 ticks, half-even to a tick.
    mid_ticks = (Decimal(2 * bid + spread) / 2).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    expected = mid_ticks * tick
    assert mid_on_tick(float(bid_price), float(ask_price), tick) == expected
    assert price_text(float(expected), tick) == f"{expected:.{tick_places(tick)}f}"
