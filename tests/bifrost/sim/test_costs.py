"""Commission models, slippage models, whole-lot sizing and the commission parser."""

from __future__ import annotations

import re

import pytest

from bifrost.errors import BadRequest
from bifrost.model.market import Side
from bifrost.sim.costs import (
    FixedBpsSlippage,
    FixedCommission,
    PercentCommission,
    PerShareCommission,
    SpreadSlippage,
    parse_commission,
    whole_lots,
)

# -- commission --------------------------------------------------------------------------


def test_percent_commission_is_rate_times_notional() -> None:
    # 0.001 * 50 shares * 100 = 5
    assert PercentCommission(0.001).commission(50, 100.0) == pytest.approx(5.0)


def test_per_share_commission_small_fill_pays_the_minimum() -> None:
    # 0.005 * 100 = 0.50 < minimum 1
    assert PerShareCommission(0.005, 1.0).commission(100, 20.0) == 1.0


def test_per_share_commission_large_fill_pays_per_share() -> None:
    # 0.005 * 1000 = 5 > minimum 1
    assert PerShareCommission(0.005, 1.0).commission(1000, 20.0) == pytest.approx(5.0)


def test_fixed_commission_ignores_size_and_price() -> None:
    model = FixedCommission(2.5)
    assert model.commission(1, 1.0) == model.commission(10_000, 500.0) == 2.5


# -- max_quantity: the most whole lots the cash pays for, commission included ----------------


def test_percent_max_quantity_leaves_room_for_the_commission() -> None:
    # 10 000 / (99 * 1.001) = 100.91 -> 100; 101 would cost 101 * 99.099 = 10 009.0
    assert PercentCommission(0.001).max_quantity(10_000.0, 99.0, 1.0) == 100


def test_per_share_max_quantity_minimum_binding_pays_the_minimum() -> None:
    # (1000 - 10) / 10 = 99; 99 * 10 + max(10, 0.99) = 1000 fits exactly
    assert PerShareCommission(0.01, 10.0).max_quantity(1000.0, 10.0, 1.0) == 99


def test_per_share_max_quantity_per_share_binding_steps_down_until_it_fits() -> None:
    # each share costs 9 + 0.5 = 9.5 -> 1000 / 9.5 = 105.26 -> 105 (997.5); 106 costs 1007
    assert PerShareCommission(0.5, 1.0).max_quantity(1000.0, 9.0, 1.0) == 105


def test_per_share_max_quantity_cash_below_minimum_is_zero() -> None:
    assert PerShareCommission(0.005, 5.0).max_quantity(4.0, 1.0, 1.0) == 0.0


def test_fixed_max_quantity_takes_the_fee_off_first() -> None:
    # (1000 - 5) / 9 = 110.56 -> 110
    assert FixedCommission(5.0).max_quantity(1000.0, 9.0, 1.0) == 110


def test_fixed_max_quantity_fee_above_cash_is_zero() -> None:
    assert FixedCommission(5.0).max_quantity(3.0, 1.0, 1.0) == 0.0


def test_percent_max_quantity_respects_the_lot_size() -> None:
    # 1000 / 9 = 111.1 shares = 4.44 lots of 25 -> 4 lots = 100 shares
    assert PercentCommission(0.0).max_quantity(1000.0, 9.0, 25.0) == 100


# -- slippage ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "expected"),
    [(Side.BUY, 100.1), (Side.SELL, 99.9)],  # 100 * (1 ± 10 / 10 000)
)
def test_fixed_bps_slippage_moves_price_against_the_trader(side: Side, expected: float) -> None:
    assert FixedBpsSlippage(10).adjust(side, 100.0) == pytest.approx(expected)


def test_fixed_bps_slippage_zero_keeps_the_price() -> None:
    assert FixedBpsSlippage(0).adjust(Side.BUY, 123.45) == 123.45


@pytest.mark.parametrize(
    ("side", "expected"),
    # buy: (100 + 0.2 / 2) * 1.001 = 100.2001; sell: (100 - 0.1) * 0.999 = 99.8001
    [(Side.BUY, 100.2001), (Side.SELL, 99.8001)],
)
def test_spread_slippage_crosses_half_the_spread_plus_extra(side: Side, expected: float) -> None:
    assert SpreadSlippage(extra_bps=10).adjust(side, 100.0, spread=0.2) == pytest.approx(expected)


# -- whole_lots --------------------------------------------------------------------------


def test_whole_lots_rounds_down_to_the_lot() -> None:
    assert whole_lots(123.7, 10.0) == 120.0


def test_whole_lots_float_noise_is_absorbed() -> None:
    # 0.3 / 0.1 = 2.9999999999999996 in floats: still three lots
    assert whole_lots(0.3, 0.1) == pytest.approx(0.3)


@pytest.mark.parametrize("lot", [0.0, -1.0])
def test_whole_lots_non_positive_lot_raises_bad_request(lot: float) -> None:
    with pytest.raises(BadRequest, match="lot size must be positive"):
        whole_lots(10.0, lot)


# -- parse_commission --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.001", PercentCommission(0.001)),
        ("0.005/share", PerShareCommission(0.005, 0.0)),
        ("0.005/share,min=1", PerShareCommission(0.005, 1.0)),
        ("  0.005/SHARE,MIN=1.5 ", PerShareCommission(0.005, 1.5)),
        ("1/order", FixedCommission(1.0)),
        ("2.5/ORDER", FixedCommission(2.5)),
    ],
)
def test_parse_commission_known_forms_give_their_model(text: str, expected: object) -> None:
    assert parse_commission(text) == expected


def test_parse_commission_percent_sign_divides_by_100() -> None:
    model = parse_commission("0.1%")
    assert isinstance(model, PercentCommission)
    assert model.rate == pytest.approx(0.001)


@pytest.mark.parametrize("text", ["cheap", "x/order", "0.005/share,min=", "", "1%%"])
def test_parse_commission_garbage_raises_bad_request_naming_it(text: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(f"commission '{text}' is not like 0.001")):
        parse_commission(text)
