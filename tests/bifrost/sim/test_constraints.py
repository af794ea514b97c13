"""Parameter constraints: every built-in strategy refuses values that make no sense,
naming the parameter and the rule, as a usage error (exit 2) that survives the wire."""

from __future__ import annotations

import pytest

from bifrost.errors import BadRequest, ExitCode, InvalidParameter, error_from_wire
from bifrost.sim.constraints import at_least, first_broken, less_than
from bifrost.strategy.builtin import BUILTIN


@pytest.mark.parametrize(
    ("strategy", "params", "parameter", "rule"),
    [
        ("sma_cross", {"fast": 30, "slow": 10}, "fast", "fast < slow"),
        ("sma_cross", {"fast": 20, "slow": 20}, "fast", "fast < slow"),
        ("sma_cross", {"fast": 0}, "fast", "fast >= 1"),
        ("sma_cross", {"slow": -5}, "slow", "slow >= 1"),
        ("rsi_reversion", {"lower": 70, "upper": 30}, "lower", "lower < upper"),
        ("rsi_reversion", {"upper": 130}, "upper", "0 <= upper <= 100"),
        ("rsi_reversion", {"period": 0}, "period", "period >= 1"),
        ("bollinger_breakout", {"k": 0}, "k", "k > 0"),
        ("bollinger_breakout", {"period": 1}, "period", "period >= 2"),
        ("momentum_rotation", {"top": 0}, "top", "top >= 1"),
        ("momentum_rotation", {"lookback": 0}, "lookback", "lookback >= 1"),
        ("momentum_rotation", {"rebalance": 0}, "rebalance", "rebalance >= 1"),
        ("ml_signal", {"threshold": 1.5}, "threshold", "0 <= threshold <= 1"),
        ("ml_signal", {"version": -1}, "version", "version >= 0"),
    ],
)
def test_builtin_strategy_breaking_a_constraint_is_refused_naming_it(
    strategy: str, params: dict, parameter: str, rule: str
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        BUILTIN[strategy](**params)
    assert caught.value.parameter == parameter
    assert rule in caught.value.message
    assert f"{parameter}=" in caught.value.message
    assert caught.value.exit_code is ExitCode.USAGE


@pytest.mark.parametrize("name", list(BUILTIN))
def test_builtin_strategy_defaults_keep_every_constraint(name: str) -> None:
    cls = BUILTIN[name]
    assert cls.constraints, f"{name} declares no constraints"
    assert first_broken(cls.constraints, cls.checked_params({})) is None


def test_constraint_message_shows_the_other_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"fast=30 breaks fast < slow \(slow=10\)"):
        BUILTIN["sma_cross"](fast=30, slow=10)


def test_parameter_of_the_wrong_type_is_invalid_naming_it() -> None:
    with pytest.raises(InvalidParameter, match="fast='abc'") as caught:
        BUILTIN["sma_cross"](fast="abc")
    assert caught.value.parameter == "fast"


def test_unknown_parameter_is_invalid_naming_it() -> None:
    with pytest.raises(InvalidParameter, match="no parameter 'speed'") as caught:
        BUILTIN["sma_cross"](speed=3)
    assert caught.value.parameter == "speed"


def test_invalid_parameter_crosses_the_wire_as_bad_request_and_comes_back_typed() -> None:
    wire = InvalidParameter("fast", "sma_cross: fast=30 breaks fast < slow", "fast < slow")
    assert wire.to_wire()["code"] == "BAD_REQUEST"
    back = error_from_wire(wire.to_wire())
    assert isinstance(back, InvalidParameter) and isinstance(back, BadRequest)
    assert (back.parameter, back.constraint, back.message) == (
        "fast",
        "fast < slow",
        wire.message,
    )


def test_bad_request_without_a_parameter_stays_a_plain_bad_request() -> None:
    back = error_from_wire({"code": "BAD_REQUEST", "message": "no", "details": {}})
    assert type(back) is BadRequest


def test_rule_over_a_value_it_cannot_compare_is_broken() -> None:
    assert first_broken((at_least("n", 1),), {"n": float("nan")}) is not None
    assert first_broken((less_than("a", "b"),), {"a": 1, "b": None}) is not None
