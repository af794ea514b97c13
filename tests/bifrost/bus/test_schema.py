"""Tests of bifrost/bus/schema.py: declarative message shapes and the plain-data walk."""

from __future__ import annotations

import msgpack
import pytest

from bifrost.bus.schema import MAX_DEPTH, ListOf, Optional, Schema, check_plain, check_value
from bifrost.errors import BadRequest

ORDER = Schema(
    "order",
    {
        "symbol": str,
        "qty": float,
        "tags": Optional(ListOf(str, max_items=3)),
        "meta": Optional(dict),
        "leg": Optional(Schema("leg", {"ratio": int})),
    },
)


def refused(schema: Schema, value: object) -> str:
    with pytest.raises(BadRequest) as caught:
        schema.check(value)
    return caught.value.message


def test_schema_check_valid_value_returns_it() -> None:
    value = {"symbol": "AAPL", "qty": 10, "tags": ["a"], "leg": {"ratio": 2}}
    assert ORDER.check(value) is value


def test_schema_check_optional_fields_may_be_absent_or_nil() -> None:
    assert ORDER.check({"symbol": "AAPL", "qty": 1.5, "tags": None})


def test_schema_check_not_a_map_is_refused() -> None:
    assert refused(ORDER, ["AAPL"]) == "order: expected a map, got list"


def test_schema_check_missing_field_names_it() -> None:
    assert refused(ORDER, {"symbol": "AAPL"}) == "order: missing field 'qty'"


def test_schema_check_unknown_field_names_it() -> None:
    assert refused(ORDER, {"symbol": "A", "qty": 1, "side": "BUY"}) == "order: unknown field 'side'"


def test_schema_check_wrong_type_names_field_path() -> None:
    assert refused(ORDER, {"symbol": 5, "qty": 1}) == "order.symbol: expected str, got int"


def test_schema_check_bool_is_not_a_number() -> None:
    assert "order.qty: expected a number, got bool" in refused(ORDER, {"symbol": "A", "qty": True})


def test_schema_check_nested_schema_error_names_full_path() -> None:
    message = refused(ORDER, {"symbol": "A", "qty": 1, "leg": {"ratio": "2"}})
    assert message == "order.leg.ratio: expected int, got string"


def test_schema_check_list_item_error_names_index() -> None:
    message = refused(ORDER, {"symbol": "A", "qty": 1, "tags": ["a", 7]})
    assert message == "order.tags[1]: expected str, got int"


def test_schema_check_too_many_list_items_is_refused() -> None:
    message = refused(ORDER, {"symbol": "A", "qty": 1, "tags": ["a", "b", "c", "d"]})
    assert "more than 3 items" in message


def test_schema_check_free_form_dict_with_timestamp_is_refused() -> None:
    value = {"symbol": "A", "qty": 1, "meta": {"when": msgpack.Timestamp(1, 0)}}
    assert "order.meta: Timestamp values are not allowed" in refused(ORDER, value)


def test_schema_open_allows_unknown_plain_fields() -> None:
    schema = Schema("event", {"kind": str}, open=True)
    assert schema.check({"kind": "x", "extra": [1, {"a": b"b"}]})


def test_schema_open_refuses_unknown_non_plain_fields() -> None:
    schema = Schema("event", {"kind": str}, open=True)
    assert "event.extra" in refused(schema, {"kind": "x", "extra": {1, 2}})


def test_check_plain_nested_too_deep_is_refused() -> None:
    value: list = []
    for _ in range(MAX_DEPTH + 2):
        value = [value]
    with pytest.raises(BadRequest, match="nested deeper than"):
        check_plain(value, "body")


def test_check_plain_scalars_and_containers_pass() -> None:
    check_plain({"a": [1, 2.5, "s", b"b", True, None]}, "body")


def test_check_value_list_spec_requires_a_list() -> None:
    with pytest.raises(BadRequest, match="x: expected a list, got map"):
        check_value(list, {}, "x")
