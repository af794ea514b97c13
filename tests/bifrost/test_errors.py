"""Tests of bifrost/errors.py: codes, exit codes and the wire round trip."""

from __future__ import annotations

import pytest

from bifrost import errors
from bifrost.errors import (
    BadRequest,
    BifrostError,
    ConfigError,
    ErrorCode,
    ExitCode,
    Internal,
    Rejected,
    Timeout,
    Unavailable,
    error_from_wire,
)

WIRE_CLASSES = [
    errors.BadRequest,
    errors.UnknownMethod,
    errors.Unauthenticated,
    errors.Forbidden,
    errors.RateLimited,
    errors.Rejected,
    errors.NotFound,
    errors.Conflict,
    errors.Unavailable,
    errors.Timeout,
    errors.Internal,
]


def test_exit_code_values_match_the_cli_contract() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0),
        ("ERROR", 1),
        ("USAGE", 2),
        ("UNAVAILABLE", 3),
        ("REJECTED", 4),
    ]


def test_error_classes_each_code_has_exactly_one_class() -> None:
    assert sorted(cls.code for cls in WIRE_CLASSES) == sorted(ErrorCode)


@pytest.mark.parametrize("cls", WIRE_CLASSES, ids=lambda cls: cls.__name__)
def test_error_from_wire_round_trip_keeps_type_message_and_details(cls: type) -> None:
    original = cls("something went wrong", {"symbol": "AAPL", "limit": 5})
    rebuilt = error_from_wire(original.to_wire())
    assert type(rebuilt) is cls
    assert rebuilt.message == "something went wrong"
    assert rebuilt.details == {"symbol": "AAPL", "limit": 5}
    assert rebuilt.code == original.code
    assert rebuilt.exit_code == original.exit_code


def test_error_to_wire_shape_is_code_message_details() -> None:
    wire = Rejected("order exceeds max notional", {"limit": 1000}).to_wire()
    assert wire == {
        "code": "REJECTED",
        "message": "order exceeds max notional",
        "details": {"limit": 1000},
    }


def test_error_from_wire_unknown_code_is_internal() -> None:
    error = error_from_wire({"code": "NO_SUCH_CODE", "message": "odd"})
    assert type(error) is Internal
    assert error.message == "odd"


def test_error_from_wire_missing_fields_gives_empty_message_and_details() -> None:
    error = error_from_wire({})
    assert type(error) is Internal
    assert error.message == ""
    assert error.details == {}


def test_error_from_wire_non_map_details_become_empty() -> None:
    error = error_from_wire({"code": "NOT_FOUND", "message": "x", "details": [1, 2]})
    assert isinstance(error, errors.NotFound)
    assert error.details == {}


def test_error_exit_codes_follow_their_kind() -> None:
    assert Rejected("r").exit_code is ExitCode.REJECTED
    assert Unavailable("u").exit_code is ExitCode.UNAVAILABLE
    assert Timeout("t").exit_code is ExitCode.UNAVAILABLE
    assert BadRequest("b").exit_code is ExitCode.ERROR
    assert Internal("i").exit_code is ExitCode.ERROR


def test_config_error_is_a_bad_request_bifrost_error() -> None:
    error = ConfigError("bad key", {"file": "x.toml"})
    assert isinstance(error, BifrostError)
    assert error.code is ErrorCode.BAD_REQUEST
    assert str(error) == "bad key"
    assert error.to_wire()["details"] == {"file": "x.toml"}


def test_bifrost_error_without_details_has_empty_map() -> None:
    assert BadRequest("x").details == {}
