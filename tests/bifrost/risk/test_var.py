"""VaR and CVaR against numbers worked out by hand, and scenario P&L from daily closes.

The hand-made series is the 100 P&L values -50, -49, ..., 49. Its 5% quantile
(linear interpolation, position 0.05 * 99 = 4.95 in the sorted values) lies 0.95 of
the way from -46 to -45: -45.05, so the historical 95% VaR is 45.05; the scenarios at
or below it are -50..-46, whose mean loss (CVaR) is 48. Its mean is -0.5 and its
sample variance n(n+1)/12 = 841.67 (that of 0..99), which the parametric
formulas of the module docstring use with z = the 5% standard normal quantile.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bifrost.errors import BadRequest
from bifrost.risk.var import scenario_pnl, value_at_risk

SERIES = np.arange(-50.0, 50.0)
Z_95 = -1.6448536269514722
"""The 5% quantile of the standard normal (tables give -1.6449)."""
MEAN = -0.5
SIGMA = math.sqrt(100 * 101 / 12)


def normal_pdf(z: float) -> float:
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def test_value_at_risk_historical_var_is_the_interpolated_loss_quantile() -> None:
    assert value_at_risk(SERIES, 0.95)["historical_var"] == pytest.approx(45.05)


def test_value_at_risk_historical_cvar_is_the_mean_loss_beyond_var() -> None:
    assert value_at_risk(SERIES, 0.95)["historical_cvar"] == pytest.approx(48.0)


def test_value_at_risk_historical_var_at_99_percent() -> None:
    # position 0.01 * 99 = 0.99: from -50 to -49, so -49.01; only -50 lies beyond it
    result = value_at_risk(SERIES, 0.99)
    assert (result["historical_var"], result["historical_cvar"]) == pytest.approx((49.01, 50.0))


def test_value_at_risk_parametric_var_is_minus_mean_plus_z_sigma() -> None:
    expected = -(MEAN + Z_95 * SIGMA)  # 0.5 + 1.64485 * 29.01149 = 48.2197
    assert value_at_risk(SERIES, 0.95)["parametric_var"] == pytest.approx(expected)
    assert expected == pytest.approx(48.2197, abs=1e-4)


def test_value_at_risk_parametric_cvar_is_the_normal_tail_mean() -> None:
    # 0.5 + 29.01149 * 0.103136 / 0.05 = 60.3424
    expected = -(MEAN - SIGMA * normal_pdf(Z_95) / 0.05)
    assert value_at_risk(SERIES, 0.95)["parametric_cvar"] == pytest.approx(expected)
    assert expected == pytest.approx(60.3424, abs=1e-4)


def test_value_at_risk_reports_confidence_and_scenario_count() -> None:
    result = value_at_risk(SERIES, 0.95)
    assert (result["confidence"], result["scenarios"]) == (0.95, 100)


def test_value_at_risk_does_not_depend_on_scenario_order() -> None:
    shuffled = np.random.default_rng(3).permutation(SERIES)
    assert value_at_risk(shuffled, 0.95) == value_at_risk(SERIES, 0.95)


def test_value_at_risk_all_gains_is_a_negative_var() -> None:
    result = value_at_risk(np.arange(1.0, 101.0), 0.95)
    assert result["historical_var"] == pytest.approx(-5.95)


@pytest.mark.parametrize("confidence", [0.5, 1.0, 0.3, 1.5, 95.0])
def test_value_at_risk_confidence_outside_half_to_one_is_bad_request(confidence: float) -> None:
    with pytest.raises(BadRequest, match="confidence"):
        value_at_risk(SERIES, confidence)


def test_value_at_risk_fewer_than_20_scenarios_is_bad_request() -> None:
    with pytest.raises(BadRequest, match="19 scenarios are too few"):
        value_at_risk(SERIES[:19], 0.95)


def test_value_at_risk_exactly_20_scenarios_is_enough() -> None:
    assert value_at_risk(SERIES[:20], 0.95)["scenarios"] == 20


# -- scenario P&L ---------------------------------------------------------------------


def test_scenario_pnl_is_quantity_times_price_times_each_days_return() -> None:
    closes = {"A": np.array([100.0, 110.0, 99.0])}  # returns +10%, -10%
    pnl = scenario_pnl({"A": 10}, {"A": 50.0}, closes)
    assert pnl == pytest.approx([50.0, -50.0])


def test_scenario_pnl_short_position_gains_when_prices_fall() -> None:
    closes = {"A": np.array([100.0, 110.0, 99.0])}
    pnl = scenario_pnl({"A": -10}, {"A": 50.0}, closes)
    assert pnl == pytest.approx([-50.0, 50.0])


def test_scenario_pnl_aligns_symbols_on_the_shortest_history_last_days() -> None:
    closes = {
        "A": np.array([100.0, 200.0, 100.0, 110.0, 99.0]),  # returns 1, -0.5, 0.1, -0.1
        "B": np.array([50.0, 40.0, 50.0]),  # returns -0.2, 0.25
    }
    pnl = scenario_pnl({"A": 10, "B": -5}, {"A": 100.0, "B": 50.0}, closes)
    # A: 1000 * [0.1, -0.1]; B: -250 * [-0.2, 0.25]
    assert pnl == pytest.approx([100.0 + 50.0, -100.0 - 62.5])


def test_scenario_pnl_ignores_flat_symbols_without_history() -> None:
    closes = {"A": np.array([100.0, 110.0, 99.0])}
    pnl = scenario_pnl({"A": 10, "FLAT": 0}, {"A": 50.0}, closes)
    assert len(pnl) == 2


@pytest.mark.parametrize("positions", [{}, {"A": 0}, {"A": 0.0, "B": 0}])
def test_scenario_pnl_without_positions_is_bad_request(positions: dict[str, float]) -> None:
    with pytest.raises(BadRequest, match="no open positions"):
        scenario_pnl(positions, {"A": 1.0, "B": 1.0}, {})


def test_scenario_pnl_with_under_three_closes_is_bad_request_naming_the_symbol() -> None:
    closes = {"A": np.array([100.0, 110.0, 99.0]), "B": np.array([50.0, 51.0])}
    with pytest.raises(BadRequest, match="not enough stored daily bars for B"):
        scenario_pnl({"A": 1, "B": 1}, {"A": 1.0, "B": 1.0}, closes)


def test_scenario_pnl_with_no_closes_for_a_held_symbol_is_bad_request_naming_it() -> None:
    with pytest.raises(BadRequest, match="for C"):
        scenario_pnl({"C": 5}, {"C": 1.0}, {})
