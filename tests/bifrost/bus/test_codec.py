"""Tests of bifrost/bus/codec.py: untrusted frames in, checked messages out."""

from __future__ import annotations

import datetime

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bifrost.bus import codec
from bifrost.errors import BadRequest, NotFound

PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


def refused(data: bytes, max_bytes: int = codec.MAX_REQUEST_BYTES) -> str:
    with pytest.raises(BadRequest) as caught:
        codec.unpack(data, max_bytes)
    return caught.value.message


@settings(max_examples=100, deadline=None, database=None)
@given(PLAIN)
def test_unpack_packed_plain_data_round_trips(value: object) -> None:
    assert codec.unpack(codec.pack(value), codec.MAX_REQUEST_BYTES) == value


def test_unpack_frame_over_limit_is_refused_before_reading() -> None:
    assert refused(b"\x00" * 11, max_bytes=10) == "frame of 11 bytes exceeds the limit of 10"


def test_unpack_ext_type_is_refused() -> None:
    assert "ext" in refused(msgpack.packb(msgpack.ExtType(5, b"abc")))


def test_unpack_msgpack_timestamp_is_refused() -> None:
    assert "ext" in refused(msgpack.packb(msgpack.Timestamp(1_700_000_000, 5)))


def test_unpack_packed_datetime_is_refused() -> None:
    now = datetime.datetime.now(datetime.UTC)
    assert "ext" in refused(msgpack.packb({"at": now}, datetime=True))


def test_unpack_non_string_map_key_is_refused() -> None:
    assert "map key" in refused(msgpack.packb({1: "one"}))


def test_unpack_truncated_frame_is_refused() -> None:
    assert "incomplete" in refused(msgpack.packb([1, 2, 3])[:-1])


def test_unpack_trailing_bytes_are_refused() -> None:
    assert "extra data" in refused(msgpack.packb(1) + b"\x01")


def test_unpack_reserved_byte_is_refused() -> None:
    assert refused(b"\xc1").startswith("not a valid msgpack frame")


def test_unpack_invalid_utf8_string_is_refused() -> None:
    assert "UnicodeDecodeError" in refused(b"\xa2\xff\xfe")


def test_unpack_declared_length_beyond_frame_is_refused() -> None:
    assert "exceeds max_array_len" in refused(b"\xdd\xff\xff\xff\xff")


def test_unpack_absurd_nesting_is_refused() -> None:
    assert "StackError" in refused(b"\x91" * 5000)


def test_unpack_empty_frame_is_refused() -> None:
    assert "incomplete" in refused(b"")


def test_event_frame_starts_with_topic_so_prefix_filters_work() -> None:
    frame = codec.encode_event("quote.AAPL", "quote", 7, 123, "data@local", "c", {"bid": 1.5})
    assert frame.startswith(b"quote.AAPL\x00")


def test_event_round_trip_keeps_topic_and_every_field() -> None:
    frame = codec.encode_event("quote.A", "quote", 7, 123, "data@local", "cid-1", {"bid": 1.5})
    topic, env = codec.decode_event(frame)
    assert topic == "quote.A"
    assert codec.Envelope(*env) == codec.Envelope(
        2, "quote", 7, 123, "data@local", "cid-1", {"bid": 1.5}
    )


def test_event_encoder_makes_the_same_bytes_as_encode_event() -> None:
    encode = codec.event_encoder()
    made = encode(codec.topic_prefix("bar.1m.A"), "bar", 3, 9, "data@h", "", {"c": 1.0})
    assert made == codec.encode_event("bar.1m.A", "bar", 3, 9, "data@h", "", {"c": 1.0})


def test_event_topic_with_nul_is_refused_when_published() -> None:
    with pytest.raises(ValueError, match="NUL"):
        codec.topic_prefix("quote.\x00A")


def test_event_without_topic_end_names_wire_v1() -> None:
    with pytest.raises(BadRequest, match="wire v1 event"):
        codec.decode_event(b"quote.AAPL")


def test_envelope_round_trip_keeps_every_field() -> None:
    frame = codec.encode_envelope("quote", 7, 123, "data@local", "cid-1", {"bid": 1.5})
    assert codec.decode_envelope(frame) == codec.Envelope(
        2, "quote", 7, 123, "data@local", "cid-1", {"bid": 1.5}
    )


def test_envelope_batch_round_trip_keeps_columns() -> None:
    body = codec.batch_body("quote", 2, {"bid": [1.0, 2.0], "sym": ["A", "B"]})
    env = codec.decode_envelope(codec.encode_envelope(codec.BATCH_TYPE, 3, 1, "s", "", body))
    assert env.body == {"type": "quote", "n": 2, "columns": {"bid": [1.0, 2.0], "sym": ["A", "B"]}}


def test_columns_of_bodies_gives_one_list_per_field() -> None:
    columns = codec.columns_of([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    assert columns == {"a": [1, 2], "b": ["x", "y"]}


def test_columns_of_bodies_with_other_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="needs the fields"):
        codec.columns_of([{"a": 1}, {"b": 2}])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"type": "q", "items": [1]}, "expected a map \\{type, n, columns\\}"),
        ({"type": "q", "n": 2, "columns": {"a": [1]}}, "column 'a' must be a list of 2"),
        ({"type": "q", "n": 0, "columns": {}}, "n must be 1 to"),
        ({"type": "q", "n": 1, "columns": {"a": 1}}, "column 'a' must be a list"),
    ],
)
def test_envelope_malformed_batch_is_refused(body: object, problem: str) -> None:
    frame = codec.encode_envelope(codec.BATCH_TYPE, 3, 1, "s", "", body)
    with pytest.raises(BadRequest, match=problem):
        codec.decode_envelope(frame)


def test_envelope_wrong_item_count_is_refused() -> None:
    with pytest.raises(BadRequest, match="7-item array"):
        codec.decode_envelope(codec.pack([2, "quote", 1, 1, "s", ""]))


def test_envelope_wrong_field_types_are_refused() -> None:
    with pytest.raises(BadRequest, match="seq and ts must be integers"):
        codec.decode_envelope(codec.pack([2, "quote", "1", 1, "s", "", {}]))
    with pytest.raises(BadRequest, match="seq and ts must be integers"):
        codec.decode_envelope(codec.pack([2, "quote", 1, 1.5, "s", "", {}]))


def test_envelope_other_protocol_version_is_refused_naming_both() -> None:
    with pytest.raises(BadRequest, match="protocol version 1 is not 2"):
        codec.decode_envelope(codec.pack([1, "quote", 1, 1, "s", "", {}]))


def test_envelope_not_packed_as_a_fixarray_is_refused() -> None:
    # The same 7 items as an array16: the version is read from the first two bytes.
    items = codec.pack([2, "quote", 1, 1, "s", "", {}])[1:]
    with pytest.raises(BadRequest, match="fixarray of 7"):
        codec.decode_envelope(b"\xdc\x00\x07" + items)


def test_envelope_version_that_is_not_an_int_is_refused() -> None:
    with pytest.raises(BadRequest, match="seq and ts must be integers"):
        codec.decode_envelope(codec.pack([2.0, "quote", 1, 1, "s", "", {}]))


def test_envelope_body_with_ext_value_is_refused() -> None:
    frame = msgpack.packb([2, "quote", 1, 1, "s", "", {"t": msgpack.Timestamp(1, 0)}])
    with pytest.raises(BadRequest, match="ext"):
        codec.decode_envelope(frame)


def test_envelope_over_event_limit_is_refused() -> None:
    with pytest.raises(BadRequest, match="exceeds the limit"):
        codec.decode_envelope(b"\x00" * (codec.MAX_EVENT_BYTES + 1))


def test_request_round_trip_gives_checked_request() -> None:
    frame = codec.encode_request(9, "snapshot", {"prefix": "quote."}, "c1", 250)
    expected = codec.Request(9, "snapshot", {"prefix": "quote."}, "c1", 250)
    assert codec.decode_request(frame) == expected


def test_request_nil_params_cid_and_deadline_get_defaults() -> None:
    frame = codec.pack({"v": 2, "id": 1, "method": "health", "params": None})
    assert codec.decode_request(frame) == codec.Request(1, "health", {}, "", None)


def test_request_missing_method_names_it() -> None:
    with pytest.raises(BadRequest, match="request: missing field 'method'"):
        codec.decode_request(codec.pack({"v": 2, "id": 1}))


def test_request_unknown_field_names_it() -> None:
    with pytest.raises(BadRequest, match="request: unknown field 'user'"):
        codec.decode_request(codec.pack({"v": 2, "id": 1, "method": "m", "user": "x"}))


def test_request_bool_id_is_refused() -> None:
    with pytest.raises(BadRequest, match=r"request\.id: expected int, got bool"):
        codec.decode_request(codec.pack({"v": 2, "id": True, "method": "m"}))


def test_request_params_not_a_map_is_refused() -> None:
    with pytest.raises(BadRequest, match=r"request\.params: expected a dict, got list"):
        codec.decode_request(codec.pack({"v": 2, "id": 1, "method": "m", "params": [1]}))


def test_request_params_with_timestamp_are_refused() -> None:
    frame = msgpack.packb(
        {"v": 2, "id": 1, "method": "m", "params": {"t": msgpack.Timestamp(1, 0)}}
    )
    with pytest.raises(BadRequest, match="ext"):
        codec.decode_request(frame)


def test_request_v1_is_refused_naming_both_versions() -> None:
    with pytest.raises(BadRequest, match="protocol version 1 is not 2"):
        codec.decode_request(codec.pack({"v": 1, "id": 1, "method": "m"}))


def test_request_nil_version_is_refused() -> None:
    frame = codec.pack(
        {"v": None, "id": 1, "method": "m", "params": {}, "cid": "c", "deadline_ms": 10}
    )
    with pytest.raises(BadRequest, match=r"request\.v: expected int"):
        codec.decode_request(frame)


def test_request_other_protocol_version_is_refused() -> None:
    with pytest.raises(BadRequest, match="protocol version 3"):
        codec.decode_request(codec.pack({"v": 3, "id": 1, "method": "m"}))


def test_request_non_positive_deadline_is_refused() -> None:
    with pytest.raises(BadRequest, match="deadline_ms must be positive"):
        codec.decode_request(codec.encode_request(1, "m", {}, "", 0))


def test_request_over_one_mib_is_refused() -> None:
    frame = codec.encode_request(1, "m", {"blob": b"x" * codec.MAX_REQUEST_BYTES}, "", None)
    with pytest.raises(BadRequest, match="exceeds the limit of 1048576"):
        codec.decode_request(frame)


def test_request_id_of_readable_request_gives_id() -> None:
    assert codec.request_id_of(codec.pack({"v": 2, "id": 42, "method": 7})) == 42


def test_request_id_of_garbage_gives_none() -> None:
    assert codec.request_id_of(b"\xc1\xc1") is None
    assert codec.request_id_of(codec.pack([1, 2])) is None
    assert codec.request_id_of(codec.pack({"id": "7"})) is None
    assert codec.request_id_of(codec.pack({"id": True})) is None


def test_request_id_of_oversized_frame_gives_none() -> None:
    frame = codec.pack({"id": 5, "blob": b"x" * codec.MAX_REQUEST_BYTES})
    assert codec.request_id_of(frame) is None


def test_reply_ok_round_trip() -> None:
    [frame] = codec.encode_ok(4, {"rows": [1, 2]})
    reply = codec.decode_reply(frame)
    assert reply == {"v": 2, "id": 4, "ok": True, "result": {"rows": [1, 2]}}


def test_request_bulk_frames_go_into_params_under_their_names() -> None:
    params, names, frames = codec.split_bulk({"table": "t", "arrow": codec.Bulk(b"IPC")})
    frame = codec.encode_request(1, "m", params, "", None, bulk=names)
    request = codec.decode_request(frame, frames)
    assert request.params == {"table": "t", "arrow": b"IPC"}


def test_request_extra_frame_not_named_is_refused() -> None:
    with pytest.raises(BadRequest, match="request has 2 frames, expected 1"):
        codec.decode_request(codec.encode_request(1, "m", {}, "", None), [b"x"])


def test_request_bulk_name_without_frame_is_refused() -> None:
    frame = codec.encode_request(1, "m", {}, "", None, bulk=["arrow"])
    with pytest.raises(BadRequest, match="names 1 bulk frames but carries 0"):
        codec.decode_request(frame)


def test_request_bulk_frame_cannot_replace_a_param() -> None:
    frame = codec.encode_request(1, "m", {"arrow": 1}, "", None, bulk=["arrow"])
    with pytest.raises(BadRequest, match="would replace a value"):
        codec.decode_request(frame, [b"x"])


def test_reply_bulk_travels_as_its_own_frame() -> None:
    frames = codec.encode_ok(4, {"rows": 3, "arrow": codec.Bulk(b"IPC bytes")})
    assert frames[1] == b"IPC bytes"
    assert b"IPC bytes" not in frames[0]
    reply = codec.decode_reply(frames[0], frames[1:])
    assert reply["result"] == {"rows": 3, "arrow": b"IPC bytes"}


def test_reply_error_round_trip_carries_error_map() -> None:
    reply = codec.decode_reply(codec.encode_error(None, NotFound("no job 'x'", {"job": "x"})))
    assert reply["ok"] is False
    assert reply["id"] is None
    assert reply["error"] == {"code": "NOT_FOUND", "message": "no job 'x'", "details": {"job": "x"}}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([1], "expected a map"),
        ({"ok": True}, "missing field 'v'"),
        ({"v": 2}, "missing field 'ok'"),
        ({"v": 2, "ok": 1}, "'ok' must be a boolean"),
        ({"v": 2, "ok": False}, "needs an 'error' map"),
        ({"v": 1, "ok": True}, "protocol version 1 is not 2"),
    ],
)
def test_reply_malformed_is_refused_naming_problem(value: object, problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        codec.decode_reply(codec.pack(value))
